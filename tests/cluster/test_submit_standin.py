"""Submission, waiting, result hand-off and teardown of a cluster-mode stage, against a
STAND-IN for the Kubernetes CustomObjectsApi (no cluster can run here): it stores
RayJobs, plays KubeRay's status transitions, and on completion writes what the job's
entrypoint would write. Fast: no Ray, no training."""

import json
import shlex
from pathlib import Path

import pytest

from nuri.cluster import rayjob, staging
from nuri.cluster.submit import ClusterJobFailed, KubeRayRunner, cleanup_run, run_stage_in_cluster
from nuri.config import load_domain_config
from nuri.errors import GateFailed
from nuri.stages import training_stage
from nuri_testing import TINY_OVERRIDES, deep_merge, write_domain


class NotFound(Exception):
    status = 404


class StandInCustomObjectsApi:
    """Stand-in for kubernetes.client.CustomObjectsApi (the four calls we use) plus a
    scripted KubeRay operator."""

    def __init__(self, script, on_finish=None):
        self.objects: dict[str, dict] = {}
        self.script = script            # [(jobDeploymentStatus, jobStatus), ...], one per poll
        self.on_finish = on_finish      # called with the RayJob when the script ends in SUCCEEDED
        self.polls = 0
        self.deleted: list[str] = []

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        assert (group, version, plural) == ("ray.io", "v1", "rayjobs")
        assert body["metadata"]["namespace"] == namespace
        self.objects[body["metadata"]["name"]] = body
        return body

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        if name not in self.objects:
            raise NotFound(name)
        obj = self.objects[name]
        deployment, job_status = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        obj["status"] = {"jobDeploymentStatus": deployment, "jobStatus": job_status}
        if job_status == "SUCCEEDED" and self.on_finish and not obj.get("_finished"):
            obj["_finished"] = True
            self.on_finish(obj)
        return obj

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):
        if name not in self.objects:
            raise NotFound(name)
        del self.objects[name]
        self.deleted.append(name)

    def list_namespaced_custom_object(self, group, version, namespace, plural, label_selector=""):
        wanted = dict(kv.split("=") for kv in label_selector.split(",") if kv)
        items = [o for o in self.objects.values()
                 if all(o["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
        return {"items": items}


def _work(job: dict) -> str:
    return shlex.split(job["spec"]["entrypoint"])[-1]


def fake_entrypoint(status="ok"):
    """What `python -m nuri.train.entry` leaves behind, without training."""
    def finish(job):
        work = _work(job)
        spec = staging.read_job(work)
        assert spec["stage"] == "sft" and spec["inputs"] == {"model_dir": "inputs/model_dir"}
        tmp = Path(work.removeprefix("file://")).parent / "fake-out"
        (tmp / "model").mkdir(parents=True, exist_ok=True)
        (tmp / "model" / "model.safetensors").write_bytes(b"weights")
        (tmp / "report").mkdir(parents=True, exist_ok=True)
        (tmp / "report" / "report.json").write_text(json.dumps(
            {"stage": "sft", "status": "ok" if status == "ok" else "gate_failed", "metrics": {"eval_loss": 1.5},
             "stop_reason": "max_steps"}))
        staging.put_outputs(work, tmp / "model", tmp / "report", status,
                            None if status == "ok" else "sft gate: FAIL: train_loss_drop=0.01 < min 0.05")
    return finish


@pytest.fixture
def cluster_config(tmp_path):
    overrides = deep_merge(TINY_OVERRIDES, {"runtime": {"mode": "cluster", "ray_cluster": {
        "namespace": "agency-welfare", "poll_seconds": 0.01, "wait_timeout_seconds": 60}}})
    return load_domain_config(write_domain(tmp_path, overrides))


@pytest.fixture
def dirs(tmp_path):
    (tmp_path / "in-model").mkdir()
    (tmp_path / "in-model" / "config.json").write_text("{}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sft_train.jsonl").write_text("{}\n")
    return {"inputs": {"model_dir": str(tmp_path / "in-model")}, "data": str(tmp_path / "data"),
            "model": str(tmp_path / "out-model"), "report": str(tmp_path / "out-report")}


RUNNING = [("Initializing", ""), ("Running", "PENDING"), ("Running", "RUNNING")]


def test_stage_is_submitted_as_a_rayjob_and_results_come_back(cluster_config, dirs):
    api = StandInCustomObjectsApi(RUNNING + [("Complete", "SUCCEEDED")], fake_entrypoint("ok"))
    report = run_stage_in_cluster("sft", cluster_config, "run-1", dirs["inputs"], dirs["data"], dirs["model"],
                                  dirs["report"], kube_api=api, sink=lambda text: None)
    assert report["metrics"]["eval_loss"] == 1.5 and report["cluster"]["status"] == "SUCCEEDED"
    assert (Path(dirs["model"]) / "model.safetensors").read_bytes() == b"weights"
    assert json.loads((Path(dirs["report"]) / "report.json").read_text())["cluster"]["job"].startswith("nuri-welfare-sft-")
    (job,) = api.objects.values()
    assert job["metadata"]["labels"]["nuri.io/run-id"] == "run-1"
    # The job's inputs were staged in storage before submission.
    work = _work(job)
    assert Path(work, "inputs", "model_dir", "config.json").exists()
    assert Path(work, "inputs", "dataset", "sft_train.jsonl").exists()


def test_training_stage_in_cluster_mode_goes_through_the_cluster(cluster_config, dirs):
    api = StandInCustomObjectsApi([("Complete", "SUCCEEDED")], fake_entrypoint("ok"))
    import nuri.cluster.submit as submit

    original = submit.kubernetes_custom_objects
    submit.kubernetes_custom_objects = lambda: api
    try:
        report = training_stage("sft", cluster_config.to_json(), "run-2", dirs["inputs"], dirs["data"],
                                dirs["model"], dirs["report"])
    finally:
        submit.kubernetes_custom_objects = original
    assert report["cluster"]["status"] == "SUCCEEDED" and len(api.objects) == 1


def test_a_failed_gate_in_the_job_fails_the_step_with_its_report(cluster_config, dirs):
    api = StandInCustomObjectsApi([("Complete", "SUCCEEDED")], fake_entrypoint("gate_failed"))
    with pytest.raises(GateFailed, match="train_loss_drop"):
        run_stage_in_cluster("sft", cluster_config, "run-3", dirs["inputs"], dirs["data"], dirs["model"],
                             dirs["report"], kube_api=api, sink=lambda text: None)
    assert json.loads((Path(dirs["report"]) / "report.json").read_text())["status"] == "gate_failed"


def test_a_failed_job_fails_the_step(cluster_config, dirs):
    api = StandInCustomObjectsApi(RUNNING + [("Failed", "FAILED")])
    with pytest.raises(ClusterJobFailed, match="FAILED"):
        run_stage_in_cluster("sft", cluster_config, "run-4", dirs["inputs"], dirs["data"], dirs["model"],
                             dirs["report"], kube_api=api, sink=lambda text: None)


def test_timeout_deletes_the_rayjob(cluster_config):
    api = StandInCustomObjectsApi([("Running", "RUNNING")])
    runner = KubeRayRunner("agency-welfare", api)
    job = rayjob.render_rayjob(cluster_config, stage="ppo", run_id="run-5", work_uri="s3://b/w")
    job["metadata"]["namespace"] = "agency-welfare"
    name = runner.submit(job)
    outcome = runner.wait(name, timeout_s=0.05, poll_s=0.01, sink=lambda text: None)
    assert outcome.status == "TIMEOUT" and api.deleted == [name] and not api.objects


def test_teardown_deletes_every_rayjob_of_the_run_and_nothing_else(cluster_config):
    api = StandInCustomObjectsApi([("Running", "RUNNING")])
    for run_id, stage in (("run-6", "pretrain"), ("run-6", "sft"), ("other-run", "sft")):
        job = rayjob.render_rayjob(cluster_config, stage=stage, run_id=run_id, work_uri="s3://b/w")
        api.create_namespaced_custom_object("ray.io", "v1", "agency-welfare", "rayjobs", job)
    removed = cleanup_run(cluster_config, "run-6", kube_api=api)
    assert sorted(removed["deleted_rayjobs"]) == sorted(rayjob.job_name("welfare", "run-6", s) for s in ("pretrain", "sft"))
    assert [o["metadata"]["labels"]["nuri.io/run-id"] for o in api.objects.values()] == ["other-run"]
    assert cleanup_run(cluster_config, "run-6", kube_api=api) == {"deleted_rayjobs": []}  # safe twice


def test_teardown_in_local_mode_does_nothing(tmp_path):
    config = load_domain_config(write_domain(tmp_path, TINY_OVERRIDES))
    assert cleanup_run(config, "run-7", kube_api=object()) == {}


def test_standalone_kfp_the_rayjob_goes_to_the_agency_namespace_without_a_cross_namespace_owner(
        tmp_path, dirs, monkeypatch):
    """Standalone KFP runs the step in `kubeflow`: the RayJob still goes to agency-<domain>,
    and gets no ownerReference to the step's pod (an owner in another namespace would have
    the garbage collector delete it at once); the teardown finds it there."""
    import nuri.cluster.submit as submit

    overrides = deep_merge(TINY_OVERRIDES, {"runtime": {"mode": "cluster", "ray_cluster": {
        "poll_seconds": 0.01, "wait_timeout_seconds": 60}}})
    config = load_domain_config(write_domain(tmp_path, overrides))
    assert config.runtime.ray_cluster.namespace is None
    monkeypatch.setenv("KFP_POD_NAME", "nuri-reference-abc-sft")
    monkeypatch.setenv("KFP_POD_UID", "0b9e0f3c-0000-4000-8000-000000000001")
    monkeypatch.setattr(submit, "pod_namespace", lambda default="default": "kubeflow")
    api = StandInCustomObjectsApi([("Complete", "SUCCEEDED")], fake_entrypoint("ok"))
    run_stage_in_cluster("sft", config, "run-9", dirs["inputs"], dirs["data"], dirs["model"], dirs["report"],
                         kube_api=api, sink=lambda text: None)
    (job,) = api.objects.values()
    assert job["metadata"]["namespace"] == f"agency-{config.name}"
    assert "ownerReferences" not in job["metadata"]
    assert cleanup_run(config, "run-9", kube_api=api)["deleted_rayjobs"] == [job["metadata"]["name"]]
    # In the RayJob's own namespace the step's pod is still its owner.
    monkeypatch.setattr(submit, "pod_namespace", lambda default="default": f"agency-{config.name}")
    api = StandInCustomObjectsApi([("Complete", "SUCCEEDED")], fake_entrypoint("ok"))
    run_stage_in_cluster("sft", config, "run-10", dirs["inputs"], dirs["data"], dirs["model"], dirs["report"],
                         kube_api=api, sink=lambda text: None)
    (job,) = api.objects.values()
    assert job["metadata"]["ownerReferences"][0]["name"] == "nuri-reference-abc-sft"
