"""The starting point of continued pretraining: either a pretrained HF causal LM from a
local folder or object store, or (for the sample domain) a small Llama initialised
from config with a tokenizer trained on the domain's text."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from nuri.config import DomainConfig
from nuri.data.records import Document, SftRecord, read_jsonl
from nuri.errors import DataError
from nuri.model.tokenizer import CHAT_TEMPLATE, train_tokenizer
from nuri.storage import materialize

log = logging.getLogger(__name__)


def _tokenizer_texts(data_dir: Path):
    for d in read_jsonl(data_dir / "corpus_train.jsonl", Document):
        yield d.text
    for r in read_jsonl(data_dir / "sft_train.jsonl", SftRecord):
        yield r.prompt
        yield r.answer
    for line in (data_dir / "preferences_train.jsonl").open(encoding="utf-8"):
        rec = json.loads(line)
        yield rec["prompt"]
        yield from rec["answers"]


def build_base_model(config: DomainConfig, data_dir: Path, out_dir: Path) -> dict:
    """Writes a HF model folder (weights + tokenizer) to out_dir; returns facts about it."""
    out_dir = Path(out_dir)
    torch.manual_seed(config.runtime.seed)
    if config.base_model.source == "pretrained":
        with tempfile.TemporaryDirectory() as cache:
            src = materialize(config.base_model.path, Path(cache))
            if not (src / "config.json").is_file():
                raise DataError(f"{config.base_model.path}: not a Hugging Face model folder (no config.json)")
            tokenizer = AutoTokenizer.from_pretrained(src)
            model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            if not tokenizer.chat_template:
                tokenizer.chat_template = CHAT_TEMPLATE
            kind = f"pretrained:{config.base_model.path}"
    else:
        init = config.base_model.init
        tokenizer = train_tokenizer(_tokenizer_texts(data_dir), vocab_size=init.vocab_size)
        model = LlamaForCausalLM(LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=init.hidden_size,
            num_hidden_layers=init.num_layers, num_attention_heads=init.num_heads,
            num_key_value_heads=init.num_heads, intermediate_size=init.intermediate_size,
            max_position_embeddings=init.max_position_embeddings, tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id))
        kind = "initialised from config"
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    if out_dir.exists():
        shutil.rmtree(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    facts = {"kind": kind, "parameters": sum(p.numel() for p in model.parameters()),
             "vocab_size": len(tokenizer), "architecture": model.config.model_type}
    log.info("base model: %s, %.2fM parameters, vocabulary %d", kind, facts["parameters"] / 1e6,
             facts["vocab_size"])
    return facts
