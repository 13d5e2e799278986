"""Domain-adaptive continued pretraining: causal-LM loss on the ministry's documents,
packed into fixed-length blocks (no padding is wasted)."""

from __future__ import annotations

import time
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.records import Document, read_jsonl


def pack(tokenizer, texts: list[str], block: int):
    """Concatenates token ids (each document ends with EOS) and cuts full blocks."""
    from datasets import Dataset

    from nuri.model.tokenizer import document_stream

    ids = document_stream(tokenizer, texts)
    n = len(ids) // block
    blocks = [ids[i * block:(i + 1) * block] for i in range(n)]
    return Dataset.from_dict({"input_ids": blocks, "labels": blocks})


def pretrain_loop(cfg: dict) -> None:
    started = time.time()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, \
        default_data_collator

    from nuri.train.hf import common_training_args, peft_config, scratch_dir, train_and_report

    config = DomainConfig.from_json(cfg["config"])
    stage = config.stages.pretrain
    data = Path(cfg["data_dir"])
    tokenizer = AutoTokenizer.from_pretrained(cfg["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(cfg["model_dir"], dtype=torch.float32)
    lora = peft_config(stage.lora, "CAUSAL_LM")
    if lora:
        from peft import get_peft_model

        model = get_peft_model(model, lora)
    train_texts = [d.text for d in read_jsonl(data / "corpus_train.jsonl", Document)]
    eval_texts = [d.text for d in read_jsonl(data / "corpus_heldout.jsonl", Document)]
    eval_texts = eval_texts[: config.evaluation.max_eval_docs]
    train_ds = pack(tokenizer, train_texts, stage.seq_len)
    eval_ds = pack(tokenizer, eval_texts, stage.seq_len)
    args = TrainingArguments(**common_training_args(
        stage, config.runtime.seed, cfg["precision"], scratch_dir(), config.runtime.use_gpu,
        config.runtime.memory_saving))
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                      data_collator=default_data_collator)
    train_and_report(trainer, tokenizer, cfg, started, tokens_per_example=stage.seq_len,
                     extra_metrics=lambda _: {"train_blocks": len(train_ds), "eval_blocks": len(eval_ds)})
