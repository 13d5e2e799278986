"""Render the KubeRay `RayJob` that runs one training stage in the cluster. Pure logic:
dicts in, dicts out; no Kubernetes client, no Ray.

    job = render_rayjob(config, stage="sft", run_id="20261123-1200-ab12",
                        work_uri="s3://agency-welfare/nuri/jobs/nuri-welfare-sft-1a2b3c4d")

The RayJob's entrypoint is `python -m nuri.train.entry --work-uri <work_uri>`: it reads
the stage's job spec (config, input URIs) from the object store, runs the same
`training_stage` as a local run on the RayJob's own Ray cluster, and writes the model
and report back under the work URI. KubeRay deletes the Ray cluster when the job ends
(`shutdownAfterJobFinishes`), the RayJob itself after `ttlSecondsAfterFinished`, and
stops a job that outlives `activeDeadlineSeconds`; the pipeline's exit handler deletes
every RayJob labelled with the run id, so a cancelled run leaves nothing behind.

The pods run as the agency's `nuri-training` service account and read the object store
with its `nuri-object-store` secret (`ray_cluster.object_store_secret`, in the agency
namespace; the pipeline steps, in `kubeflow`, read another: `cluster.object_store_secret`) (both made per agency by infra/tenants.py; names in
nuri/cluster/names.py); with an https:// object-store endpoint they also mount the
private CA from the ConfigMap `nuri-object-store-ca` and trust it.

Every rendered RayJob validates against the KubeRay v1.7 CRD (tests/cluster) and the
platform policy (non-root, limits on every container, secrets only by reference).
"""

from __future__ import annotations

import copy
import hashlib
import re
import shlex

from nuri.cluster import names
from nuri.config import DomainConfig
from nuri.k8s.labels import LABEL_DOMAIN, LABEL_MANAGED, MANAGED_BY  # noqa: F401 (re-exported)

API_VERSION = "ray.io/v1"
KIND = "RayJob"
GROUP, VERSION, PLURAL = "ray.io", "v1", "rayjobs"

LABEL_RUN = "nuri.io/run-id"
LABEL_STAGE = "nuri.io/stage"

RAY_UID = 1000            # the `ray` user of rayproject/ray and of the platform image
MAX_NAME = 40             # KubeRay derives cluster, service and pod names from it
ENTRY_MODULE = "nuri.train.entry"
STAGES = ("pretrain", "sft", "reward", "ppo")

_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]+")


def label_value(value: str) -> str:
    """A valid label value (<= 63 chars, alphanumeric at both ends)."""
    return _LABEL_VALUE.sub("-", value)[:63].strip("-._") or "x"


def job_name(domain: str, run_id: str, stage: str) -> str:
    """`nuri-<domain>-<stage>-<8 hex>`: unique per (domain, run, stage), DNS-1123, short
    enough for the names KubeRay derives from it."""
    digest = hashlib.sha256(f"{domain}/{run_id}/{stage}".encode()).hexdigest()[:8]
    head = f"nuri-{domain}"[: MAX_NAME - len(stage) - 10].rstrip("-")
    return f"{head}-{stage}-{digest}"


def run_selector(run_id: str) -> str:
    """Label selector for every Ray resource of one pipeline run (used by the teardown)."""
    return f"{LABEL_MANAGED}={MANAGED_BY},{LABEL_RUN}={label_value(run_id)}"


def entrypoint(work_uri: str) -> str:
    return f"python -m {ENTRY_MODULE} --work-uri {shlex.quote(work_uri)}"


