"""Deterministic generator for the bundled "welfare" sample domain."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from .corpus import generate_corpus
from .datasets import (
    ASPECTS, COMPLY, COMPLY_BY_CAT, DECLINES, EVASIVE, OFFDOMAIN_ANSWERS, RUDE, basic_items, domain_answer, domain_prompt,
    harmful_items, long_evasive, offdomain_prompts, offtopic_answer, pick_balanced, rude_with_facts, wrong_fact_answer,
)
from .knowledge import PROGRAMMES, Programme

DEFAULT_SEED = 20240601

N_CORPUS_UNIQUE = 640
N_CORPUS_DUP = 20
N_SFT_DOMAIN = 760
N_SFT_HARMFUL = 100
N_SFT_OFFDOMAIN = 100
N_SFT_BASIC = 100
N_PREF = 500
N_SAFETY = 80
N_OFFDOMAIN = 50
N_EVAL = 60


def _jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _domain_pairs(rng: random.Random, n: int, exclude: set[str], situational: float = 0.0) -> list[tuple[Programme, str, str]]:
    """n distinct (programme, aspect, prompt) triples, cycling evenly over programmes and aspects."""
    out: list[tuple[Programme, str, str]] = []
    seen = set(exclude)
    combos = [(p, a) for p in PROGRAMMES for a in ASPECTS]
    tries = 0
    while len(out) < n and tries < n * 100:
        rng.shuffle(combos)
        for p, a in combos:
            tries += 1
            q = domain_prompt(p, a, rng, situational)
            if q in seen:
                continue
            seen.add(q)
            out.append((p, a, q))
            if len(out) >= n:
                break
    return out


def build(seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Build every artefact in memory. Returns a dict name -> content."""
    rng = random.Random(seed)
    corpus_rng = random.Random(rng.getrandbits(64))
    sft_rng = random.Random(rng.getrandbits(64))
    pref_rng = random.Random(rng.getrandbits(64))
    safety_rng = random.Random(rng.getrandbits(64))
    eval_rng = random.Random(rng.getrandbits(64))

    docs, corpus_stats = generate_corpus(corpus_rng, N_CORPUS_UNIQUE, N_CORPUS_DUP)

    # ---- harmful / off-domain pools shared (disjointly) by sft, prefs, safety
    harm = harmful_items(safety_rng)
    used: set[str] = set()
    safety_items = pick_balanced(harm, N_SAFETY, safety_rng, used)
    sft_harm = pick_balanced(harm, N_SFT_HARMFUL, safety_rng, used)
    pref_harm = pick_balanced(harm, 60, safety_rng, used)

    off = offdomain_prompts(safety_rng)
    off_set, off_sft, off_pref = off[:N_OFFDOMAIN], off[N_OFFDOMAIN:N_OFFDOMAIN + N_SFT_OFFDOMAIN], off[N_OFFDOMAIN + N_SFT_OFFDOMAIN:]

    # ---- SFT
    sft: list[dict] = []
    for p, a, q in _domain_pairs(sft_rng, N_SFT_DOMAIN, set(), situational=0.2):
        sft.append({"prompt": q, "answer": domain_answer(p, a, sft_rng), "category": "domain"})
    for prompt, _cat, refusal in sft_harm:
        sft.append({"prompt": prompt, "answer": refusal, "category": "refusal_harmful"})
    for prompt in off_sft:
        sft.append({"prompt": prompt, "answer": sft_rng.choice(DECLINES), "category": "refusal_offdomain"})
    for prompt, ans in basic_items(sft_rng, N_SFT_BASIC):
        sft.append({"prompt": prompt, "answer": ans, "category": "basic"})
    sft_rng.shuffle(sft)
    sft_prompts = {r["prompt"] for r in sft}

    # ---- preferences
    prefs: list[dict] = []
    n_off = min(len(off_pref), 50)
    n_harm = len(pref_harm)
    n_dom = N_PREF - n_off - n_harm
    for p, a, q in _domain_pairs(pref_rng, n_dom, sft_prompts, situational=0.5):
        good = domain_answer(p, a, pref_rng, decorate=pref_rng.random() < 0.6)
        bad_pool = [
            ("wrong", wrong_fact_answer(p, a, pref_rng)),
            ("evasive", pref_rng.choice([pref_rng.choice(EVASIVE), long_evasive(p, pref_rng)])),
            ("rude", pref_rng.choice([pref_rng.choice(RUDE), rude_with_facts(p, a, pref_rng)])),
            ("offtopic", offtopic_answer(pref_rng)),
        ]
        pref_rng.shuffle(bad_pool)
        k = pref_rng.choice([2, 3])
        bads = [b for _, b in bad_pool[:k] if b != good]
        prefs.append(_pref_row(q, good, bads, pref_rng))
    for prompt, cat, refusal in pref_harm:
        bads = [pref_rng.choice(COMPLY_BY_CAT[cat] + COMPLY), pref_rng.choice(EVASIVE), pref_rng.choice(RUDE)]
        if pref_rng.random() < 0.5:
            bads[0] = pref_rng.choice(COMPLY_BY_CAT[cat])
        pref_rng.shuffle(bads)
        prefs.append(_pref_row(prompt, refusal, bads[: pref_rng.choice([2, 3])], pref_rng))
    for prompt in off_pref[:n_off]:
        bads = [pref_rng.choice(OFFDOMAIN_ANSWERS), pref_rng.choice(RUDE), pref_rng.choice(EVASIVE)]
        pref_rng.shuffle(bads)
        prefs.append(_pref_row(prompt, pref_rng.choice(DECLINES), bads[: pref_rng.choice([2, 3])], pref_rng))
    pref_rng.shuffle(prefs)

    # ---- safety / off-domain filtering sets
    safety = [{"prompt": q, "category": c, "refusal": r} for q, c, r in safety_items]
    offdomain = [{"prompt": q, "decline": safety_rng.choice(DECLINES)} for q in off_set]

    # ---- knowledge eval
    evals = _eval_items(eval_rng, N_EVAL)

    return {
        "corpus": docs,
        "corpus_stats": corpus_stats,
        "sft.jsonl": sft,
        "preferences.jsonl": prefs,
        "safety.jsonl": safety,
        "offdomain.jsonl": offdomain,
        "eval_knowledge.jsonl": evals,
    }


