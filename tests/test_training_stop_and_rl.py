"""Stop criteria and the critic-free RL option, each on a real (tiny) stage under Ray
Train on a local Ray: a held-out-loss plateau stops pretraining early, a reached
reward-model accuracy stops the reward stage, a KL budget stops PPO and GRPO; every
report says why its stage stopped. And a killed stage (no worker restarts left, as
when KubeRay retries a failed job) resumes from its last checkpoint when run again."""

from pathlib import Path

import pytest

from nuri.config import load_domain_config
from nuri.errors import GateFailed
from nuri.stages import base_model_stage, ingest_stage, prepare_stage, read_report, training_stage
from nuri_testing import TINY_OVERRIDES, deep_merge, write_domain

pytestmark = pytest.mark.slow

OVERRIDES = deep_merge(TINY_OVERRIDES, {
    "runtime": {"max_failures": 0},
    "stages": {
        # threshold 0.9: only a 90% fall of the held-out loss counts as progress -> plateau.
        "pretrain": {"max_steps": 40, "eval_steps": 4, "early_stopping_patience": 2,
                     "early_stopping_threshold": 0.9, "save_steps": 4},
        "reward": {"max_steps": 60, "eval_steps": 5, "target_accuracy": 0.01},
        "ppo": {"kl_budget": 1.0e-6, "kl_coef": 0.1, "total_episodes": 64},
    },
    "gates": {"pretrain": [], "sft": [], "reward": [], "ppo": []},
})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from nuri.train.runtime import LocalRayCluster

    tmp = tmp_path_factory.mktemp("stop")
    config = load_domain_config(write_domain(tmp, OVERRIDES))
    cfg = config.to_json()
    ingest_stage(cfg, str(tmp / "raw"), tmp / "r-ingest")
    prepare_stage(cfg, str(tmp / "raw"), str(tmp / "data"), tmp / "r-prepare")
    base_model_stage(cfg, str(tmp / "data"), str(tmp / "base"), tmp / "r-base")

    def stage(name, inputs, out, config_json=cfg, **kw):
        return training_stage(name, config_json, "stop", inputs, str(tmp / "data"), str(tmp / out), tmp / f"r-{out}",
                              **kw)

    with LocalRayCluster():
        # The stage dies at step 6 (checkpoint at 4) with no restarts left...
        with pytest.raises(Exception, match="injected worker failure"):
            stage("pretrain", {"model_dir": str(tmp / "base")}, "pt", loop_overrides={
                "inject_failure_at_step": 6, "failure_marker_dir": str(tmp)})
        # ...and the same stage of the same run, started again, resumes from step 4.
        reports = {"pretrain": stage("pretrain", {"model_dir": str(tmp / "base")}, "pt"),
                   "reward": stage("reward", {"model_dir": str(tmp / "base")}, "rm")}
        rl_inputs = {"policy_dir": str(tmp / "base"), "reward_dir": str(tmp / "rm")}
        reports["ppo"] = stage("ppo", rl_inputs, "ppo")
        grpo = load_domain_config(write_domain(tmp, deep_merge(OVERRIDES, {"stages": {"ppo": {
            "algorithm": "grpo", "num_generations": 4, "batch_size": 8}}}), name="grpo.yaml"))
        reports["grpo"] = stage("ppo", rl_inputs, "grpo", grpo.to_json())
        # Without a KL penalty TRL logs no KL: the KL gate must fail, not see a 0.0.
        no_kl = load_domain_config(write_domain(tmp, deep_merge(OVERRIDES, {
            "stages": {"ppo": {"algorithm": "rloo", "num_generations": 4, "batch_size": 8, "kl_coef": 0.0,
                               "kl_budget": None, "total_episodes": 16}},
            "gates": {"ppo": [{"metric": "kl", "max": 20.0}]}}), name="nokl.yaml"))
        with pytest.raises(GateFailed, match="kl=nan"):
            stage("ppo", rl_inputs, "rloo-nokl", no_kl.to_json())
        reports["rloo_nokl"] = read_report(tmp / "r-rloo-nokl")
    return reports, tmp


def test_a_killed_stage_resumes_from_its_last_checkpoint_when_run_again(run):
    report = run[0]["pretrain"]
    assert (run[1] / "failed-once").exists()
    assert report["metrics"]["resumed"] is True, report


def test_plateau_stops_pretraining_early(run):
    report = run[0]["pretrain"]
    assert report["stop_reason"] == "early_stopping", report
    assert report["metrics"]["steps"] < 40
    assert report["metrics"]["train_tokens_per_second"] > 0


def test_reached_accuracy_stops_the_reward_model(run):
    report = run[0]["reward"]
    assert report["stop_reason"] == "target_accuracy", report
    assert report["metrics"]["steps"] < 60


def test_kl_budget_stops_ppo(run):
    report = run[0]["ppo"]
    assert report["stop_reason"] == "kl_budget", report
    assert report["metrics"]["iterations"] < 8
    assert (run[1] / "ppo" / "model.safetensors").exists()


def test_grpo_runs_with_the_reward_model_and_stops_on_the_kl_budget(run):
    report = run[0]["grpo"]
    assert report["status"] == "ok" and report["stop_reason"] == "kl_budget", report
    assert report["metrics"]["iterations"] < 8  # 64 episodes / 8 per step: stopped before the budget
    assert report["metrics"]["kl"] > 1.0e-6
    assert report["metrics"]["iterations"] >= 1 and report["metrics"]["reward_first"] == report["metrics"]["reward_first"]
    assert (run[1] / "grpo" / "model.safetensors").exists()
    assert Path(run[1] / "r-grpo" / "curves.png").exists()


def test_an_unlogged_kl_fails_the_kl_gate(run):
    report = run[0]["rloo_nokl"]
    assert report["status"] == "gate_failed" and report["gate"]["failures"] == ["kl=nan"], report
