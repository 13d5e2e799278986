"""Retraining through Kubeflow Pipelines: the retrain trigger pipeline as compiled (its
task, the secrets it gets by reference, its pod label), the recurring run and the
retraining run as the real kfp.Client sends them to a STAND-IN for the KFP v2beta1 API
served over HTTP on 127.0.0.1 (no KFP can run here; tests/nuri_testing.py)."""

import json
from pathlib import Path

import pytest
import yaml

from nuri.cluster import names
from nuri.cluster.retrain_schedule import (compile_trigger, recurring_run_name, schedule_retrain,
                                           schedule_threshold_check, submit_retrain)
from nuri.config import load_domain_config
from nuri.errors import ConfigError
from nuri_testing import TINY_OVERRIDES, KfpApiStandIn, deep_merge, write_domain

CRON = "0 0 3 * * 1"
NS = "agency-welfare"
pytestmark = pytest.mark.filterwarnings("ignore:This client only works with Kubeflow Pipeline")


def _config(tmp_path, schedule=CRON, **more):
    overrides = deep_merge(TINY_OVERRIDES, {"runtime": {"mode": "cluster"},
                                            "feedback": {"retrain": {"schedule": schedule}}, **more})
    return load_domain_config(write_domain(tmp_path, overrides))


@pytest.fixture
def kfp_api():
    with KfpApiStandIn() as api:
        yield api


def _trigger_executor(spec: dict, platform: dict) -> tuple[dict, dict, dict]:
    """(task, container, kubernetes executor config) of the pipeline's one task."""
    [(name, task)] = spec["root"]["dag"]["tasks"].items()
    assert name == "feedback-trigger"
    label = spec["components"][task["componentRef"]["name"]]["executorLabel"]
    return (task, spec["deploymentSpec"]["executors"][label]["container"],
            platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label])


def _secret_env(k8s_executor: dict) -> dict[str, dict[str, str]]:
    return {s["secretName"]: {m["secretKey"]: m["envVar"] for m in s["keyToEnv"]} for s in k8s_executor["secretAsEnv"]}


