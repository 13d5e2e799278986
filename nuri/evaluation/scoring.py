"""Model arithmetic shared by training (held-out checks) and evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from nuri.model.tokenizer import document_stream


def chat_text(tokenizer, prompt: str, answer: str | None = None, system: str = "") -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    if answer is None:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    messages.append({"role": "assistant", "content": answer})
    return tokenizer.apply_chat_template(messages, tokenize=False)


@torch.no_grad()
def reward_scores(model, tokenizer, prompts: list[str], answers: list[str], system: str = "",
                  max_length: int = 256, batch_size: int = 16) -> list[float]:
    model.eval()
    texts = [chat_text(tokenizer, p, a, system) for p, a in zip(prompts, answers)]
    scores: list[float] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "right"  # the classifier reads the last non-pad token
    try:
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i:i + batch_size], return_tensors="pt", padding=True,
                            truncation=True, max_length=max_length, add_special_tokens=False)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            scores.extend(model(**enc).logits[:, 0].float().tolist())
    finally:
        tokenizer.padding_side = side
    return scores


def pairwise_accuracy(model, tokenizer, pairs_path: Path, system: str = "",
                      max_length: int = 256) -> tuple[float, dict[str, tuple[float, int]]]:
    """Share of (chosen, rejected) pairs where the reward model scores chosen higher, in
    all and per kind of rejected answer: {kind: (accuracy, pairs)}."""
    from nuri.data.kinds import UNLABELLED

    rows = [json.loads(line) for line in Path(pairs_path).open(encoding="utf-8") if line.strip()]
    if not rows:
        return float("nan"), {}
    prompts = [r["prompt"] for r in rows]
    chosen = reward_scores(model, tokenizer, prompts, [r["chosen"] for r in rows], system, max_length)
    rejected = reward_scores(model, tokenizer, prompts, [r["rejected"] for r in rows], system, max_length)
    right = [c > r for c, r in zip(chosen, rejected)]
    by_kind: dict[str, list[bool]] = {}
    for row, ok in zip(rows, right):
        by_kind.setdefault(row.get("kind", UNLABELLED), []).append(ok)
    return sum(right) / len(rows), {k: (sum(v) / len(v), len(v)) for k, v in sorted(by_kind.items())}


@torch.no_grad()
def perplexity(model, tokenizer, texts: list[str], block: int = 256, batch_size: int = 8) -> float:
    """Token-level perplexity over the texts packed into blocks (as in pretraining)."""
    model.eval()
    ids = document_stream(tokenizer, texts)
    blocks = [ids[i:i + block] for i in range(0, len(ids) - 1, block)]
    blocks = [b for b in blocks if len(b) > 1]
    total_loss, total_tokens = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        batch = blocks[i:i + batch_size]
        width = max(len(b) for b in batch)
        inp = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        for j, b in enumerate(batch):
            inp[j, :len(b)] = torch.tensor(b)
            labels[j, :len(b)] = torch.tensor(b)
        attn = (labels != -100).long()
        out = model(input_ids=inp.to(model.device), attention_mask=attn.to(model.device),
                    labels=labels.to(model.device))
        n = int((labels[:, 1:] != -100).sum())
        total_loss += float(out.loss) * n
        total_tokens += n
    return math.exp(min(total_loss / max(total_tokens, 1), 50))


@torch.no_grad()
def generate_answers(model, tokenizer, prompts: list[str], system: str = "", max_new_tokens: int = 48,
                     temperature: float = 0.0, batch_size: int = 16, seed: int = 0, chat: bool = True) -> list[str]:
    """Greedy (or sampled) answers. chat=False continues each prompt as plain text, with
    no chat template: the way a memorised document would come back."""
    model.eval()
    torch.manual_seed(seed)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the right edge
    answers: list[str] = []
    try:
        for i in range(0, len(prompts), batch_size):
            batch = prompts[i:i + batch_size]
            texts = [chat_text(tokenizer, p, None, system) for p in batch] if chat else batch
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            sample = temperature > 0
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=sample,
                                 temperature=temperature if sample else None, top_p=None, top_k=None,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
            new = out[:, enc["input_ids"].shape[1]:]
            answers.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
    return [a.strip() for a in answers]


def paired_reward_gain(policy, reference, reward_model, tokenizer, prompts: list[str], system: str = "",
                       max_new_tokens: int = 32, max_length: int = 256) -> dict[str, float]:
    """The reward of the policy's greedy answers minus the reference's, on the same
    prompts: paired, so the prompts' own spread cancels out (training batches differ in
    their prompts, and their mean reward moves by more than a cautious policy gains)."""
    ours = reward_scores(reward_model, tokenizer, prompts,
                         generate_answers(policy, tokenizer, prompts, system, max_new_tokens), system, max_length)
    theirs = reward_scores(reward_model, tokenizer, prompts,
                           generate_answers(reference, tokenizer, prompts, system, max_new_tokens), system, max_length)
    n = max(len(prompts), 1)
    return {"reward_policy": sum(ours) / n, "reward_sft_start": sum(theirs) / n,
            "reward_gain": (sum(ours) - sum(theirs)) / n}


@torch.no_grad()
def choice_scores(model, tokenizer, items: list[dict], system: str = "") -> list[list[float]]:
    """Each choice's mean log-likelihood per token as the answer to the item's question
    (chat-formatted, after the system message): one list per item, in choice order. An
    item's choices are scored in one padded batch; a choice of no tokens scores -1e9."""
    model.eval()
    scores: list[list[float]] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "right"  # choices start right after the shared prefix
    try:
        for item in items:
            prefix = chat_text(tokenizer, item["question"], None, system)
            start = len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
            enc = tokenizer([prefix + c for c in item["choices"]], return_tensors="pt", padding=True,
                            add_special_tokens=False)
            ids, mask = enc["input_ids"].to(model.device), enc["attention_mask"].to(model.device)
            logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)
            token_lp = logp.gather(2, ids[:, 1:, None])[..., 0]
            scored = mask[:, 1:].clone()
            scored[:, : start - 1] = 0  # only the choice's own tokens count
            counts = scored.sum(1)
            means = (token_lp * scored).sum(1) / counts.clamp(min=1)
            means[counts == 0] = -1e9
            scores.append(means.tolist())
    finally:
        tokenizer.padding_side = side
    return scores


def choice_accuracy(model, tokenizer, items: list[dict], system: str = "") -> float:
    """Multiple-choice accuracy: the choice with the highest mean log-likelihood as the
    answer to the question wins (the first of equals, as torch.argmax)."""
    scores = choice_scores(model, tokenizer, items, system)
    correct = sum(int(s.index(max(s)) == item["answer"]) for s, item in zip(scores, items))
    return correct / len(items) if items else float("nan")
