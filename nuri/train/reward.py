"""Reward model (InstructGPT step 2): the SFT model with a scalar head, trained on
(chosen, rejected) pairs with the pairwise logistic loss (TRL's RewardTrainer)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nuri.config import DomainConfig


# Kinds with fewer held-out pairs than this are reported but not counted in the worst
# kind: one pair more or less would swing it by an eighth or more.
MIN_PAIRS_PER_KIND = 8


def pairs_dataset(path: Path, system_prompt: str = ""):
    from datasets import Dataset

    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    rows = []
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        prompt = system + [{"role": "user", "content": r["prompt"]}]
        rows.append({"prompt": prompt,
                     "chosen": [{"role": "assistant", "content": r["chosen"]}],
                     "rejected": [{"role": "assistant", "content": r["rejected"]}]})
    return Dataset.from_list(rows)


def reward_loop(cfg: dict) -> None:
    started = time.time()
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed
    from trl import RewardConfig, RewardTrainer

    from nuri.data.kinds import FACT_KINDS, UNLABELLED
    from nuri.evaluation.scoring import pairwise_accuracy
    from nuri.train.hf import common_training_args, scratch_dir, train_and_report

    config = DomainConfig.from_json(cfg["config"])
    stage = config.stages.reward
    data = Path(cfg["data_dir"])
    tokenizer = AutoTokenizer.from_pretrained(cfg["model_dir"])
    # The scalar head is freshly initialised here, before the Trainer seeds anything:
    # seed first, or two runs of the same data give different reward models.
    set_seed(config.runtime.seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        cfg["model_dir"], num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    system = config.serving.system_prompt
    train_ds = pairs_dataset(data / "pairs_train.jsonl", system)
    eval_ds = pairs_dataset(data / "pairs_heldout.jsonl", system)
    args = RewardConfig(**common_training_args(stage, config.runtime.seed, cfg["precision"], scratch_dir(),
                                               config.runtime.use_gpu,
        config.runtime.memory_saving),
                        max_length=stage.max_length, dataset_num_proc=None)
    trainer = RewardTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                            processing_class=tokenizer)

    def heldout_accuracy(t) -> dict:
        acc, by_kind = pairwise_accuracy(t.model, tokenizer, data / "pairs_heldout.jsonl", system,
                                         max_length=stage.max_length)
        # Per kind of rejected answer: a reward model can rank rude answers perfectly and
        # still prefer a decline to an answer, and the worst behaviour kind is what PPO
        # will exploit. Fact kinds are reported apart: ranking them needs the domain's
        # facts, which a small model may not hold (then they sit near 0.5).
        kinds = {f"heldout_accuracy_{k}": a for k, (a, _) in by_kind.items()}
        counted = {k: a for k, (a, n) in by_kind.items() if n >= MIN_PAIRS_PER_KIND}
        behaviour = [a for k, a in counted.items() if k not in FACT_KINDS and k != UNLABELLED]
        facts = [(a, n) for k, (a, n) in by_kind.items() if k in FACT_KINDS]
        return {"heldout_accuracy": acc,
                "heldout_accuracy_worst_behaviour_kind": min(behaviour, default=float("nan")),
                "heldout_accuracy_fact_kinds": sum(a * n for a, n in facts) / sum(n for _, n in facts)
                if facts else float("nan"),
                **kinds, "heldout_pairs": len(eval_ds), "train_pairs": len(train_ds)}

    train_and_report(trainer, tokenizer, cfg, started, extra_metrics=heldout_accuracy)
