"""Cluster mode in the pipeline: the run is wrapped in an exit handler whose teardown task
removes the run's Ray resources; training steps only submit (no GPUs on the step pod).
Local mode compiles exactly as before (no exit handler)."""

import pytest
import yaml
from kfp import compiler

from nuri.config import load_domain_config
from nuri_testing import TINY_OVERRIDES, deep_merge, write_domain
from pipelines.reference import build_pipeline_for


def _compile(tmp_path, mode):
    config = load_domain_config(write_domain(tmp_path, deep_merge(TINY_OVERRIDES, {"runtime": {"mode": mode}})))
    out = tmp_path / f"{mode}.yaml"
    compiler.Compiler().compile(build_pipeline_for(config), str(out))
    return list(yaml.safe_load_all(out.read_text()))[0]


def test_cluster_mode_has_a_ray_teardown_exit_handler(tmp_path):
    spec = _compile(tmp_path, "cluster")
    root = spec["root"]["dag"]["tasks"]
    assert set(root) == {"exit-handler-1", "ray-teardown"}
    teardown = root["ray-teardown"]
    assert teardown["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"  # runs after failures too
    assert "exit-handler-1" in teardown["dependentTasks"]
    inner = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    assert {"pretrain", "sft", "reward-model", "ppo", "evaluate"} <= set(inner)
    executors = spec["deploymentSpec"]["executors"]
    for task in ("pretrain", "ppo"):
        label = spec["components"][inner[task]["componentRef"]["name"]]["executorLabel"]
        assert "accelerator" not in executors[label]["container"].get("resources", {}), task


@pytest.mark.parametrize("mode", ["local"])
def test_local_mode_compiles_without_exit_handler(tmp_path, mode):
    root = _compile(tmp_path, mode)["root"]["dag"]["tasks"]
    assert "ray-teardown" not in root and "pretrain" in root


def test_teardown_component_runs_on_the_local_runner(tmp_path):
    import kfp.local

    from components.training import ray_teardown

    config = load_domain_config(write_domain(tmp_path, TINY_OVERRIDES))
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp"))
    task = ray_teardown(domain_config=config.to_json(), run_id="r")
    assert task.output == "{}"  # local mode: nothing in a cluster to remove