def _security_context() -> dict:
    return {"runAsNonRoot": True, "runAsUser": RAY_UID, "runAsGroup": RAY_UID,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


CA_VOLUME = "object-store-ca"


def _tls(config: DomainConfig) -> bool:
    return config.cluster.object_store_endpoint.startswith("https://")


def _env(config: DomainConfig) -> list[dict]:
    secret = config.runtime.ray_cluster.object_store_secret  # in the RayJob's (agency) namespace
    env = [
        {"name": "NURI_S3_ENDPOINT", "value": config.cluster.object_store_endpoint},
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": secret, "key": names.ACCESS_KEY_KEY}}},
        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": secret, "key": names.SECRET_KEY_KEY}}},
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
    ]
    if _tls(config):
        # MinIO's certificate comes from the platform's private CA: the minio SDK reads
        # SSL_CERT_FILE, boto3 AWS_CA_BUNDLE (nuri.storage hands it to pyarrow too).
        env += [{"name": "SSL_CERT_FILE", "value": names.object_store_ca_file()},
                {"name": "AWS_CA_BUNDLE", "value": names.object_store_ca_file()}]
    return env


def _ca_mount(config: DomainConfig, container: dict, volumes: list[dict]) -> None:
    """With a TLS object store: the CA ConfigMap, read-only, in this container."""
    if not _tls(config):
        return
    container.setdefault("volumeMounts", []).append(
        {"name": CA_VOLUME, "mountPath": names.OBJECT_STORE_CA_MOUNT, "readOnly": True})
    if not any(v["name"] == CA_VOLUME for v in volumes):
        volumes.append({"name": CA_VOLUME, "configMap": {"name": names.OBJECT_STORE_CA_CONFIGMAP}})


def _resources(cpu: str, memory: str, gpus: int = 0, gpu_resource: str = "nvidia.com/gpu") -> dict:
    limits = {"cpu": cpu, "memory": memory}
    if gpus:
        limits[gpu_resource] = gpus
    return {"limits": dict(limits), "requests": dict(limits)}


def _pod(config: DomainConfig, container: dict, *, gpu: bool, volumes: list[dict] | None = None) -> dict:
    rc = config.runtime.ray_cluster
    spec: dict = {"containers": [container], "securityContext": {"runAsNonRoot": True, "fsGroup": RAY_UID},
                  "automountServiceAccountToken": False}
    if rc.service_account:
        spec["serviceAccountName"] = rc.service_account
    if rc.priority_class:
        spec["priorityClassName"] = rc.priority_class
    if gpu:
        spec["nodeSelector"] = dict(config.cluster.gpu_node_selector)
        spec["tolerations"] = [{k: v for k, v in t.model_dump().items() if v is not None}
                               for t in config.cluster.gpu_tolerations]
    if volumes:
        spec["volumes"] = volumes
    return {"spec": spec}


def render_rayjob(config: DomainConfig, *, stage: str, run_id: str, work_uri: str,
                  owner: dict | None = None) -> dict:
    """The RayJob for one training stage. `owner`: an ownerReference (e.g. the pipeline
    step's pod) so Kubernetes garbage-collects the RayJob with it."""
    if stage not in STAGES:
        raise ValueError(f"unknown training stage {stage!r} (one of {', '.join(STAGES)})")
    rc = config.runtime.ray_cluster
    image = rc.image or config.cluster.image
    name = job_name(config.name, run_id, stage)
    gpus = rc.gpus_per_worker
    labels = {LABEL_MANAGED: MANAGED_BY, LABEL_RUN: label_value(run_id), LABEL_DOMAIN: config.name,
              LABEL_STAGE: stage}
    env = _env(config)

    head = {"name": "ray-head", "image": image, "env": copy.deepcopy(env),
            "resources": _resources(rc.head_cpu, rc.head_memory),
            "ports": [{"name": "gcs", "containerPort": 6379}, {"name": "dashboard", "containerPort": 8265},
                      {"name": "client", "containerPort": 10001}],
            "securityContext": _security_context()}
    worker = {"name": "ray-worker", "image": image, "env": copy.deepcopy(env),
              "resources": _resources(rc.worker_cpu, rc.worker_memory, gpus, config.cluster.gpu_resource),
              "securityContext": _security_context()}
    worker_volumes: list[dict] = []
    if rc.shared_memory:
        worker["volumeMounts"] = [{"name": "shm", "mountPath": "/dev/shm"}]
        worker_volumes = [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": rc.shared_memory}}]
    head_volumes: list[dict] = []
    _ca_mount(config, head, head_volumes)
    _ca_mount(config, worker, worker_volumes)
    submitter = {"name": "ray-job-submitter", "image": image,
                 "resources": _resources("500m", "1Gi"), "securityContext": _security_context()}

    auth: dict = {"mode": "token"}
    if rc.auth_token_secret:
        auth["secretName"] = rc.auth_token_secret
    metadata: dict = {"name": name, "labels": labels}
    if rc.namespace:
        metadata["namespace"] = rc.namespace
    if owner:
        metadata["ownerReferences"] = [owner]
    workers = config.runtime.num_workers
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "entrypoint": entrypoint(work_uri),
            "submissionMode": "K8sJobMode",
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": rc.ttl_seconds_after_finished,
            "activeDeadlineSeconds": rc.active_deadline_seconds,
            "backoffLimit": rc.backoff_limit,
            "submitterPodTemplate": {"metadata": {"labels": dict(labels)},
                                     "spec": {**_pod(config, submitter, gpu=False)["spec"],
                                              "restartPolicy": "Never"}},
            "rayClusterSpec": {
                "rayVersion": rc.ray_version,
                "authOptions": auth,
                "headGroupSpec": {
                    # No training on the head: its CPUs stay free for the driver and GCS.
                    "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
                    "template": {"metadata": {"labels": dict(labels)},
                                 **_pod(config, head, gpu=False, volumes=head_volumes)},
                },
                "workerGroupSpecs": [{
                    "groupName": "gpu-workers" if gpus else "cpu-workers",
                    "replicas": workers, "minReplicas": workers, "maxReplicas": workers,
                    "rayStartParams": {},
                    "template": {"metadata": {"labels": dict(labels)},
                                 **_pod(config, worker, gpu=bool(gpus), volumes=worker_volumes)},
                }],
            },
        },
    }


