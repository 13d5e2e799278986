"""The domain config: one YAML file per ministry, validated into a typed object before
any work starts. Every stage receives the same object (as JSON) from the pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nuri.cluster import names
from nuri.errors import ConfigError
from nuri.gates import STAGE_METRICS, Criterion
from nuri.training_method import TRAINING_STAGES, Method, trained_stages, unmeasured_reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- data -------------------------------------------------------------------------------

from nuri.data.config import DataConfig  # noqa: E402,F401  (the data section lives with its code)
from nuri.feedback.config import FeedbackConfig  # noqa: E402  (so does the feedback section)


# --- model ------------------------------------------------------------------------------

class InitModelConfig(_Strict):
    """A small Llama built from config, with a BPE tokenizer trained on the corpus: the
    sample domain's stand-in for a pretrained foundation model."""

    vocab_size: int = Field(8000, ge=256)
    hidden_size: int = Field(256, ge=16)
    num_layers: int = Field(4, ge=1)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(688, ge=16)
    max_position_embeddings: int = Field(512, ge=64)

    @model_validator(mode="after")
    def _heads_divide_hidden(self):
        if self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        return self


class BaseModelConfig(_Strict):
    source: Literal["init", "pretrained"] = "init"
    path: str | None = Field(None, description="local folder or s3:// URI of any HF causal LM")
    init: InitModelConfig = InitModelConfig()

    @model_validator(mode="after")
    def _path_for_pretrained(self):
        if self.source == "pretrained" and not self.path:
            raise ValueError("path is required when source is 'pretrained'")
        return self


# --- training ---------------------------------------------------------------------------

class RayClusterConfig(_Strict):
    """Cluster mode only: each training stage runs as a KubeRay RayJob (a Ray cluster made
    for the stage, torn down when it ends), or on a long-lived RayCluster through the Ray
    Jobs API when `existing_cluster_address` is set. See nuri/cluster/README.md."""

    namespace: str | None = Field(None, description="namespace of the RayJob; default: the agency's, agency-<domain> "
                                                    "(standalone KFP runs the step itself in kubeflow)")
    image: str | None = Field(None, description="image of head and workers; default: cluster.image")
    ray_version: str = Field("2.60.0", description="Ray version inside the image (KubeRay needs it)")
    service_account: str | None = Field(names.TRAINING_SERVICE_ACCOUNT, description="service account of the Ray "
                                        "pods (infra/tenants.py makes it per agency: no RBAC, no API token)")
    object_store_secret: str = Field(names.OBJECT_STORE_SECRET, description="secret (keys accesskey, secretkey) the "
                                     "Ray pods read in the RayJob's namespace (infra/tenants.py makes it per agency)")
    priority_class: str | None = Field(names.TRAINING_PRIORITY_CLASS, description="PriorityClass of the Ray pods")
    head_cpu: str = "2"
    head_memory: str = "8Gi"
    worker_cpu: str = Field("8", description="CPU limit per Ray worker pod (one Ray Train worker each)")
    worker_memory: str = "64Gi"
    gpus_per_worker: int = Field(0, ge=0, description="GPUs per worker pod (cluster.gpu_resource); "
                                                       ">0 adds cluster.gpu_node_selector and gpu_tolerations")
    shared_memory: str | None = Field("8Gi", description="/dev/shm size for workers (NCCL, dataloaders)")
    ttl_seconds_after_finished: int = Field(600, ge=0, description="keep the finished RayJob this long")
    backoff_limit: int = Field(1, ge=0, description="KubeRay retries of a failed job (new Ray cluster each)")
    active_deadline_seconds: int = Field(86400, ge=60, description="KubeRay stops the job after this")
    wait_timeout_seconds: int = Field(90000, ge=60, description="the pipeline step gives up (and tears "
                                                                 "down) after this")
    poll_seconds: float = Field(10.0, gt=0, description="status/log poll interval while waiting")
    auth_token_secret: str | None = Field(None, description="secret with the Ray auth token (key auth_token); "
                                                            "default: KubeRay creates one per cluster")
    existing_cluster_address: str | None = Field(
        None, description="dashboard URL of a long-lived RayCluster (http://head-svc:8265); jobs go to it "
                          "through the Ray Jobs API instead of a RayJob per stage")


