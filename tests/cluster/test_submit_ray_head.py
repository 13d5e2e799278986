"""Submission and waiting against a real Ray head on loopback (its dashboard serves the
Ray Jobs API, token authentication on), the stand-in for a long-lived RayCluster: logs
stream back, a timeout stops the job, a failing job fails, the teardown stops only the
run's jobs, and a real training stage runs through `python -m nuri.train.entry`."""

import json
from pathlib import Path

import pytest

from nuri.cluster.local_head import LocalRayHead
from nuri.cluster.submit import JobsApiRunner, cleanup_run, run_stage_in_cluster
from nuri.config import load_domain_config
from nuri.stages import base_model_stage, ingest_stage, prepare_stage
from nuri_testing import REPO, TINY_OVERRIDES, deep_merge, write_domain

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def head():
    with LocalRayHead(num_cpus=2) as h:
        yield h


@pytest.fixture(scope="module")
def runner(head):
    return JobsApiRunner(head.dashboard_url, auth_token=head.auth_token,
                         runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}})


def test_logs_stream_back_and_success_is_reported(runner):
    chunks = []
    job = runner.submit("python -c \"print('hello from the job')\"", "ok-1", {"nuri.io/run-id": "a"})
    outcome = runner.wait(job, timeout_s=60, poll_s=0.2, sink=chunks.append)
    assert outcome.status == "SUCCEEDED"
    assert "hello from the job" in "".join(chunks)


def test_failing_job_and_timeout(runner):
    failed = runner.wait(runner.submit("python -c 'raise SystemExit(3)'", "fail-1", {}), timeout_s=60, poll_s=0.2,
                         sink=lambda t: None)
    assert failed.status == "FAILED"
    slow = runner.wait(runner.submit("sleep 60", "slow-1", {}), timeout_s=1, poll_s=0.2, sink=lambda t: None)
    assert slow.status == "TIMEOUT"


def test_teardown_stops_only_the_runs_jobs(runner, tmp_path):
    config = load_domain_config(write_domain(tmp_path, deep_merge(TINY_OVERRIDES, {"runtime": {"mode": "cluster"}})))
    runner.submit("sleep 60", "run-b-1", {"nuri.io/run-id": "b"})
    runner.submit("sleep 60", "run-c-1", {"nuri.io/run-id": "c"})
    assert cleanup_run(config, "b", jobs_runner=runner) == {"stopped_jobs": ["run-b-1"]}
    assert cleanup_run(config, "c", jobs_runner=runner) == {"stopped_jobs": ["run-c-1"]}


def test_a_training_stage_runs_on_the_ray_head_through_the_jobs_api(runner, head, tmp_path):
    overrides = deep_merge(TINY_OVERRIDES, {
        "runtime": {"mode": "cluster", "ray_cluster": {"existing_cluster_address": head.dashboard_url,
                                                       "poll_seconds": 1}},
        "stages": {"pretrain": {"max_steps": 8, "save_steps": 4, "log_steps": 2}}})
    config = load_domain_config(write_domain(tmp_path, overrides))
    cfg = config.to_json()
    ingest_stage(cfg, str(tmp_path / "raw"), tmp_path / "r-ingest")
    prepare_stage(cfg, str(tmp_path / "raw"), str(tmp_path / "data"), tmp_path / "r-prepare")
    base_model_stage(cfg, str(tmp_path / "data"), str(tmp_path / "base"), tmp_path / "r-base")
    chunks = []
    report = run_stage_in_cluster("pretrain", config, "head-run", {"model_dir": str(tmp_path / "base")},
                                  str(tmp_path / "data"), str(tmp_path / "pt"), str(tmp_path / "r-pt"),
                                  jobs_runner=runner, sink=chunks.append)
    assert report["status"] == "ok" and report["cluster"]["status"] == "SUCCEEDED"
    assert report["metrics"]["steps"] == 8 and report["stop_reason"] == "max_steps"
    assert (tmp_path / "pt" / "model.safetensors").exists()
    assert (tmp_path / "r-pt" / "curves.png").exists()
    assert json.loads((tmp_path / "r-pt" / "report.json").read_text())["cluster"]["job"].startswith("nuri-welfare-")
    logs = "".join(chunks)
    assert "nuri.train.entry" in logs and "job " in logs  # the job's log streamed into the step's
    assert Path(report["checkpoint"]).is_dir()  # checkpoints in the domain's storage
