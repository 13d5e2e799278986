"""The loop every Trainer-based stage shares (continued pretraining, SFT, reward model):
evaluate, train with checkpoints reported to Ray Train and resume after a failure,
evaluate again, report the final model. Runs inside a Ray Train worker."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Callable

from transformers import Trainer, TrainerCallback

from nuri.config import LoraConfig
from nuri.train.metrics import relative_drop
from nuri.train.worker import FailOnceAtStep, report_final, resume_checkpoint, scratch_dir  # noqa: F401

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


def memory_saving_args(mode: str, use_gpu: bool) -> dict:
    """TrainingArguments for models that do not fit one GPU: FSDP full sharding, or
    DeepSpeed ZeRO stage 2/3 (needs `pip install deepspeed` in the image). GPU only: on
    CPU the option is ignored with a warning (nothing to save; no NCCL)."""
    if mode == "none":
        return {}
    if not use_gpu:
        import logging

        logging.getLogger("nuri").warning("runtime.memory_saving=%s ignored: it needs GPUs", mode)
        return {}
    if mode == "fsdp":
        return {"fsdp": "full_shard auto_wrap",
                "fsdp_config": {"transformer_layer_cls_to_wrap": ["LlamaDecoderLayer"], "use_orig_params": True}}
    stage = 3 if mode == "deepspeed_zero3" else 2
    zero: dict = {"stage": stage, "overlap_comm": True, "contiguous_gradients": True}
    if stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return {"deepspeed": {"zero_optimization": zero, "bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"},
                          "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
                          "gradient_clipping": "auto", "train_batch_size": "auto"}}


def common_training_args(stage, runtime_seed: int, precision: str, output_dir: str, use_gpu: bool,
                         memory_saving: str = "none") -> dict:
    """TrainingArguments fields shared by HF and TRL trainers, from a stage config."""
    from nuri.train.precision import trainer_precision_args

    periodic_eval = {"eval_strategy": "steps", "eval_steps": stage.eval_steps} if stage.eval_steps \
        else {"eval_strategy": "no"}
    return dict(
        output_dir=output_dir, num_train_epochs=stage.epochs, max_steps=stage.max_steps,
        per_device_train_batch_size=stage.batch_size, per_device_eval_batch_size=stage.batch_size,
        gradient_accumulation_steps=stage.grad_accum, learning_rate=stage.learning_rate,
        warmup_steps=stage.warmup_ratio, lr_scheduler_type="cosine", weight_decay=0.0,
        logging_steps=stage.log_steps, logging_first_step=True, save_strategy="steps", save_steps=stage.save_steps,
        save_total_limit=1, report_to=[], seed=runtime_seed,
        data_seed=runtime_seed, dataloader_num_workers=0, disable_tqdm=True,
        gradient_checkpointing=False, ddp_find_unused_parameters=False, include_num_input_tokens_seen=True,
        use_cpu=not use_gpu, **periodic_eval, **trainer_precision_args(precision, use_gpu),
        **memory_saving_args(memory_saving, use_gpu))


class StageMetrics(TrainerCallback):
    """Per log step: tokens/s since the previous log (added to the log history, so the
    curves show it) and one `nuri-metrics {json}` line on rank 0, which reaches the
    pipeline step's log (streamed back from the cluster in cluster mode)."""

    def __init__(self, tokens_per_example: int | None = None):
        self.tokens_per_example = tokens_per_example
        self._last: tuple[float, int, int] | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._last = (time.perf_counter(), state.num_input_tokens_seen or 0, state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        entry = state.log_history[-1] if state.log_history else {}
        if "loss" in logs and self._last is not None:
            now, seen = time.perf_counter(), state.num_input_tokens_seen or 0
            t, seen0, step0 = self._last
            tokens = seen - seen0
            if not tokens and self.tokens_per_example:
                world = max(1, args.world_size)
                tokens = (state.global_step - step0) * args.per_device_train_batch_size * \
                    args.gradient_accumulation_steps * world * self.tokens_per_example
            if now > t and tokens:
                entry["tokens_per_second"] = tokens / (now - t)
            self._last = (now, seen, state.global_step)
        if state.is_world_process_zero:
            keep = {k: v for k, v in entry.items() if isinstance(v, (int, float))}
            print("nuri-metrics " + json.dumps(keep), flush=True)


class StopCriteria(TrainerCallback):
    """Early stop on a held-out-loss plateau, or once held-out accuracy reaches a target
    (reward model); the reason goes to the recorder."""

    def __init__(self, stage, recorder):
        from nuri.train.stopping import Plateau

        self.stage, self.recorder = stage, recorder
        self.plateau = Plateau(stage.early_stopping_patience, stage.early_stopping_threshold)

    def on_log(self, args, state, control, logs=None, **kwargs):
        from nuri.train.stopping import target_reached

        logs = logs or {}
        if "eval_loss" in logs and self.stage.early_stopping_patience and self.plateau.update(logs["eval_loss"]):
            self.recorder.fire("early_stopping", state.global_step,
                               f"eval_loss {logs['eval_loss']:.4f}, best {self.plateau.best:.4f}")
            control.should_training_stop = True
        target = getattr(self.stage, "target_accuracy", None)
        if target_reached(logs.get("eval_accuracy"), target):
            self.recorder.fire("target_accuracy", state.global_step, f"eval_accuracy {logs['eval_accuracy']:.3f}")
            control.should_training_stop = True
        return control


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
    from nuri.train.precision import trained_precision
    from nuri.train.worker import plain_process

    setup_seconds = time.time() - started  # model and data loading, trainer construction
    resume = resume_checkpoint()
    t_eval = time.perf_counter()
    if resume and (Path(resume) / FACTS_FILE).exists():
        facts = json.loads((Path(resume) / FACTS_FILE).read_text())
    else:
        facts = {"eval_loss_before": trainer.evaluate()["eval_loss"]}
    eval_seconds = time.perf_counter() - t_eval
    from nuri.train.stopping import StopRecorder

    stage = stage_config(cfg)
    recorder = StopRecorder()
    trainer.add_callback(_SaveFacts(facts))
    trainer.add_callback(StageMetrics(tokens_per_example))
    if stage is not None:
        trainer.add_callback(StopCriteria(stage, recorder))
    if not plain_process():
        from ray.train.huggingface.transformers import RayTrainReportCallback

        trainer.add_callback(RayTrainReportCallback())
    if cfg.get("inject_failure_at_step"):
        marker = os.path.join(cfg["failure_marker_dir"], "failed-once")
        trainer.add_callback(FailOnceAtStep(int(cfg["inject_failure_at_step"]), marker))
    if not plain_process():
        from ray.train.huggingface.transformers import prepare_trainer

        trainer = prepare_trainer(trainer)

    t0 = time.perf_counter()
    out = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - t0
    t_eval = time.perf_counter()
    eval_after = trainer.evaluate()["eval_loss"]
    eval_seconds += time.perf_counter() - t_eval
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
        "setup_seconds": setup_seconds,
        "eval_seconds": eval_seconds,  # held-out loss before and after training
        # Whether the trainer wrapped the model in DistributedDataParallel (runtime.trainer_for:
        # only with several workers).
        "ddp": type(trainer.model_wrapped).__name__ == "DistributedDataParallel",
        "train_samples_per_second": out.metrics.get("train_samples_per_second", float("nan")),
        "precision": trained_precision(trainer.args),
    }
    tps = [e["tokens_per_second"] for e in history if "tokens_per_second" in e]
    if tokens_per_example:
        metrics["train_tokens_per_second"] = metrics["train_samples_per_second"] * tokens_per_example
    elif tps:
        metrics["train_tokens_per_second"] = sum(tps) / len(tps)
    if stage is not None:
        metrics.update(recorder.final(trainer.state.global_step, stage.max_steps))
    if extra_metrics:
        metrics.update(extra_metrics(trainer))
    report_final(lambda dest: save_merged(trainer, tokenizer, dest), metrics, history, started)


def stage_config(cfg: dict):
    """The stage's config section, when the loop config names the stage."""
    if not cfg.get("stage") or cfg["stage"] not in ("pretrain", "sft", "reward"):
        return None
    from nuri.config import DomainConfig

    return getattr(DomainConfig.from_json(cfg["config"]).stages, cfg["stage"])

