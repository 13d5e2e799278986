"""RayJob rendering (pure): the stage config becomes a RayJob that validates against the
KubeRay CRD and the platform policy, for CPU and GPU workers; the committed examples in
manifests/training/ are what the renderer writes today."""

from pathlib import Path

import pytest
import yaml

from nuri.cluster import rayjob
from nuri.config import DomainConfig
from nuri.k8s import crd_schema
from nuri.k8s.policy import check_all
from nuri_testing import REPO

needs_crds = pytest.mark.skipif(crd_schema.find_crds_dir() is None, reason="../shared/crds is absent")


def _job(gpu: bool, **runtime) -> dict:
    config = rayjob.example_config(gpu)
    if runtime:
        raw = config.model_dump()
        raw["runtime"]["ray_cluster"].update(runtime)
        config = DomainConfig.model_validate(raw)
    return rayjob.render_rayjob(config, stage="pretrain", run_id="20261123-120000-ab12",
                                work_uri="s3://agency-welfare/nuri/jobs/x")


def _pods(job):
    spec = job["spec"]["rayClusterSpec"]
    return spec["headGroupSpec"]["template"]["spec"], spec["workerGroupSpecs"][0]["template"]["spec"]


@needs_crds
@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu"])
def test_rendered_rayjob_matches_the_kuberay_crd_and_policy(gpu):
    job = _job(gpu)
    crd_schema.validate_custom_resource(job)
    assert check_all([job]) == []


def test_job_lifecycle_and_auth_settings():
    spec = _job(False)["spec"]
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] == 600 and spec["backoffLimit"] == 1
    assert spec["activeDeadlineSeconds"] == 86400
    assert spec["rayClusterSpec"]["authOptions"] == {"mode": "token"}
    assert spec["entrypoint"] == "python -m nuri.train.entry --work-uri s3://agency-welfare/nuri/jobs/x"
    job = _job(False, auth_token_secret="ray-token", ttl_seconds_after_finished=60, backoff_limit=0)
    assert job["spec"]["rayClusterSpec"]["authOptions"] == {"mode": "token", "secretName": "ray-token"}
    assert job["spec"]["ttlSecondsAfterFinished"] == 60 and job["spec"]["backoffLimit"] == 0


def test_gpu_workers_get_gpus_node_selector_and_tolerations_head_does_not():
    head, worker = _pods(_job(True))
    limits = worker["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 1 and limits["cpu"] == "8" and limits["memory"] == "64Gi"
    assert worker["nodeSelector"] == {"nuri.io/pool": "gpu"}
    assert worker["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "nodeSelector" not in head and "nvidia.com/gpu" not in head["containers"][0]["resources"]["limits"]
    head, worker = _pods(_job(False))
    assert "nodeSelector" not in worker and "nvidia.com/gpu" not in worker["containers"][0]["resources"]["limits"]


def test_workers_replicas_image_and_object_store_secret():
    job = _job(False, image="registry.nuri.local/nuri/platform:9.9")
    group = job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 2
    head, worker = _pods(job)
    for pod in (head, worker):
        container = pod["containers"][0]
        assert container["image"] == "registry.nuri.local/nuri/platform:9.9"
        env = {e["name"]: e for e in container["env"]}
        assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "nuri-object-store",
                                                                              "key": "secretkey"}
        assert "value" not in env["AWS_ACCESS_KEY_ID"]
        assert env["NURI_S3_ENDPOINT"]["value"].startswith("http://minio.")
    # The default image is the platform image of the cluster config.
    _, worker = _pods(_job(False))
    assert worker["containers"][0]["image"] == "registry.nuri.local/nuri/platform:0.1.0"


def test_names_and_labels_are_valid_and_select_the_run():
    name = rayjob.job_name("a-very-long-ministry-domain-name-for-testing", "20261123-120000-ab12", "pretrain")
    assert len(name) <= rayjob.MAX_NAME and name.endswith(name[-8:])
    assert rayjob.job_name("welfare", "r1", "sft") != rayjob.job_name("welfare", "r2", "sft")
    assert rayjob.label_value("run/with spaces!") == "run-with-spaces"
    labels = _job(False)["metadata"]["labels"]
    assert labels["nuri.io/run-id"] == "20261123-120000-ab12" and labels["nuri.io/stage"] == "pretrain"
    assert rayjob.run_selector("20261123-120000-ab12") == \
        "app.kubernetes.io/managed-by=nuri,nuri.io/run-id=20261123-120000-ab12"


def test_owner_reference_and_unknown_stage():
    config = rayjob.example_config(False)
    owner = {"apiVersion": "v1", "kind": "Pod", "name": "step-pod", "uid": "1234"}
    job = rayjob.render_rayjob(config, stage="ppo", run_id="r", work_uri="s3://b/p", owner=owner)
    assert job["metadata"]["ownerReferences"] == [owner]
    with pytest.raises(ValueError, match="unknown training stage"):
        rayjob.render_rayjob(config, stage="dpo", run_id="r", work_uri="s3://b/p")


@needs_crds
def test_a_broken_rayjob_is_rejected_by_the_crd():
    job = _job(False)
    job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = "two"
    with pytest.raises(ValueError, match=r"workerGroupSpecs\[0\]\.replicas"):
        crd_schema.validate_custom_resource(job)


def test_committed_examples_are_current(tmp_path):
    written = rayjob.write_examples(tmp_path)
    for path in written:
        committed = REPO / "manifests" / "training" / path.name
        assert committed.exists(), f"run: python -m nuri.cluster.rayjob manifests/training"
        assert yaml.safe_load(committed.read_text()) == yaml.safe_load(path.read_text()), \
            f"{committed} is stale: python -m nuri.cluster.rayjob manifests/training"


@needs_crds
def test_a_tls_object_store_brings_its_ca_into_head_and_workers():
    from nuri.cluster import names

    raw = rayjob.example_config(False).model_dump()
    raw["cluster"]["object_store_endpoint"] = names.object_store_url(secure=True)
    job = rayjob.render_rayjob(DomainConfig.model_validate(raw), stage="sft", run_id="r", work_uri="s3://b/p")
    crd_schema.validate_custom_resource(job)
    assert check_all([job]) == []
    for pod in _pods(job):
        container = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["NURI_S3_ENDPOINT"].startswith("https://")
        assert env["SSL_CERT_FILE"] == env["AWS_CA_BUNDLE"] == "/etc/nuri/object-store-ca/ca.crt"
        mount = next(m for m in container["volumeMounts"] if m["name"] == "object-store-ca")
        assert mount == {"name": "object-store-ca", "mountPath": "/etc/nuri/object-store-ca", "readOnly": True}
        assert {"name": "object-store-ca", "configMap": {"name": "nuri-object-store-ca"}} in pod["volumes"]
    # Plain HTTP: no CA, no extra variables.
    for pod in _pods(_job(False)):
        assert "SSL_CERT_FILE" not in {e["name"] for e in pod["containers"][0]["env"]}
        assert all(v["name"] != "object-store-ca" for v in pod.get("volumes", []))