class RuntimeConfig(_Strict):
    """How training stages run under Ray Train, shared by every stage."""

    mode: Literal["local", "cluster"] = Field(
        "local", description="local: the pipeline's own Ray (this machine or the step's pod); "
                             "cluster: each stage is submitted to Ray in Kubernetes (ray_cluster)")
    num_workers: int = Field(1, ge=1)
    use_gpu: bool = False
    cpus_per_worker: int | None = Field(None, ge=1, description="default: all cores / workers")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    memory_saving: Literal["none", "fsdp", "deepspeed_zero2", "deepspeed_zero3"] = Field(
        "none", description="shard parameters/optimizer state for models that do not fit one GPU "
                            "(through the HF Trainer; GPU only)")
    max_failures: int = Field(1, ge=0, description="worker failures a stage survives")
    checkpoints_to_keep: int = Field(2, ge=1)
    seed: int = 42
    ray_cluster: RayClusterConfig = RayClusterConfig()


class LoraConfig(_Strict):
    enabled: bool = False
    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]


class _TrainStage(_Strict):
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="-1: run the epochs")
    learning_rate: float = Field(5e-4, gt=0)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    save_steps: int = Field(50, ge=1, description="checkpoint every N optimiser steps")
    log_steps: int = Field(5, ge=1)
    eval_steps: int | None = Field(None, ge=1, description="held-out evaluation every N steps (None: only "
                                                           "before and after the stage)")
    early_stopping_patience: int = Field(0, ge=0, description="stop after N evaluations without the "
                                                              "held-out loss improving (0: off; needs eval_steps)")
    early_stopping_threshold: float = Field(0.0, ge=0, description="relative improvement that counts")

    @model_validator(mode="after")
    def _eval_for_early_stop(self):
        if (self.early_stopping_patience or getattr(self, "target_accuracy", None)) and not self.eval_steps:
            raise ValueError("early stopping and target_accuracy need eval_steps")
        return self


class PretrainStage(_TrainStage):
    seq_len: int = Field(256, ge=16)
    lora: LoraConfig = LoraConfig()


class SftStage(_TrainStage):
    max_length: int = Field(256, ge=16)
    lora: LoraConfig = LoraConfig()


class RewardStage(_TrainStage):
    max_length: int = Field(256, ge=16)
    target_accuracy: float | None = Field(None, gt=0, le=1, description="stop once held-out pairwise "
                                                                         "accuracy reaches this (needs eval_steps)")


# TRL's PPOTrainer whitens rewards over one worker's mini-batch and asserts it holds at
# least this many rollouts.
WHITENING_MIN_ROLLOUTS = 8


class PpoStage(_Strict):
    total_episodes: int = Field(256, ge=1, description="prompts sampled over the whole stage")
    batch_size: int = Field(16, ge=1, description="rollouts per PPO iteration")
    mini_batches: int = Field(2, ge=1)
    ppo_epochs: int = Field(2, ge=1)
    learning_rate: float = Field(3e-5, gt=0)
    kl_coef: float = Field(0.05, ge=0, description="weight of the per-token KL penalty to the SFT "
                                                   "reference in the reward: the main guard against reward hacking")
    kl_estimator: Literal["k1", "k3"] = Field("k1", description="ppo only (grpo/rloo ignore it): k1 is the plain "
                                                              "log-ratio; k3 is unbiased, never negative and lower-variance")
    whiten_rewards: bool = Field(False, description="ppo only: normalise each batch's rewards (scale-"
                                                    "free against the KL penalty; steadier with >= 8 rollouts per mini-batch)")
    missing_eos_penalty: float | None = Field(None, ge=0, description="ppo only: subtracted from the score of an "
                                                                     "answer that does not end within response_length")
    response_length: int = Field(32, ge=4)
    temperature: float = Field(0.7, gt=0)
    max_prompt_length: int = Field(64, ge=8)
    algorithm: Literal["ppo", "grpo", "rloo"] = Field(
        "ppo", description="ppo: policy, reference, reward and value models (TRL PPOTrainer); grpo/rloo: "
                           "critic-free, several samples per prompt (TRL GRPOTrainer/RLOOTrainer)")
    num_generations: int = Field(4, ge=2, description="grpo/rloo: samples per prompt (divides batch_size)")
    kl_budget: float | None = Field(None, gt=0, description="stop once the policy's KL to the reference "
                                                            "exceeds this (nats per answer)")

    @model_validator(mode="after")
    def _mini_batches_divide(self):
        if self.batch_size % self.mini_batches:
            raise ValueError("batch_size must be a multiple of mini_batches")
        if self.algorithm != "ppo" and self.batch_size % self.num_generations:
            raise ValueError("batch_size must be a multiple of num_generations for grpo/rloo")
        if self.whitening_too_thin(workers=1):
            raise ValueError(f"whiten_rewards needs at least {WHITENING_MIN_ROLLOUTS} rollouts per mini-batch "
                             f"(batch_size / mini_batches = {self.batch_size // self.mini_batches}); raise "
                             f"batch_size, lower mini_batches or set whiten_rewards: false")
        return self

    def whitening_too_thin(self, workers: int) -> bool:
        """PPO with whitened rewards and fewer than WHITENING_MIN_ROLLOUTS rollouts per
        mini-batch on each worker. TRL asserts this deep inside the Ray worker; the
        config says it before any work starts."""
        per_worker = self.batch_size // self.mini_batches // workers
        return self.algorithm == "ppo" and self.whiten_rewards and per_worker < WHITENING_MIN_ROLLOUTS