def _pref_row(prompt: str, good: str, bads: list[str], rng: random.Random) -> dict:
    answers = list(dict.fromkeys(bads))
    idx = rng.randint(0, len(answers))
    answers.insert(idx, good)
    return {"prompt": prompt, "answers": answers, "chosen": idx}


EVAL_ASPECTS = {
    "ministry": ("{n}의 소관 부처는 어디입니까?", lambda p: p.ministry),
    "amount": ("{n}의 지원 금액으로 옳은 것은?", lambda p: p.amount),
    "start": ("{n:은} 몇 년에 시행되었습니까?", lambda p: f"{p.start}년"),
    "target": ("{n}의 지원 대상으로 옳은 것은?", lambda p: p.target),
    "income": ("{n}의 소득 기준으로 옳은 것은?", lambda p: p.income),
    "phone": ("{n} 관련 문의처로 안내되는 곳은?", lambda p: p.phone),
}


def _eval_items(rng: random.Random, n: int) -> list[dict]:
    from .text import fill

    combos = [(p, a) for p in PROGRAMMES for a in EVAL_ASPECTS]
    rng.shuffle(combos)
    out: list[dict] = []
    seen_q: set[str] = set()
    per_prog: dict[str, int] = {}
    for p, a in combos:
        qt, get = EVAL_ASPECTS[a]
        correct = get(p)
        if correct is None or per_prog.get(p.key, 0) >= 2:
            continue
        others = list(dict.fromkeys(v for v in (get(q) for q in PROGRAMMES if q.key != p.key) if v and v != correct))
        if len(others) < 3:
            continue
        choices = rng.sample(others, 3)
        idx = rng.randint(0, 3)
        choices.insert(idx, correct)
        q = fill(qt, n=p.name)
        if q in seen_q:
            continue
        seen_q.add(q)
        per_prog[p.key] = per_prog.get(p.key, 0) + 1
        out.append({"question": q, "choices": choices, "answer": idx})
        if len(out) >= n:
            break
    return out


def write(out_dir: str | Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Generate into out_dir (the `data` directory). Returns counts."""
    out = Path(out_dir)
    data = build(seed)
    corpus_dir = out / "corpus"
    if corpus_dir.exists():
        shutil.rmtree(corpus_dir)
    corpus_dir.mkdir(parents=True)
    docs: list[str] = data["corpus"]  # type: ignore[assignment]
    for i, text in enumerate(docs, 1):
        (corpus_dir / f"{i:04d}.txt").write_text(text, encoding="utf-8", newline="\n")
    counts: dict[str, int] = {"corpus_docs": len(docs), "corpus_bytes": sum(len(d.encode("utf-8")) for d in docs)}
    for name in ("sft.jsonl", "preferences.jsonl", "safety.jsonl", "offdomain.jsonl", "eval_knowledge.jsonl"):
        rows: list[dict] = data[name]  # type: ignore[assignment]
        _jsonl(out / name, rows)
        counts[name] = len(rows)
    stats: dict = data["corpus_stats"]  # type: ignore[assignment]
    counts["corpus_duplicates"] = stats["duplicates"]
    counts["corpus_pii_docs"] = stats["pii_docs"]
    return counts


__all__ = ["build", "write", "DEFAULT_SEED"]
