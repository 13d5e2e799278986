"""Reward model (InstructGPT step 2): the SFT model with a scalar head, trained on
(chosen, rejected) pairs with the pairwise logistic loss (TRL's RewardTrainer)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nuri.config import DomainConfig


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
        acc = pairwise_accuracy(t.model, tokenizer, data / "pairs_heldout.jsonl", system,
                                max_length=stage.max_length)
        return {"heldout_accuracy": acc, "heldout_pairs": len(eval_ds), "train_pairs": len(train_ds)}

    train_and_report(trainer, tokenizer, cfg, started, extra_metrics=heldout_accuracy)
