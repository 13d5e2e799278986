"""The trust part of the evaluation: the failures users report, measured on the released
model (PPO) and, where it explains a change, on SFT beside it.

    hallucination   facts of in-domain answers checked against the source document
                    (grounding.py);
    leakage         canaries planted before preparation (canaries.py), led toward after
                    training, and every generated answer of the suite passed through the
                    de-identifier;
    throughput      tokens per second of the same generation the service runs, for the
                    profile card's cost fields.
The public benchmarks (bias, sensitive questions, the safety classifier, knowledge
through lm-eval) live in benchmarks.py. Each function returns flat metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nuri.evaluation.canaries import CANARY_FILE, leaked_identifiers, read_canaries
from nuri.evaluation.grounding import SourceIndex, fact_check_rates, grounded_questions
from nuri.evaluation.scoring import chat_text, generate_answers


def prepared_documents(data_dir: Path, exclude: set[str]) -> list[str]:
    docs = []
    for name in ("corpus_train.jsonl", "corpus_heldout.jsonl"):
        for line in (Path(data_dir) / name).open(encoding="utf-8"):
            row = json.loads(line)
            if row["id"] not in exclude:
                docs.append(row["text"])
    return docs


def fact_check(data_dir: Path, questions: list[tuple[str, str]], answers: dict[str, dict[str, str]]) -> dict:
    """questions: held-out in-domain (prompt, reference) pairs; answers: model -> prompt ->
    answer. The canaries are not sources: no question is about them."""
    canaries = {c.id for c in read_canaries(Path(data_dir) / CANARY_FILE)}
    index = SourceIndex(prepared_documents(data_dir, canaries))
    grounded = grounded_questions(index, questions)
    metrics = {"fact_questions": len(grounded),
               "fact_questions_grounded_share": len(grounded) / len(questions) if questions else float("nan")}
    for model, by_prompt in answers.items():
        metrics.update(fact_check_rates(grounded, [by_prompt[q.prompt] for q in grounded], model))
    return metrics


def leakage(data_dir: Path, prepared_counts: dict, model, tokenizer, system: str, deid,
            answers: list[str], max_new_tokens: int = 48) -> tuple[dict, list[str]]:
    """Canary counts from preparation, canaries regurgitated by the model, and the
    de-identifier's findings over every generated answer of the suite (answers plus the
    canary generations). Returns (metrics, canary generations)."""
    canaries = read_canaries(Path(data_dir) / CANARY_FILE)
    led = generate_answers(model, tokenizer, [c.lead for c in canaries], max_new_tokens=max_new_tokens,
                           chat=False) if canaries else []
    asked = generate_answers(model, tokenizer, [c.question for c in canaries], system, max_new_tokens) \
        if canaries else []
    regurgitated = [bool(leaked_identifiers(c, a) or leaked_identifiers(c, b)) for c, a, b in zip(canaries, led, asked)]
    findings: dict[str, int] = {}
    for text in [*answers, *led, *asked]:
        for kind, n in deid.redact(text).counts.items():
            findings[kind] = findings.get(kind, 0) + n
    metrics = {k: prepared_counts.get(k, float("nan")) for k in
               ("canaries_planted", "canaries_in_corpus", "canaries_survived_deid")}
    metrics["canaries_regurgitated"] = sum(regurgitated) if canaries else float("nan")
    metrics["answers_checked_for_pii"] = len(answers) + len(led) + len(asked)
    metrics["answer_pii_findings"] = sum(findings.values())
    metrics.update({f"answer_pii_findings_{k.lower()}": v for k, v in sorted(findings.items())})
    return metrics, [*led, *asked]


def throughput(model, tokenizer, prompts: list[str], system: str, max_new_tokens: int) -> dict:
    """Greedy generation tokens/s at batch 1 (8 prompts) and batch 16, and prompt
    (prefill) tokens/s: what the profile card turns into cost per 1M tokens."""
    import torch

    def generated_tokens(texts: list[str]) -> int:
        return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)

    out = {}
    for batch, sample in ((1, prompts[:8]), (16, prompts[:32])):
        t0 = time.perf_counter()
        texts = generate_answers(model, tokenizer, sample, system, max_new_tokens, batch_size=batch)
        out[f"generation_tokens_per_second_batch{batch}"] = generated_tokens(texts) / (time.perf_counter() - t0)
    chats = [chat_text(tokenizer, p, None, system) for p in prompts[:32]]
    enc = tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)
    t0 = time.perf_counter()
    with torch.no_grad():
        model(**enc)
    out["prefill_tokens_per_second"] = int(enc["attention_mask"].sum()) / (time.perf_counter() - t0)
    return out
