"""The loop every Trainer-based stage shares (continued pretraining, SFT, reward model):
evaluate, train with checkpoints reported to Ray Train and resume after a failure,
evaluate again, report the final model. Runs inside a Ray Train worker."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from transformers import Trainer, TrainerCallback

from nuri.config import LoraConfig
from nuri.train.metrics import relative_drop
from nuri.train.worker import FailOnceAtStep, report_final, resume_checkpoint

FACTS_FILE = "nuri_facts.json"


class _SaveFacts(TrainerCallback):
    """Writes stage facts that must survive a restart (the loss before training) into
    each HF checkpoint, before Ray's report callback copies it to storage."""

    def __init__(self, facts: dict):
        self.facts = facts

    def on_save(self, args, state, control, **kwargs):
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if ckpt.is_dir():
            (ckpt / FACTS_FILE).write_text(json.dumps(self.facts))


def common_training_args(stage, runtime_seed: int, precision: str, output_dir: str, use_gpu: bool) -> dict:
    """TrainingArguments fields shared by HF and TRL trainers, from a stage config."""
    from nuri.train.precision import trainer_precision_args

    return dict(
        output_dir=output_dir, num_train_epochs=stage.epochs, max_steps=stage.max_steps,
        per_device_train_batch_size=stage.batch_size, per_device_eval_batch_size=stage.batch_size,
        gradient_accumulation_steps=stage.grad_accum, learning_rate=stage.learning_rate,
        warmup_steps=stage.warmup_ratio, lr_scheduler_type="cosine", weight_decay=0.0,
        logging_steps=stage.log_steps, logging_first_step=True, save_strategy="steps", save_steps=stage.save_steps,
        save_total_limit=1, eval_strategy="no", report_to=[], seed=runtime_seed,
        data_seed=runtime_seed, dataloader_num_workers=0, disable_tqdm=True,
        gradient_checkpointing=False, ddp_find_unused_parameters=False,
        use_cpu=not use_gpu, **trainer_precision_args(precision))


def peft_config(lora: LoraConfig, task_type: str):
    if not lora.enabled:
        return None
    from peft import LoraConfig as PeftLoraConfig

    return PeftLoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                          target_modules=list(lora.target_modules), task_type=task_type)


def save_merged(trainer: Trainer, tokenizer, dest: Path) -> None:
    """Saves a plain HF model: LoRA adapters are merged so later stages and serving
    load one folder without peft."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def train_and_report(trainer: Trainer, tokenizer, cfg: dict, started: float, *,
                     tokens_per_example: int | None = None,
                     extra_metrics: Callable[[Trainer], dict] | None = None) -> None:
    from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer

    resume = resume_checkpoint()
    if resume and (Path(resume) / FACTS_FILE).exists():
        facts = json.loads((Path(resume) / FACTS_FILE).read_text())
    else:
        facts = {"eval_loss_before": trainer.evaluate()["eval_loss"]}
    trainer.add_callback(_SaveFacts(facts))
    trainer.add_callback(RayTrainReportCallback())
    if cfg.get("inject_failure_at_step"):
        marker = os.path.join(cfg["failure_marker_dir"], "failed-once")
        trainer.add_callback(FailOnceAtStep(int(cfg["inject_failure_at_step"]), marker))
    trainer = prepare_trainer(trainer)

    t0 = time.perf_counter()
    out = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - t0
    eval_after = trainer.evaluate()["eval_loss"]
    history = trainer.state.log_history
    losses = [e["loss"] for e in history if "loss" in e]
    before = facts["eval_loss_before"]
    metrics = {
        "steps": trainer.state.global_step,
        "resumed": bool(resume),
        "train_loss_first": losses[0] if losses else float("nan"),
        "train_loss_last": losses[-1] if losses else float("nan"),
        "train_loss_drop": relative_drop(losses),
        "eval_loss_before": before,
        "eval_loss": eval_after,
        "eval_loss_drop": (before - eval_after) / before if before else float("nan"),
        "eval_perplexity": math.exp(min(eval_after, 50)),
        "train_seconds": train_seconds,
        "train_samples_per_second": out.metrics.get("train_samples_per_second", float("nan")),
    }
    if tokens_per_example:
        metrics["train_tokens_per_second"] = metrics["train_samples_per_second"] * tokens_per_example
    if extra_metrics:
        metrics.update(extra_metrics(trainer))
    report_final(lambda dest: save_merged(trainer, tokenizer, dest), metrics, history, started)


def scratch_dir() -> str:
    return tempfile.mkdtemp(prefix="nuri-train-")