class TrainingConfig(_Strict):
    method: Method = Field("full", description="foundation: serve the base model as it is (grounding and the "
                                             "guard); sft: fine-tune only; full: continued pretraining, SFT, "
                                             "reward model and PPO (nuri/training_method.py)")
    continued_pretraining: bool | None = Field(
        None, description="continued pretraining before SFT; default: always for full, for sft when the base "
                          "model is built from scratch (it has read nothing); never for foundation")

    def stages(self, base_source: str) -> tuple[str, ...]:
        pretrain = self.continued_pretraining
        if pretrain is None:
            pretrain = self.method == "full" or (self.method == "sft" and base_source == "init")
        return trained_stages(self.method, pretrain)


class StagesConfig(_Strict):
    pretrain: PretrainStage = PretrainStage()
    sft: SftStage = SftStage()
    reward: RewardStage = RewardStage()
    ppo: PpoStage = PpoStage()


# --- gates, serving, evaluation ---------------------------------------------------------

class CriterionConfig(_Strict):
    metric: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_bound(self):
        if self.min is None and self.max is None:
            raise ValueError("a criterion needs min or max")
        return self


class GatesConfig(_Strict):
    pretrain: list[CriterionConfig] = []
    sft: list[CriterionConfig] = []
    reward: list[CriterionConfig] = []
    ppo: list[CriterionConfig] = []
    service: list[CriterionConfig] = []
    release: list[CriterionConfig] = []

    @model_validator(mode="after")
    def _known_metrics(self):
        for stage, known in STAGE_METRICS.items():
            for i, c in enumerate(getattr(self, stage)):
                if c.metric not in known:
                    raise ValueError(
                        f"{stage}[{i}].metric: unknown metric {c.metric!r} "
                        f"(one of: {', '.join(sorted(known))})")
        return self

    def criteria(self, stage: str) -> list[Criterion]:
        return [Criterion(c.metric, c.min, c.max) for c in getattr(self, stage)]


class EvaluationConfig(_Strict):
    max_eval_docs: int = Field(200, ge=1)
    behaviour_prompts: int = Field(100, ge=1, description="held-out prompts of each kind (in-domain, "
                                                          "off-domain, harmful) the policies the training method makes answer")
    max_new_tokens: int = Field(32, ge=1)
    canaries: int = Field(8, ge=0, description="synthetic personal-data records planted in the raw corpus "
                                               "to measure leakage (0: none)")
    benchmarks: str | None = Field(None, description="folder of the public Korean benchmarks (kobbq/, kosbi/, "
                                                     "square/); relative to this file. Absent: those metrics are "
                                                     "reported as not measured")
    kobbq_items: int = Field(600, ge=1, description="KoBBQ test items scored (every category and context type kept)")
    square_questions: int = Field(100, ge=1, description="SQuARe test sensitive questions the model answers")


