from nuri.gates import Criterion, evaluate_gate


def test_gate_passes_when_all_criteria_hold():
    d = evaluate_gate("reward", [Criterion("heldout_accuracy", min=0.6)], {"heldout_accuracy": 0.8})
    assert d.passed and d.failures == [] and d.summary().startswith("pass")


def test_gate_reports_each_failure():
    d = evaluate_gate("release", [Criterion("perplexity_ppo", max=50), Criterion("knowledge_accuracy", min=0.9)],
                      {"perplexity_ppo": 80.0, "knowledge_accuracy": 0.7})
    assert not d.passed
    assert d.failures == ["perplexity_ppo=80 > max 50", "knowledge_accuracy=0.7 < min 0.9"]


def test_unmeasured_and_nan_metrics_never_pass():
    d = evaluate_gate("ppo", [Criterion("kl", max=5), Criterion("reward_gain", min=0)], {"reward_gain": float("nan")})
    assert not d.passed
    assert d.failures == ["kl: not measured", "reward_gain=nan"]


def test_impossible_threshold_blocks():
    d = evaluate_gate("reward", [Criterion("heldout_accuracy", min=1.01)], {"heldout_accuracy": 1.0})
    assert not d.passed
