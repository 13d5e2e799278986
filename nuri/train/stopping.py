"""When a training stage stops, and why. Pure logic (no torch, no transformers): the
callbacks in nuri.train.hf and nuri.train.ppo feed it numbers and act on its answer.

Stop reasons, recorded as `stop_reason` in every stage report:
    max_steps        the configured step budget was used up
    epochs           the configured epochs were run
    early_stopping   held-out loss did not improve for `early_stopping_patience` evaluations
    target_accuracy  the reward model reached `target_accuracy` on held-out pairs
    kl_budget        the policy's KL to the reference exceeded `kl_budget` (PPO/GRPO/RLOO)
"""

from __future__ import annotations

from dataclasses import dataclass, field

REASONS = ("max_steps", "epochs", "early_stopping", "target_accuracy", "kl_budget")


@dataclass
class Plateau:
    """Early stopping on a loss: stop after `patience` evaluations in a row that did not
    improve the best value by a relative `threshold`. patience 0 never stops."""

    patience: int
    threshold: float = 0.0
    best: float | None = None
    bad: int = 0
    history: list[float] = field(default_factory=list)

    def update(self, value: float) -> bool:
        self.history.append(value)
        if self.best is None or value < self.best * (1 - self.threshold):
            self.best, self.bad = value, 0
            return False
        self.bad += 1
        return self.patience > 0 and self.bad >= self.patience


def target_reached(accuracy: float | None, target: float | None) -> bool:
    return target is not None and accuracy is not None and accuracy >= target


def over_budget(kl: float | None, budget: float | None) -> bool:
    return budget is not None and kl is not None and kl > budget


def budget_reason(steps_done: int, max_steps: int) -> str:
    """The reason when no criterion fired: the step budget or the epochs ran out."""
    return "max_steps" if max_steps > 0 and steps_done >= max_steps else "epochs"


class StopRecorder:
    """The first criterion that fired (later ones do not overwrite it)."""

    def __init__(self):
        self.reason: str | None = None
        self.at_step: int | None = None
        self.detail: str = ""

    def fire(self, reason: str, step: int, detail: str = "") -> None:
        assert reason in REASONS, reason
        if self.reason is None:
            self.reason, self.at_step, self.detail = reason, step, detail

    def final(self, steps_done: int, max_steps: int) -> dict:
        reason = self.reason or budget_reason(steps_done, max_steps)
        return {"stop_reason": reason, "stop_step": self.at_step if self.reason else steps_done,
                "stop_detail": self.detail}