def test_the_trigger_pipeline_is_one_task_with_its_secrets_by_reference(tmp_path):
    config = _config(tmp_path)
    spec, platform = yaml.safe_load_all(compile_trigger(config, tmp_path / "trigger.yaml").read_text())
    assert spec["pipelineInfo"]["name"] == "nuri-retrain-trigger"
    task, container, k8s = _trigger_executor(spec, platform)
    assert container["image"] == config.cluster.image
    assert "trigger_in_cluster" in " ".join(container["command"] + container.get("args", []))
    assert task["cachingOptions"] == {}  # never cached: each scheduled run looks at the ratings afresh
    # Its run id is the KFP run's own (one per scheduled run), its config the pipeline's parameter.
    inputs = task["inputs"]["parameters"]
    assert inputs["run_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"
    assert inputs["domain_config"]["componentInputParameter"] == "domain_config"
    assert json.loads(spec["root"]["inputDefinitions"]["parameters"]["domain_config"]["defaultValue"])["name"] == \
        "welfare"
    assert _secret_env(k8s) == {"nuri-feedback-db": {"url": "NURI_FEEDBACK_DB_URL"},
                                # welfare's secret in kubeflow, where standalone KFP runs the trigger
                                names.pipeline_object_store_secret("welfare"): {"accesskey": "AWS_ACCESS_KEY_ID",
                                                      "secretkey": "AWS_SECRET_ACCESS_KEY"}}
    assert k8s["podMetadata"]["labels"] == {"nuri.io/feedback-db-client": "true"}  # what the database admits
    assert "postgresql" not in json.dumps([spec, platform])  # a secret's name, never its value
    # without its secret the pod does not start (no `optional`: Kubernetes' default, false; KFP 2.5.0 knows no such field)
    assert all(not s.get("optional") for s in k8s["secretAsEnv"])
    assert {"name": "NURI_S3_ENDPOINT", "value": config.cluster.object_store_endpoint} in container["env"]
    resources = container["resources"]
    assert (resources["resourceCpuLimit"], resources["resourceMemoryLimit"]) == (config.cluster.task_cpu,
                                                                                 config.cluster.task_memory)


def test_without_a_feedback_secret_the_trigger_gets_only_the_object_store(tmp_path):
    config = _config(tmp_path, deploy={"feedback_db_secret": None})
    spec, platform = yaml.safe_load_all(compile_trigger(config, tmp_path / "trigger.yaml").read_text())
    _, _, k8s = _trigger_executor(spec, platform)
    assert set(_secret_env(k8s)) == {names.pipeline_object_store_secret("welfare")} and "podMetadata" not in k8s


def test_schedule_creates_a_recurring_run_on_the_configured_cron(tmp_path, kfp_api):
    config = _config(tmp_path)
    created = schedule_retrain(config, kfp_api.url, namespace=NS)
    [body] = kfp_api.posted("/recurringruns")
    assert created.recurring_run_id in kfp_api.recurring_runs
    assert body["display_name"] == recurring_run_name(config) == "nuri-retrain-welfare"
    assert body["trigger"] == {"cron_schedule": {"cron": CRON}}
    assert int(body["max_concurrency"]) == 1 and body["no_catchup"] is True and body["mode"] == "ENABLE"
    [experiment] = kfp_api.experiments.values()
    assert experiment["display_name"] == "nuri-retrain" and body["experiment_id"] == experiment["experiment_id"]
    assert json.loads(body["runtime_config"]["parameters"]["domain_config"]) == json.loads(config.to_json())
    assert body["runtime_config"]["parameters"]["force"] is True  # the schedule retrains whatever the rates
    spec, platform = body["pipeline_spec"]["pipeline_spec"], body["pipeline_spec"]["platform_spec"]
    assert spec["pipelineInfo"]["name"] == "nuri-retrain-trigger"
    _, _, k8s = _trigger_executor(spec, platform)
    assert _secret_env(k8s)["nuri-feedback-db"] == {"url": "NURI_FEEDBACK_DB_URL"}


def test_scheduling_again_replaces_the_recurring_run(tmp_path, kfp_api):
    schedule_retrain(_config(tmp_path), kfp_api.url)
    first = set(kfp_api.recurring_runs)
    schedule_retrain(_config(tmp_path, schedule="0 30 4 * * *"), kfp_api.url)
    [(run_id, run)] = kfp_api.recurring_runs.items()
    assert run_id not in first and run["trigger"]["cron_schedule"]["cron"] == "0 30 4 * * *"
    assert [m for m, p, _ in kfp_api.received if "/recurringruns/" in p] == ["DELETE"]
    assert len(kfp_api.experiments) == 1  # the experiment is found, not made twice


@pytest.mark.parametrize("schedule, message", [
    (None, r"^feedback\.retrain\.schedule: not set; give a six-field cron"),
    ("0 3 * * 1", r"^feedback\.retrain\.schedule: '0 3 \* \* 1' is not a six-field cron"),
])
def test_a_missing_or_five_field_schedule_is_one_line_before_any_request(tmp_path, kfp_api, schedule, message):
    with pytest.raises(ConfigError, match=message) as error:
        schedule_retrain(_config(tmp_path, schedule=schedule), kfp_api.url)
    assert "\n" not in str(error.value)
    assert kfp_api.received == []


def test_submit_retrain_sends_the_reference_pipeline_with_the_domain_config(tmp_path, kfp_api):
    from nuri.compile import compile_pipeline

    config = _config(tmp_path)
    package = compile_pipeline(config, tmp_path / "reference.yaml")
    run = submit_retrain(package, kfp_api.url, run_id="retrain-0001", config=config, namespace=NS)
    assert run.run_id in kfp_api.runs
    [body] = kfp_api.posted("/runs")
    assert body["display_name"] == "nuri-retrain-0001"
    assert body["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == "nuri-reference"
    params = body["runtime_config"]["parameters"]
    assert params["run_id"] == "retrain-0001"
    assert json.loads(params["domain_config"]) == json.loads(config.to_json())
    assert kfp_api.experiments[body["experiment_id"]]["display_name"] == "nuri-retrain"


def test_the_trigger_step_exports_the_ratings_and_submits_a_run_from_the_release(tmp_path, kfp_api, monkeypatch):
    """What the recurring run's step does in its pod: thresholds checked on the feedback
    log (here SQLite; in the cluster the URL comes from the secret), the ratings published
    as a feedback dataset, the reference pipeline submitted with the retrain's config."""
    from nuri.feedback.retrain import trigger_in_cluster
    from nuri.feedback.store import FeedbackStore

    config = load_domain_config(write_domain(tmp_path, {"feedback": {"min_ratings": 2}}))
    release = tmp_path / "storage" / "releases" / "welfare" / "v0001"
    (release / "model").mkdir(parents=True)
    (release / "service").mkdir()
    (release / "service" / "service.json").write_text(json.dumps({"refusal_message": "도와드릴 수 없습니다."}))
    (release / "RELEASE.json").write_text(json.dumps({"release": "welfare-v0001", "files": {}}))
    (release.parent / "PROMOTED.json").write_text(json.dumps({"version": "v0001"}))
    monkeypatch.setenv("NURI_FEEDBACK_DB_URL", f"sqlite:///{tmp_path / 'fb.sqlite'}")
    monkeypatch.setenv("NURI_KFP_HOST", kfp_api.url)
    store = FeedbackStore.for_domain(config)
    for i, (kind, correction) in enumerate([("hallucination", "만 65세 이상입니다."), ("hallucination", None),
                                            ("good", None)]):
        store.log_completion(f"c{i}", release="welfare-v0001", service="domain",
                             messages=[{"role": "user", "content": f"기초연금 질문 {i}"}], answer="틀린 답",
                             outcome="answered")
        store.add_rating(f"c{i}", kind, correction=correction)

    out = trigger_in_cluster(config, run_id="check-1", force=False)
    assert out.trigger.due and "hallucination 0.67 >= 0.40" in out.trigger.reason
    assert (Path(out.dataset_uri) / "feedback_card.json").is_file() and out.dataset.card["sft_pairs"] == 1
    [run] = kfp_api.posted("/runs")
    sent = json.loads(run["runtime_config"]["parameters"]["domain_config"])
    assert sent["base_model"] == {**sent["base_model"], "source": "pretrained", "path": f"{release}/model"}
    assert sent["data"]["feedback"] == out.dataset_uri and run["runtime_config"]["parameters"]["run_id"] == "check-1"
    assert sent["gates"]["release"] == json.loads(config.to_json())["gates"]["release"]
    assert out.summary()["due"] is True


def test_the_trigger_step_submits_nothing_when_no_threshold_is_crossed(tmp_path, kfp_api, monkeypatch):
    from nuri.feedback.retrain import trigger_in_cluster

    config = load_domain_config(write_domain(tmp_path))
    promoted = tmp_path / "storage" / "releases" / "welfare"
    (promoted / "v0001").mkdir(parents=True)
    (promoted / "v0001" / "RELEASE.json").write_text(json.dumps({"release": "welfare-v0001", "files": {}}))
    (promoted / "PROMOTED.json").write_text(json.dumps({"version": "v0001"}))
    monkeypatch.setenv("NURI_FEEDBACK_DB_URL", f"sqlite:///{tmp_path / 'fb.sqlite'}")
    monkeypatch.setenv("NURI_KFP_HOST", kfp_api.url)
    out = trigger_in_cluster(config, run_id="sched-2", force=False)
    assert not out.trigger.due and "fewer than the 20" in out.trigger.reason
    assert kfp_api.posted("/runs") == []


def test_the_threshold_check_is_a_recurring_run_that_retrains_only_on_a_crossing(tmp_path, kfp_api):
    config = _config(tmp_path)
    schedule_threshold_check(config, kfp_api.url, namespace=NS)
    schedule_retrain(config, kfp_api.url, namespace=NS)
    bodies = {b["display_name"]: b for b in kfp_api.posted("/recurringruns")}
    check = bodies["nuri-retrain-welfare-check"]
    assert check["trigger"] == {"cron_schedule": {"cron": config.feedback.retrain.check_schedule}}
    assert check["runtime_config"]["parameters"]["force"] is False
    assert bodies["nuri-retrain-welfare"]["runtime_config"]["parameters"]["force"] is True
    assert int(check["max_concurrency"]) == 1 and check["no_catchup"] is True
    # The step reads the parameter: compiled, the task's force input is the pipeline's.
    spec = check["pipeline_spec"]["pipeline_spec"]
    task, _, _ = _trigger_executor(spec, check["pipeline_spec"]["platform_spec"])
    assert task["inputs"]["parameters"]["force"] == {"componentInputParameter": "force"}