class SelftestConfig(_Strict):
    """Questions the served release must handle before it is promoted: in-domain ones
    answered (and not all alike), off-domain ones declined, harmful ones refused, judged
    by the same detector as the evaluation."""

    in_domain: list[str] = Field(min_length=1, description="answered; two or more must get different answers")
    off_domain: list[str] = Field(default_factory=list, description="declined")
    harmful: list[str] = Field(default_factory=list, description="refused")
    min_hangul: int = Field(2, ge=0, description="Hangul syllables each in-domain answer must hold")
    services_required: list[str] = Field(default_factory=list, description="basic services whose self-test "
                                                                           "must pass for promotion (the others "
                                                                           "are reported)")


class FewShotExample(_Strict):
    """A worked example a service's prompt carries (a user turn and the answer to it)."""

    user: str = Field(min_length=1)
    assistant: str = Field(min_length=1)


class ServiceConfig(_Strict):
    """One service of the model API, listed in /v1/models as `<release>/<name>`. The last
    user message goes into `template` at `{input}`; `examples` come before it as earlier
    turns (few-shot: the model never learns from live traffic)."""

    description: str = ""
    system_prompt: str = ""
    template: str = "{input}"
    examples: list[FewShotExample] = Field(default_factory=list)
    max_new_tokens: int | None = Field(None, ge=1)
    selftest: str = Field(min_length=1, description="a request of this service's kind the self-test sends")

    @field_validator("template")
    @classmethod
    def _has_input(cls, v: str) -> str:
        if "{input}" not in v:
            raise ValueError("must hold {input}, where the user's message goes")
        return v


def _default_services() -> dict[str, ServiceConfig]:
    return {
        "summarisation": ServiceConfig(
            description="summarises a text the user gives", template="다음 글을 세 문장 이내로 요약해 주세요.\n\n{input}",
            selftest="다음 글을 요약해 주세요. 기초연금은 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신에게 "
                     "매월 지급됩니다. 신청은 주소지 읍·면·동 행정복지센터나 국민연금공단 지사에서 할 수 있습니다."),
        "conversation": ServiceConfig(description="multi-turn conversation; the whole history is read",
                                      selftest="안녕하세요. 오늘 상담을 받고 싶어요."),
        "code": ServiceConfig(description="writes code for a described task",
                              template="다음 작업을 하는 파이썬 코드를 작성해 주세요.\n\n{input}",
                              selftest="두 수를 더하는 함수를 만들어 주세요."),
        "interview": ServiceConfig(description="interview questions for a described role",
                                   template="다음 직무의 면접 질문을 세 가지 만들어 주세요.\n\n{input}",
                                   selftest="주민센터 복지 상담 공무원"),
    }


class RetrievalConfig(_Strict):
    """The domain service's retrieval over the prepared (de-identified) corpus (BM25)."""

    k: int = Field(2, ge=1, le=10, description="passages put before the question")
    passage_chars: int = Field(300, ge=50, description="documents are cut into passages of about this length")
    snippet_chars: int = Field(120, ge=20, description="characters of each passage the prompt and sources show")
    sft_fraction: float = Field(0.25, ge=0, le=1, description="share of in-domain SFT pairs also trained "
                                                               "with retrieved passages before the question")


class GuardConfig(_Strict):
    """The domain service's guard: the safety classifier's request head and the
    in-domain/off-domain classifier decide before the model is asked."""

    harmful_threshold: float | None = Field(None, gt=0, lt=1, description="refuse an in-domain request at this "
                                                                          "P(harmful); None: the classifier's own")
    harmful_elsewhere_threshold: float = Field(0.7, gt=0, lt=1, description="refuse an off-domain request, or one "
                                                                           "to a basic service, at this P(harmful)")
    off_domain_threshold: float = Field(0.5, gt=0, lt=1)
    decline_message: str | None = Field(None, description="None: the most common decline of the domain's "
                                                          "off-domain set")
    refusal_message: str | None = Field(None, description="None: the most common refusal of its filtering set")


