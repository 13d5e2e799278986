"""The reference pipeline: data -> base model -> continued pretraining -> SFT -> reward
model -> PPO (and the safety classifier) -> evaluation -> release gate -> release ->
serving self-test -> (cluster mode) deploy with KServe. A domain's training method
(training.method: foundation, sft or full) compiles only the training stages it runs;
evaluation, gates, release and card are the same for all.

Cluster settings (GPU requests, node selector, tolerations, object-store secret, image)
are applied to the same tasks in both modes; KFP's local runner ignores them."""

# No `from __future__ import annotations`: KFP reads the pipeline's annotations at runtime.
from kfp import dsl, kubernetes

import components as c
from components.training import ray_teardown as teardown_component
from nuri.cluster import names
from nuri.config import ClusterConfig, DeployConfig, DomainConfig
from nuri.training_method import TRAINING_STAGES

PIPELINE_NAME = "nuri-reference"


def _use_platform_image(image: str) -> None:
    for comp in c.ALL:
        comp.component_spec.implementation.container.image = image


def object_store_access(task, cluster: ClusterConfig) -> None:
    # Credentials come from a Kubernetes secret as env vars, never from parameters.
    kubernetes.use_secret_as_env(task, secret_name=cluster.object_store_secret,
                                 secret_key_to_env={"accesskey": "AWS_ACCESS_KEY_ID",
                                                    "secretkey": "AWS_SECRET_ACCESS_KEY"},
                                 optional=None)  # no `optional` field: KFP 2.5.0 does not know it (infra/kfp_ir.py)
    task.set_env_variable("NURI_S3_ENDPOINT", cluster.object_store_endpoint)
    if cluster.object_store_endpoint.startswith("https://"):
        # MinIO with TLS: its private CA, from the ConfigMap the platform puts beside the steps (kubeflow).
        kubernetes.use_config_map_as_volume(task, config_map_name=names.OBJECT_STORE_CA_CONFIGMAP,
                                            mount_path=names.OBJECT_STORE_CA_MOUNT)
        task.set_env_variable("SSL_CERT_FILE", names.object_store_ca_file())
        task.set_env_variable("AWS_CA_BUNDLE", names.object_store_ca_file())


def task_resources(task, cluster: ClusterConfig) -> None:
    task.set_cpu_limit(cluster.task_cpu).set_memory_limit(cluster.task_memory)


def _gpu_training(task, cluster: ClusterConfig) -> None:
    task.set_cpu_limit(cluster.training_cpu).set_memory_limit(cluster.training_memory)
    if cluster.gpus_per_training_task:
        task.set_accelerator_type(cluster.gpu_resource).set_accelerator_limit(cluster.gpus_per_training_task)
        for key, value in cluster.gpu_node_selector.items():
            kubernetes.add_node_selector(task, label_key=key, label_value=value)
        for t in cluster.gpu_tolerations:
            kubernetes.add_toleration(task, key=t.key, operator=t.operator, value=t.value, effect=t.effect)


def build_pipeline_for(config: DomainConfig):
    """The pipeline for a domain: in cluster mode (runtime.mode) with the Ray teardown
    exit handler, training steps sized as submitters rather than trainers, and the
    deploy step after the self-test (the local runner has no cluster to deploy to)."""
    cluster_mode = config.runtime.mode == "cluster"
    return build_pipeline(config.pipeline_cluster(), ray_teardown=cluster_mode,
                          deploy=config.deploy if cluster_mode and config.deploy.enabled else None,
                          stages=config.trained_stages())


def build_pipeline(cluster: "ClusterConfig | None" = None, *, ray_teardown: bool = False,
                   deploy: "DeployConfig | None" = None, stages: tuple[str, ...] = TRAINING_STAGES):
    """Returns the pipeline function, with the cluster's settings on every task.
    ray_teardown: wrap the run in a dsl.ExitHandler whose task deletes the run's Ray
    resources (cluster mode: training runs as RayJobs outside the step's pod).
    deploy: add the KServe deploy step after the self-test, with these settings.
    stages: the training stages to compile (DomainConfig.trained_stages)."""
    cluster = cluster or ClusterConfig()
    _use_platform_image(cluster.image)
    teardown_component.component_spec.implementation.container.image = cluster.image

    @dsl.pipeline(name=PIPELINE_NAME,
                  description="Nuri reference recipe: domain adaptation, SFT, reward model, PPO, "
                              "evaluation, gated release and serving self-test.")
    def reference(domain_config: str, run_id: str):
        if not ray_teardown or not stages:  # nothing trained: no Ray resources to tear down
            _steps(domain_config, run_id, cluster, submit_only=False, deploy=deploy, stages=stages)
            return
        teardown = teardown_component(domain_config=domain_config, run_id=run_id).set_display_name("ray-teardown")
        object_store_access(teardown, cluster)
        task_resources(teardown, cluster)
        teardown.set_caching_options(False)
        with dsl.ExitHandler(teardown, name="ray-resources"):
            _steps(domain_config, run_id, cluster, submit_only=True, deploy=deploy, stages=stages)

    return reference


