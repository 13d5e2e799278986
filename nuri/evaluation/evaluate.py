"""The evaluation stage: held-out perplexity of every model along the chain, reward-model
accuracy on held-out pairs, reward of PPO vs SFT answers on held-out prompts, and
multiple-choice domain knowledge."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from nuri.config import DomainConfig
from nuri.data.records import Document, KnowledgeRecord, SftRecord, read_jsonl
from nuri.evaluation.scoring import (choice_accuracy, generate_answers, pairwise_accuracy, perplexity,
                                     reward_scores)

log = logging.getLogger(__name__)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def evaluate(config: DomainConfig, data_dir: Path, models: dict[str, Path], reward_dir: Path,
             out_dir: Path) -> tuple[dict, list[dict]]:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(config.runtime.seed)
    ev = config.evaluation
    system = config.serving.system_prompt
    texts = [d.text for d in read_jsonl(data_dir / "corpus_heldout.jsonl", Document)][: ev.max_eval_docs]
    block = config.stages.pretrain.seq_len
    metrics: dict[str, float] = {}
    loaded = {}
    for name, path in models.items():
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        loaded[name] = (model, tok)
        metrics[f"perplexity_{name}"] = perplexity(model, tok, texts, block)
        log.info("held-out perplexity %s: %.2f", name, metrics[f"perplexity_{name}"])

    rm_tok = AutoTokenizer.from_pretrained(reward_dir)
    rm = AutoModelForSequenceClassification.from_pretrained(reward_dir, num_labels=1, dtype=torch.float32)
    rm.config.pad_token_id = rm_tok.pad_token_id
    max_len = config.stages.reward.max_length
    metrics["reward_accuracy"] = pairwise_accuracy(rm, rm_tok, data_dir / "pairs_heldout.jsonl", system, max_len)

    heldout = [r for r in read_jsonl(data_dir / "sft_heldout.jsonl", SftRecord)]
    prompts = [r.prompt for r in heldout][: ev.reward_prompts]
    answers = {}
    for name in ("sft", "ppo"):
        model, tok = loaded[name]
        answers[name] = generate_answers(model, tok, prompts, system, ev.max_new_tokens)
        scores = reward_scores(rm, rm_tok, prompts, answers[name], system, max_len)
        metrics[f"reward_{name}"] = _mean(scores)
        # A policy that answers every prompt alike has found a way to please the reward
        # model, not the user (reward hacking / mode collapse): measured, and gateable.
        metrics[f"answer_diversity_{name}"] = len(set(answers[name])) / max(len(answers[name]), 1)
    metrics["ppo_reward_gain"] = metrics["reward_ppo"] - metrics["reward_sft"]
    reference = [r.answer for r in heldout][: ev.reward_prompts]
    metrics["reward_reference"] = _mean(reward_scores(rm, rm_tok, prompts, reference, system, max_len))

    knowledge = data_dir / "knowledge.jsonl"
    if knowledge.exists():
        items = [r.model_dump() for r in read_jsonl(knowledge, KnowledgeRecord)]
        for name in ("base", "ppo"):
            model, tok = loaded[name]
            metrics[f"knowledge_accuracy{'' if name == 'ppo' else '_' + name}"] = choice_accuracy(
                model, tok, items, system)
        metrics["knowledge_chance"] = _mean([1 / len(i["choices"]) for i in items])
    metrics["heldout_docs"] = len(texts)
    metrics["reward_prompts"] = len(prompts)

    samples = [{"prompt": p, "sft": s, "ppo": q} for p, s, q in zip(prompts, answers["sft"], answers["ppo"])][:3]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "answers.json").write_text(json.dumps(
        [{"prompt": p, "reference": r, "sft": s, "ppo": q}
         for p, r, s, q in zip(prompts, reference, answers["sft"], answers["ppo"])], ensure_ascii=False, indent=2))
    plot_evaluation(metrics, out_dir / "evaluation.png", config.name)
    return metrics, samples


def plot_evaluation(metrics: dict, path: Path, domain: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    names = [k.removeprefix("perplexity_") for k in metrics if k.startswith("perplexity_")]
    a.bar(names, [metrics[f"perplexity_{n}"] for n in names], color="#4c72b0")
    a.set_yscale("log")
    a.set_title("held-out perplexity (lower is better)")
    keys = [k for k in ("reward_sft", "reward_ppo", "reward_reference") if k in metrics]
    b.bar([k.removeprefix("reward_") for k in keys], [metrics[k] for k in keys], color="#55a868")
    b.set_title(f"mean reward on held-out prompts (RM acc {metrics['reward_accuracy']:.2f})")
    fig.suptitle(f"{domain}: evaluation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