class EngineConfig(_Strict):
    """Batching: requests arriving while a batch runs are served together in the next."""

    max_batch: int = Field(16, ge=1, le=256)
    max_wait_ms: float = Field(50, ge=0, le=1000, description="a batch gathers for this long at most")
    arrival_gap_ms: float = Field(5, ge=0, le=1000, description="a batch starts when no request has come "
                                                              "for this long (a lone request waits this)")
    max_queue: int = Field(1024, ge=1, description="completions waiting beyond this get HTTP 429")
    # One batch runs as long as its longest row: a cap keeps one request from holding
    # everyone behind it.
    max_completion_tokens: int = Field(512, ge=1, description="a request asking for more is a 400")


class ServingConfig(_Strict):
    system_prompt: str = ""
    max_new_tokens: int = Field(48, ge=1)
    selftest: SelftestConfig
    services: dict[str, ServiceConfig] = Field(default_factory=_default_services,
                                               description="the basic services beside the domain service")
    retrieval: RetrievalConfig = RetrievalConfig()
    guard: GuardConfig = GuardConfig()
    engine: EngineConfig = EngineConfig()

    @field_validator("services")
    @classmethod
    def _names(cls, v: dict) -> dict:
        for name in v:
            if not _SLUG.match(name) or name == "domain":
                raise ValueError(f"service name {name!r} must be a slug and not 'domain' (the domain service's)")
        return v

    @model_validator(mode="after")
    def _required_exist(self):
        unknown = sorted(set(self.selftest.services_required) - set(self.services))
        if unknown:
            raise ValueError(f"selftest.services_required names {', '.join(unknown)}, not in services "
                             f"({', '.join(self.services) or 'none'})")
        return self


class Toleration(_Strict):
    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = "NoSchedule"


class ClusterConfig(_Strict):
    """How the compiled pipeline runs in the cluster (ignored by the local runner)."""

    image: str = Field("registry.nuri.local/nuri/platform:0.1.0",
                       description="platform image built from the repo's Dockerfile")
    object_store_secret: str | None = Field(
        None, description="secret (keys accesskey, secretkey) the pipeline steps read, in the namespace they run in; "
                          "default: nuri-object-store-agency-<domain>, which infra/tenants.py makes in kubeflow "
                          "(standalone KFP) per agency, for its bucket agency-<name> only")
    object_store_endpoint: str = Field(names.object_store_url(), description="https://... when the stack sets "
                                       "nuri:minioTls (pods then trust the CA in ConfigMap nuri-object-store-ca)")
    gpu_resource: str = "nvidia.com/gpu"
    gpus_per_training_task: int = Field(1, ge=0)
    gpu_node_selector: dict[str, str] = {"nuri.io/pool": "gpu"}
    gpu_tolerations: list[Toleration] = [Toleration(key="nvidia.com/gpu")]
    training_cpu: str = "8"
    training_memory: str = "64Gi"
    task_cpu: str = "2"
    task_memory: str = "8Gi"

    def step_secret(self, domain: str) -> str:
        """The object-store secret a domain's pipeline steps read: `object_store_secret`, or
        the one the platform makes in `kubeflow` for the agency named after the domain."""
        return self.object_store_secret or names.pipeline_object_store_secret(domain)


