"""Supervised fine-tuning on prompt/answer pairs in the model's chat format, loss on the
answer only (TRL's SFTTrainer with a prompt-completion dataset)."""

from __future__ import annotations

import time
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.records import SftRecord, read_jsonl


def chat_dataset(records: list[SftRecord], system_prompt: str = ""):
    from datasets import Dataset

    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return Dataset.from_list([
        {"prompt": system + [{"role": "user", "content": r.prompt}],
         "completion": [{"role": "assistant", "content": r.answer}]} for r in records])


def sft_loop(cfg: dict) -> None:
    started = time.time()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from nuri.train.hf import common_training_args, peft_config, scratch_dir, train_and_report

    config = DomainConfig.from_json(cfg["config"])
    stage = config.stages.sft
    data = Path(cfg["data_dir"])
    tokenizer = AutoTokenizer.from_pretrained(cfg["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(cfg["model_dir"], dtype=torch.float32)
    system = config.serving.system_prompt
    train_ds = chat_dataset(read_jsonl(data / "sft_train.jsonl", SftRecord), system)
    eval_ds = chat_dataset(read_jsonl(data / "sft_heldout.jsonl", SftRecord), system)
    args = SFTConfig(**common_training_args(stage, config.runtime.seed, cfg["precision"], scratch_dir(),
                                            config.runtime.use_gpu,
        config.runtime.memory_saving),
                     max_length=stage.max_length, packing=False, completion_only_loss=True,
                     dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=peft_config(stage.lora, "CAUSAL_LM"))
    train_and_report(trainer, tokenizer, cfg, started,
                     extra_metrics=lambda _: {"train_examples": len(train_ds), "eval_examples": len(eval_ds)})
