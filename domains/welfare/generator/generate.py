"""Deterministic generator for the bundled "welfare" sample domain."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from .corpus import generate_corpus
from .datasets import ASPECTS, basic_items, domain_answer, domain_prompt, harmful_items, offdomain_items, pick_balanced
from .knowledge import PROGRAMMES, Programme
from .responses import (answers_off_domain, decline, evasive_answer, garbled_answer, harmful_compliance,
                        other_programme_answer, pii_question, pii_repeat_answer, pii_safe_answer, refusal_in_domain,
                        rude_answer,
                        wrong_aspect_answer, wrong_fact_answer)
from .text import fill

DEFAULT_SEED = 20240601

N_CORPUS_UNIQUE = 640
N_CORPUS_DUP = 20
N_SFT_DOMAIN = 760
N_SFT_HARMFUL = 50
N_SFT_OFFDOMAIN = 80
N_SFT_BASIC = 100
N_PREF_DOMAIN = 390
N_PREF_HARMFUL = 70
N_PREF_OFFDOMAIN = 120
# safety.jsonl and offdomain.jsonl join the SFT set too; they are larger than the SFT
# file's own refusals so that the held-out share (~10%) gives ~20 prompts of each kind
# to measure decline and refusal rates on.
N_SAFETY = 150
N_OFFDOMAIN = 150
N_EVAL = 60
PII_SHARE = 0.3  # in-domain preference prompts that carry the asker's personal data


def _jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _domain_pairs(rng: random.Random, n: int, exclude: set[str],
                  situational: float = 0.0) -> list[tuple[Programme, str, str, str]]:
    """n distinct (programme, aspect, prompt, name used) tuples, cycling evenly over
    programmes and aspects."""
    out: list[tuple[Programme, str, str, str]] = []
    seen = set(exclude)
    combos = [(p, a) for p in PROGRAMMES for a in ASPECTS]
    tries = 0
    while len(out) < n and tries < n * 100:
        rng.shuffle(combos)
        for p, a in combos:
            tries += 1
            name = rng.choice([p.name, p.short])
            q = domain_prompt(p, a, rng, situational, n=name)
            if q in seen:
                continue
            seen.add(q)
            out.append((p, a, q, name))
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
    total = N_SAFETY + N_SFT_HARMFUL + N_PREF_HARMFUL
    safety_items = pick_balanced(harm, N_SAFETY, used, N_SAFETY / total)
    sft_harm = pick_balanced(harm, N_SFT_HARMFUL, used, N_SFT_HARMFUL / total)
    pref_harm = pick_balanced(harm, N_PREF_HARMFUL, used, N_PREF_HARMFUL / total)

    off = offdomain_items(safety_rng)
    cut1, cut2 = N_OFFDOMAIN, N_OFFDOMAIN + N_SFT_OFFDOMAIN
    off_set, off_sft, off_pref = off[:cut1], off[cut1:cut2], off[cut2:cut2 + N_PREF_OFFDOMAIN]

    # ---- SFT
    sft: list[dict] = []
    for p, a, q, name in _domain_pairs(sft_rng, N_SFT_DOMAIN, set(), situational=0.2):
        sft.append({"prompt": q, "answer": domain_answer(p, a, sft_rng, n=name), "category": "domain"})
    for prompt, _cat, refusal in sft_harm:
        sft.append({"prompt": prompt, "answer": refusal, "category": "refusal_harmful"})
    for prompt, _topic in off_sft:
        sft.append({"prompt": prompt, "answer": decline(sft_rng), "category": "refusal_offdomain"})
    for prompt, ans in basic_items(sft_rng, N_SFT_BASIC):
        sft.append({"prompt": prompt, "answer": ans, "category": "basic"})
    sft_rng.shuffle(sft)
    sft_prompts = {r["prompt"] for r in sft}

    # ---- preferences: a chosen answer and 2-3 rejected ones, each with its kind
    # (nuri.data.kinds): the hard cases a user reports, each composed afresh per prompt.
    prefs: list[dict] = []
    for p, a, q, name in _domain_pairs(pref_rng, N_PREF_DOMAIN, sft_prompts, situational=0.5):
        good = domain_answer(p, a, pref_rng, decorate=pref_rng.random() < 0.6, n=name)
        bad = {
            "decline_in_domain": decline(pref_rng),
            "refusal_in_domain": refusal_in_domain(p, pref_rng, name),
            "evasive": evasive_answer(pref_rng, name),
            "other_programme": other_programme_answer(p, a, pref_rng),
            "wrong_fact": wrong_fact_answer(p, a, pref_rng, name),
            "wrong_aspect": wrong_aspect_answer(p, a, pref_rng, name),
            "rude": rude_answer(p, a, pref_rng, name),
            "garbled": garbled_answer(good, pref_rng),
        }
        # Evasion is the failure users report most and the one PPO drifts into where the
        # reward model is unsure: every in-domain prompt has a decline or a refusal among
        # its rejected answers, beside two other kinds.
        evasion = pref_rng.choice(["decline_in_domain", "refusal_in_domain"])
        kinds = [evasion] + pref_rng.sample(sorted(k for k in bad if k not in ("decline_in_domain", "refusal_in_domain")), 2)
        if pref_rng.random() < PII_SHARE:
            q, pii = pii_question(q, pref_rng)
            bad["pii_repeat"] = pii_repeat_answer(good, pii, pref_rng)
            good = pii_safe_answer(good, pref_rng)
            kinds[-1] = "pii_repeat"
        prefs.append(_pref_row(q, (good, "answer"), [(bad[k], k) for k in kinds], pref_rng))
    for prompt, cat, refusal in pref_harm:
        name = next((x for pr in PROGRAMMES for x in (pr.name, pr.short) if x in prompt), "그 제도")
        bads = [(t, "harmful_compliance") for t in _distinct(lambda: harmful_compliance(cat, pref_rng, name), 2)]
        if pref_rng.random() < 0.5:
            bads.append((evasive_answer(pref_rng, name), "evasive"))
        prefs.append(_pref_row(prompt, (refusal, "refusal"), bads, pref_rng))
    for prompt, topic in off_pref:
        # Answering on the question's own subject, and answering with the domain's facts
        # anyway: a policy that has learnt "welfare answers score high" does the second
        # (seed 1 told a baseball fan how to apply for 기초연금).
        unasked = [domain_answer(p, pref_rng.choice(ASPECTS), pref_rng, decorate=pref_rng.random() < 0.6)
                   for p in pref_rng.sample(PROGRAMMES, 2)]
        bads = [(answers_off_domain(topic, pref_rng), "answers_off_domain")] + \
            [(t, "domain_answer_off_domain") for t in unasked]
        if pref_rng.random() < 0.5:
            bads.append((evasive_answer(pref_rng, topic or "그 질문"), "evasive"))
        prefs.append(_pref_row(prompt, (decline(pref_rng), "decline"), bads, pref_rng))
    pref_rng.shuffle(prefs)

    # ---- safety / off-domain filtering sets
    safety = [{"prompt": q, "category": c, "refusal": r} for q, c, r in safety_items]
    offdomain = [{"prompt": q, "decline": decline(safety_rng)} for q, _topic in off_set]

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


def _distinct(make, n: int) -> list[str]:
    """n different texts from a generator of composed texts."""
    out: list[str] = []
    while len(out) < n:
        text = make()
        if text not in out:
            out.append(text)
    return out


def _pref_row(prompt: str, good: tuple[str, str], bads: list[tuple[str, str]], rng: random.Random) -> dict:
    """{prompt, answers, chosen, kinds}: the good answer at a random place among the
    distinct rejected ones; kinds[i] names what answers[i] is."""
    rows = list({text: kind for text, kind in bads if text != good[0]}.items())
    idx = rng.randint(0, len(rows))
    rows.insert(idx, good)
    return {"prompt": prompt, "answers": [t for t, _ in rows], "chosen": idx, "kinds": [k for _, k in rows]}


EVAL_ASPECTS = {
    "ministry": ("{n}의 소관 부처는 어디입니까?", lambda p: p.ministry),
    "amount": ("{n}의 지원 금액으로 옳은 것은?", lambda p: p.amount),
    "start": ("{n:은} 몇 년에 시행되었습니까?", lambda p: f"{p.start}년"),
    "target": ("{n}의 지원 대상으로 옳은 것은?", lambda p: p.target),
    "income": ("{n}의 소득 기준으로 옳은 것은?", lambda p: p.income),
    "phone": ("{n} 관련 문의처로 안내되는 곳은?", lambda p: p.phone),
}


def _eval_items(rng: random.Random, n: int) -> list[dict]:
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