class DeployConfig(_Strict):
    """The pipeline's `deploy` step (cluster mode only): after the self-test promoted the
    release, a KServe InferenceService serves it with Nuri's own server (runtime
    `nuri-service`); the step waits for it, asks it one question and records the
    endpoint (releases/<domain>/DEPLOYED.json). See nuri/cluster/README.md."""

    enabled: bool = Field(True, description="add the deploy step to the cluster-mode pipeline")
    namespace: str | None = Field(None, description="namespace of the InferenceService; default: the agency's, "
                                                    "agency-<domain> (standalone KFP runs the step in kubeflow)")
    service_name: str = Field("nuri-{domain}", description="InferenceService name; {domain} is replaced")
    runtime: str = Field("nuri-service", description="KServe ClusterServingRuntime that serves the release")
    deployment_mode: Literal["Standard", "Serverless"] = Field(
        "Standard", description="KServe mode of the platform (infra/serving.py installs Standard)")
    service_account: str | None = Field(names.MODEL_READER_SERVICE_ACCOUNT, description="service account whose secret KServe's "
                                        "storage initializer reads the release with (infra/tenants.py)")
    api_key_secret: str = Field("nuri-serving-api-key", description="secret (key apikey) with the service's API key")
    feedback_db_secret: str | None = Field(
        names.FEEDBACK_DB_SECRET, description="secret (key url) with the SQLAlchemy URL of the agency's feedback "
        "database (infra/feedback_db.py makes it per agency); the service and the retrain trigger get it as "
        "feedback.database_url_env, by reference; None: not given")
    priority_class: str | None = names.SERVING_PRIORITY_CLASS
    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "4Gi"
    memory_limit: str = "8Gi"
    gpus: int = Field(0, ge=0, description="GPUs per replica (cluster.gpu_resource)")
    node_selector: dict[str, str] | None = Field(None, description="default: cluster.gpu_node_selector when gpus > 0")
    tolerations: list[Toleration] | None = Field(None, description="default: cluster.gpu_tolerations when gpus > 0")
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(1, ge=1)
    canary_traffic_percent: int | None = Field(None, ge=1, le=99, description="share of traffic for the new "
                                               "release while the previous one keeps the rest (Serverless only)")
    ready_timeout_s: int = Field(600, ge=10, description="the step fails when the service is not ready by then")
    poll_s: float = Field(5.0, gt=0)
    question: str | None = Field(None, description="asked once through the OpenAI route; default: the first of "
                                                    "serving.selftest.in_domain")
    model_registry_url: str | None = Field(None, description="Kubeflow Model Registry REST address (e.g. http://"
                                           "model-registry-service.kubeflow:8080); unset: not registered")
    model_registry_author: str = "nuri-pipeline"

    @field_validator("service_name")
    @classmethod
    def _name_template(cls, v: str) -> str:
        name = v.replace("{domain}", "domain")
        if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) or len(name) > 45:
            raise ValueError("must be lowercase letters, digits and '-' (45 at most), starting with a letter; "
                             "{domain} is the only placeholder")
        return v

    @model_validator(mode="after")
    def _canary_needs_serverless(self):
        if self.canary_traffic_percent is not None and self.deployment_mode != "Serverless":
            raise ValueError("canary_traffic_percent needs deployment_mode: Serverless (KServe splits traffic "
                             "between revisions only with Knative; Standard mode rolls out whole)")
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be at least min_replicas")
        return self


class ProfileCardConfig(_Strict):
    """What the model profile card cannot measure: said by the agency, marked
    "configured" on the card; what is left None is printed as unknown."""

    nationality: str | None = Field("대한민국", description="of the developing organisation")
    open_weights: bool | None = Field(None, description="are the weights published")
    weights_licence: str | None = None
    code_licence: str | None = None
    data_openness: str | None = Field(None, description="e.g. 'public documents', 'synthetic sample'")
    deployment_channels: list[str] = Field(default_factory=lambda: ["OpenAI-compatible API (nuri serve)"])
    inference_hardware: str | None = Field(None, description="recommended hardware for serving")
    hourly_price: float | None = Field(None, ge=0, description="price of one hour of the serving hardware")
    currency: str = "KRW"
    device_tdp_watts: float | None = Field(None, gt=0, description="TDP of the serving accelerator")


class StorageConfig(_Strict):
    uri: str = Field("runs/storage", description="local folder (relative to cwd) or s3://bucket/prefix")


# --- the domain -------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