def _steps(domain_config, run_id, cluster: ClusterConfig, *, submit_only: bool,
           deploy: "DeployConfig | None" = None, stages: tuple[str, ...] = TRAINING_STAGES) -> None:
    """The recipe's tasks. submit_only: training steps only submit and wait (cluster
    mode), so they get task-sized resources instead of GPUs. deploy: serve the promoted
    release with KServe after the self-test. stages: the training stages to run."""
    ingest = c.ingest(domain_config=domain_config).set_display_name("ingest")
    prepare = c.prepare(domain_config=domain_config, raw=ingest.outputs["raw"]).set_display_name("prepare")
    data = prepare.outputs["dataset"]
    base = c.base_model(domain_config=domain_config, dataset=data).set_display_name("base-model")
    # Each training stage starts from the last model made; `trained` maps stage -> task.
    trained: dict = {}
    latest = base
    if "pretrain" in stages:
        latest = trained["pretrain"] = c.pretrain(domain_config=domain_config, run_id=run_id, dataset=data,
                                                  base=latest.outputs["model"]).set_display_name(
                                                      "continued-pretraining")
    if "sft" in stages:
        latest = trained["sft"] = c.sft(domain_config=domain_config, run_id=run_id, dataset=data,
                                        base=latest.outputs["model"]).set_display_name("sft")
    if "reward" in stages:
        trained["reward"] = c.reward_model(domain_config=domain_config, run_id=run_id, dataset=data,
                                           base=trained["sft"].outputs["model"]).set_display_name("reward-model")
    if "ppo" in stages:
        latest = trained["ppo"] = c.ppo(domain_config=domain_config, run_id=run_id, dataset=data,
                                        policy=trained["sft"].outputs["model"],
                                        reward=trained["reward"].outputs["model"]).set_display_name("ppo")
    # The safety classifier is a model of its own: evaluation judges answers with it and
    # the release carries it (for the service's guard).
    safety = c.safety_classifier(domain_config=domain_config, raw=ingest.outputs["raw"]
                                 ).set_display_name("safety-classifier")
    models = {arg: trained[stage].outputs["model"] for arg, stage in
              (("pretrained", "pretrain"), ("sft", "sft"), ("ppo", "ppo"), ("reward", "reward")) if stage in trained}
    evaluate = c.evaluate(domain_config=domain_config, dataset=data, base=base.outputs["model"],
                          safety=safety.outputs["model"], **models).set_display_name("evaluate")
    # The domain service's retrieval passages and guard, shipped in the release.
    service = c.service_assets(domain_config=domain_config, dataset=data, safety=safety.outputs["model"]
                               ).set_display_name("service-assets")
    tasks = [ingest, prepare, base, *trained.values(), safety, service, evaluate]
    # A model that fails its release gate is never registered or served.
    with dsl.If(evaluate.outputs["Output"] == True, name="release-gate"):  # noqa: E712 (KFP condition)
        register = c.register(
            domain_config=domain_config, model=latest.outputs["model"], dataset=data,
            prepare_report=prepare.outputs["report"], base_report=base.outputs["report"],
            evaluate_report=evaluate.outputs["report"], safety=safety.outputs["model"],
            safety_report=safety.outputs["report"], service=service.outputs["assets"],
            service_report=service.outputs["report"],
            **{f"{stage}_report": task.outputs["report"] for stage, task in trained.items()}
        ).set_display_name("register-release")
        selftest = c.selftest(domain_config=domain_config, release=register.outputs["release"],
                              dataset=data).set_display_name("serving-selftest")
        tasks += [register, selftest]
        register.set_caching_options(False)
        selftest.set_caching_options(False)
        if deploy is not None:
            # Runs after the self-test promoted the release (it consumes the self-test's report).
            served = c.deploy(domain_config=domain_config, release=register.outputs["release"],
                              selftest_report=selftest.outputs["report"]).set_display_name("deploy")
            served.set_caching_options(False)
            # The API key the step asks its one question with, by reference from a secret.
            kubernetes.use_secret_as_env(served, secret_name=deploy.api_key_secret,
                                         secret_key_to_env={"apikey": "NURI_API_KEY"}, optional=None)
            tasks.append(served)
    for task in tasks:
        object_store_access(task, cluster)
        if task in trained.values() and not submit_only:
            _gpu_training(task, cluster)
        else:
            task_resources(task, cluster)
