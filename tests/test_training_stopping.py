"""Stop criteria as pure logic, and the config fields that drive them."""

import pytest

from nuri.config import PpoStage, PretrainStage, RewardStage
from nuri.train.hf import memory_saving_args
from nuri.train.stopping import Plateau, StopRecorder, budget_reason, over_budget, target_reached


def test_plateau_stops_after_patience_evaluations_without_improvement():
    p = Plateau(patience=2, threshold=0.01)
    assert [p.update(v) for v in (3.0, 2.5, 2.49, 2.6, 2.0, 2.1, 2.05)] == \
        [False, False, False, True, False, False, True]
    assert p.best == 2.0
    assert not any(Plateau(patience=0).update(v) for v in (1, 2, 3, 4))  # off


def test_targets_budgets_and_the_first_reason_wins():
    assert target_reached(0.8, 0.75) and not target_reached(0.7, 0.75) and not target_reached(0.9, None)
    assert over_budget(5.1, 5.0) and not over_budget(4.9, 5.0) and not over_budget(100, None)
    assert budget_reason(40, 40) == "max_steps" and budget_reason(37, -1) == "epochs"
    r = StopRecorder()
    assert r.final(40, 40) == {"stop_reason": "max_steps", "stop_step": 40, "stop_detail": ""}
    r.fire("early_stopping", 12, "eval_loss 2.1")
    r.fire("kl_budget", 13)
    assert r.final(13, 40)["stop_reason"] == "early_stopping" and r.final(13, 40)["stop_step"] == 12
    with pytest.raises(AssertionError):
        StopRecorder().fire("bored", 1)


def test_stop_fields_validate():
    assert PretrainStage().eval_steps is None and PretrainStage().early_stopping_patience == 0
    with pytest.raises(ValueError, match="need eval_steps"):
        PretrainStage(early_stopping_patience=2)
    with pytest.raises(ValueError, match="need eval_steps"):
        RewardStage(target_accuracy=0.8)
    assert RewardStage(target_accuracy=0.8, eval_steps=10).target_accuracy == 0.8
    assert PpoStage().algorithm == "ppo" and PpoStage().kl_budget is None
    with pytest.raises(ValueError, match="num_generations"):
        PpoStage(algorithm="grpo", batch_size=6, mini_batches=2, num_generations=4)
    assert PpoStage(algorithm="rloo", batch_size=8, num_generations=4).algorithm == "rloo"


def test_memory_saving_options_map_to_trainer_arguments():
    assert memory_saving_args("none", True) == {}
    assert memory_saving_args("fsdp", False) == {}  # CPU: ignored with a warning
    assert memory_saving_args("fsdp", True)["fsdp"] == "full_shard auto_wrap"
    ds = memory_saving_args("deepspeed_zero3", True)["deepspeed"]
    assert ds["zero_optimization"]["stage"] == 3
    assert memory_saving_args("deepspeed_zero2", True)["deepspeed"]["zero_optimization"]["stage"] == 2