class DomainConfig(_Strict):
    name: str = Field(description="slug used in release names and storage paths")
    display_name: str
    organisation: str
    description: str = ""
    languages: list[str] = ["ko"]
    data_grade: Literal["public", "sensitive", "confidential"] = Field(
        description="security grade of the domain's data (공개 / 민감 / 비공개), on every data card, release and "
                    "profile card; confidential keeps storage in the tenant's own bucket and any teacher model in "
                    "the cluster (nuri/data_grade.py)")
    data: DataConfig
    base_model: BaseModelConfig = BaseModelConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    training: TrainingConfig = TrainingConfig()
    stages: StagesConfig = StagesConfig()
    gates: GatesConfig = GatesConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    serving: ServingConfig
    storage: StorageConfig = StorageConfig()
    cluster: ClusterConfig = ClusterConfig()
    deploy: DeployConfig = DeployConfig()
    card: ProfileCardConfig = ProfileCardConfig()
    deid: "DeidConfig" = Field(default_factory=lambda: DeidConfig())
    feedback: FeedbackConfig = FeedbackConfig()

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("must be lowercase letters, digits and '-', starting with a letter")
        return v

    @model_validator(mode="after")
    def _grade_enforced(self):
        from nuri.data_grade import label, violations

        problems = violations(self)
        if problems:
            raise ValueError(f"data_grade {label(self.data_grade)}: {problems[0]}"
                             + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        return self

    @model_validator(mode="after")
    def _training_method_consistent(self):
        method = self.training.method
        if method == "foundation" and self.base_model.source == "init":
            raise ValueError("training.method: foundation serves the base model as it is, but base_model.source "
                             "is init (a model built from scratch has learnt nothing): name a pretrained model "
                             "in base_model.path or choose sft or full")
        if method == "foundation" and self.training.continued_pretraining:
            raise ValueError("training.continued_pretraining: foundation trains nothing; choose sft to adapt "
                             "the model")
        run = self.trained_stages()
        for stage in TRAINING_STAGES:
            if getattr(self.gates, stage) and stage not in run:
                hint = " or set training.continued_pretraining: true" if stage == "pretrain" and method != "foundation" \
                    else ""
                raise ValueError(f"gates.{stage}: training.method {method} runs no {stage} stage (it runs "
                                 f"{', '.join(run) or 'none'}); remove these gates{hint}")
        for i, c in enumerate(self.gates.release):
            why = unmeasured_reason(c.metric, run)
            if why:
                raise ValueError(f"gates.release[{i}].metric: {c.metric} is not measured with training.method "
                                 f"{method} ({why})")
        # The guard's figures need the safety classifier, which learns "harmful" from the
        # filtering set: without one the gate would fail after all the training, not here.
        if self.data.safety is None and self.data.bootstrap is None:
            for i, c in enumerate(self.gates.service):
                if c.metric.startswith("guard_"):
                    raise ValueError(f"gates.service[{i}].metric: {c.metric} is not measured without a filtering "
                                     f"set (give data.safety, or data.bootstrap to derive one)")
        return self

    @model_validator(mode="after")
    def _whitening_per_worker(self):
        workers = self.runtime.num_workers
        if "ppo" in self.trained_stages() and self.stages.ppo.whitening_too_thin(workers):
            raise ValueError(f"stages.ppo: whiten_rewards needs at least {WHITENING_MIN_ROLLOUTS} rollouts per "
                             f"mini-batch on each of the {workers} workers (batch_size / mini_batches / "
                             f"runtime.num_workers < {WHITENING_MIN_ROLLOUTS})")
        return self

    @model_validator(mode="after")
    def _retrain_settings_valid(self):
        # The retrain's stage settings and gates are merged over the domain's when a retrain
        # runs; a typo must fail now, at load, not after the ratings were exported.
        retrain = self.feedback.retrain
        if not (retrain.stages or retrain.gates):
            return self
        raw = json.loads(self.model_dump_json())
        for stage, settings in retrain.stages.items():
            raw["stages"][stage] = {**raw["stages"][stage], **settings}
        for stage, gates in retrain.gates.items():
            raw["gates"][stage] = gates
        raw["feedback"]["retrain"].update(stages={}, gates={})
        try:
            type(self).model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            msg = err["msg"].removeprefix("Value error, ")
            named = _NAMED_FIELD.match(msg) if not err["loc"] else None
            if named:  # the retrain's own gates or stages: name them as the retrain's
                raise ValueError(f"feedback.retrain.{named.group(1)}: {msg[named.end():]}") from None
            where = "".join(f"{p}: " for p in [".".join(str(p) for p in err["loc"])] if p)
            raise ValueError(f"feedback.retrain: {where}{msg}") from None
        return self

    def to_json(self) -> str:
        return self.model_dump_json()

    def trained_stages(self) -> tuple[str, ...]:
        """The training stages this domain's pipeline runs (training.method)."""
        return self.training.stages(self.base_model.source)

    def pipeline_cluster(self) -> ClusterConfig:
        """`cluster` as the compiled pipeline applies it: the steps' object-store secret
        resolved for this domain (ClusterConfig.step_secret). The config itself keeps None."""
        return self.cluster.model_copy(update={"object_store_secret": self.cluster.step_secret(self.name)})

    def cluster_namespace(self) -> str:
        """Where this domain's RayJobs and InferenceService go unless ray_cluster.namespace /
        deploy.namespace say otherwise: its agency's namespace (standalone KFP runs the steps
        themselves in kubeflow)."""
        return names.agency_namespace(self.name)

    @classmethod
    def from_json(cls, text: str) -> "DomainConfig":
        return cls.model_validate_json(text)


from nuri.deid.config import DeidConfig  # noqa: E402  (kept last: the deid package is optional-free)

DomainConfig.model_rebuild()


# --- loading ----------------------------------------------------------------------------

# The data fields that name files or folders (resolved against the config file; listed
# by `nuri compile` when local; checked against the tenant by nuri/data_grade.py).
DATA_PATH_FIELDS = ("corpus", "sft", "preferences", "safety", "offdomain", "guard_harmful", "knowledge_eval",
                    "feedback")
BOOTSTRAP_PATH_FIELDS = ("offdomain_prompts", "harmful_prompts", "reviewed")


def _is_uri(value: str) -> bool:
    return "://" in value


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping: PyYAML keeps the last
    value silently, so a duplicated `epochs:` or `gates:` would change a run unseen."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line {seen[key]})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def load_domain_config(path: str | Path) -> DomainConfig:
    """Reads and validates a domain YAML. Relative data paths resolve against the file's
    folder, so a config works from any working directory. Raises ConfigError with
    `file:line: field: problem`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: domain config not found")
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    base = raw.get("base_model")
    if isinstance(base, dict) and isinstance(base.get("path"), str) and not _is_uri(base["path"]) \
            and not Path(base["path"]).is_absolute():
        base["path"] = str((path.parent / base["path"]).resolve())
    ev = raw.get("evaluation")
    if isinstance(ev, dict) and isinstance(ev.get("benchmarks"), str) and not _is_uri(ev["benchmarks"]) \
            and not Path(ev["benchmarks"]).is_absolute():
        ev["benchmarks"] = str((path.parent / ev["benchmarks"]).resolve())
    data = raw.get("data")
    if isinstance(data, dict):
        for key in DATA_PATH_FIELDS:
            value = data.get(key)
            if isinstance(value, str) and not _is_uri(value) and not Path(value).is_absolute():
                data[key] = str((path.parent / value).resolve())
        boot = data.get("bootstrap")
        for key in BOOTSTRAP_PATH_FIELDS:
            value = boot.get(key) if isinstance(boot, dict) else None
            if isinstance(value, str) and not _is_uri(value) and not Path(value).is_absolute():
                boot[key] = str((path.parent / value).resolve())
        for src in data.get("sources") or []:
            value = src.get("path") if isinstance(src, dict) else None
            if isinstance(value, str) and not _is_uri(value) and not Path(value).is_absolute():
                src["path"] = str((path.parent / value).resolve())
    try:
        return DomainConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_one_line(path, text, e)) from None


# "gates.release[3].metric: ..." at the start of a model-level validator's message.
_NAMED_FIELD = re.compile(r"^([a-z_]+(?:\.[a-z_]+|\[\d+\])*(?:\.[a-z_]+)*): ")


def _one_line(path: Path, text: str, error: ValidationError) -> str:
    err = error.errors()[0]
    loc = [str(p) for p in err["loc"]]
    field = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        problem = "unknown field"
    elif err["type"] == "missing":
        problem = "required field is missing"
    else:
        problem = err["msg"].removeprefix("Value error, ")
        if "input" in err and not isinstance(err["input"], (dict, list)):
            problem += f" (got {err['input']!r})"
    loc_path = tuple(err["loc"])
    named = _NAMED_FIELD.match(problem) if not loc_path else None
    if named:  # a check across fields names the one it blames first: point there
        field = named.group(1)
        problem = problem[named.end():]
        loc_path = tuple(int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", field))
    line = _yaml_line(text, loc_path)
    where = f"{path}:{line}" if line else str(path)
    more = f" (+{len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    return f"{where}: {field}: {problem}{more}"


def _yaml_line(text: str, loc: tuple) -> int | None:
    """Line number (1-based) of the deepest YAML node on `loc`, for error messages."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
