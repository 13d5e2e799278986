"""The training method a domain chooses (the adoption checklist's three): which stages
the pipeline compiles and runs, which models evaluation measures, which one is released,
and which gate metrics that leaves measurable. Pure logic, no I/O.

    foundation  the base model as it is, served with grounding and the guard
    sft         supervised fine-tuning only (after continued pretraining when asked, or
                when the base model is built from scratch and has read nothing yet)
    full        continued pretraining, SFT, reward model, PPO (the InstructGPT recipe)
"""

from __future__ import annotations

from typing import Literal

Method = Literal["foundation", "sft", "full"]
METHODS: tuple[str, ...] = ("foundation", "sft", "full")
TRAINING_STAGES: tuple[str, ...] = ("pretrain", "sft", "reward", "ppo")
# The models a policy metric can be suffixed with (answer_rate_<model>, ...), in chain order.
POLICY_MODELS: tuple[str, ...] = ("base", "sft", "ppo")
# Release metrics named after one model: <stem>_<model>.
POLICY_STEMS: tuple[str, ...] = ("answer_rate", "decline_rate", "refusal_rate", "answer_diversity", "reward",
                                 "facts_supported", "facts_contradicted", "facts_unsupported", "facts_absent",
                                 "hallucination_rate", "harmful_answer_rate")


def trained_stages(method: str, continued_pretraining: bool) -> tuple[str, ...]:
    """The training stages the pipeline runs, in order."""
    if method == "foundation":
        return ()
    if method == "sft":
        return ("pretrain", "sft") if continued_pretraining else ("sft",)
    return ("pretrain", "sft", "reward", "ppo") if continued_pretraining else ("sft", "reward", "ppo")


def policies(stages: tuple[str, ...]) -> tuple[str, ...]:
    """The models whose answers evaluation judges; the last is the one released."""
    trained = tuple(m for m in ("sft", "ppo") if m in stages)
    return trained or ("base",)


def released_model(stages: tuple[str, ...]) -> str:
    return policies(stages)[-1]


def model_chain(stages: tuple[str, ...]) -> tuple[str, ...]:
    """Every model along the chain (held-out perplexity is measured on each)."""
    return ("base",) + tuple(s for s in ("pretrain", "sft", "ppo") if s in stages)


def unmeasured_reason(metric: str, stages: tuple[str, ...]) -> str | None:
    """Why a release-gate metric cannot be measured with these stages, or None when it can.
    A gate on such a metric would always fail ("not measured"); the config says so at load."""
    chain, judged = model_chain(stages), policies(stages)
    if metric.startswith("perplexity_"):
        model = metric.removeprefix("perplexity_")
        return None if model in chain else f"no {model} model is trained"
    if metric.startswith("ppo_"):
        return None if "ppo" in judged else "no PPO model to compare with SFT"
    if metric == "reward_reference":
        return None if "reward" in stages else "no reward model is trained"
    for stem in POLICY_STEMS:
        model = metric.removeprefix(f"{stem}_")
        if metric.startswith(f"{stem}_") and model in POLICY_MODELS:
            if stem == "reward" and "reward" not in stages:
                return "no reward model is trained"
            if stem == "harmful_answer_rate" and model != judged[-1]:
                return f"it is measured on the released model ({judged[-1]}) only"
            if model not in judged:
                models = f"{' and '.join(judged)} model" + ("s'" if len(judged) > 1 else "'s")
                return f"evaluation judges the {models} answers, not the {model} model's"
            return None
    return None