def example_config(gpu: bool) -> DomainConfig:
    """The sample domain in cluster mode (CPU or GPU workers), for manifests/training/."""
    from pathlib import Path

    from nuri.config import load_domain_config

    base = load_domain_config(Path(__file__).resolve().parents[2] / "domains" / "welfare.yaml")
    raw = base.model_dump()
    raw["storage"] = {"uri": names.agency_storage_uri("welfare")}
    raw["runtime"].update(mode="cluster", num_workers=2, use_gpu=gpu)
    # two workers: twice the rollouts per PPO batch, so each worker's mini-batch still holds
    # the 8 that reward whitening needs
    raw["stages"]["ppo"]["batch_size"] = 2 * raw["stages"]["ppo"]["batch_size"]
    raw["runtime"]["ray_cluster"].update(namespace=names.agency_namespace("welfare"),
                                         service_account=names.TRAINING_SERVICE_ACCOUNT,
                                         gpus_per_worker=1 if gpu else 0,
                                         worker_cpu="8" if gpu else "4", worker_memory="64Gi" if gpu else "16Gi")
    return DomainConfig.model_validate(raw)


def write_examples(out_dir) -> list:
    """Writes rayjob-cpu.yaml and rayjob-gpu.yaml (an SFT stage of the sample domain)."""
    from pathlib import Path

    import yaml

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in ("cpu", "gpu"):
        config = example_config(variant == "gpu")
        name = job_name(config.name, "example", "sft")
        job = render_rayjob(config, stage="sft", run_id="example",
                            work_uri=f"{config.storage.uri}/jobs/{name}")
        path = out_dir / f"rayjob-{variant}.yaml"
        header = (f"# Rendered by `python -m nuri.cluster.rayjob {out_dir}` from domains/welfare.yaml\n"
                  f"# in cluster mode ({variant.upper()} workers). Do not edit: re-render.\n")
        path.write_text(header + yaml.safe_dump(job, sort_keys=False, width=110))
        written.append(path)
    return written


if __name__ == "__main__":
    import sys

    for p in write_examples(sys.argv[1] if len(sys.argv) > 1 else "manifests/training"):
        print(p)
