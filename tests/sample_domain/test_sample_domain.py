"""Tests for the bundled synthetic "welfare" sample domain and its generator
(domains/welfare/generator, imported from the repository root, which conftest puts on sys.path)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from domains.welfare.generator import DEFAULT_SEED, write
from domains.welfare.generator.knowledge import PROGRAMMES
from domains.welfare.generator.text import rrn_is_valid

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "domains" / "welfare" / "data"
JSONL = ("sft.jsonl", "preferences.jsonl", "safety.jsonl", "offdomain.jsonl", "eval_knowledge.jsonl")

RRN_RE = re.compile(r"\b\d{6}-[1-4]\d{6}\b")
MOBILE_RE = re.compile(r"(?:\+82 10[- ]?\d{4}[- ]?\d{4}|\b010[- ]?\d{4}[- ]?\d{4}\b)")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("welfare_a") / "data"
    counts = write(out, DEFAULT_SEED)
    return out, counts


def _rows(root: Path, name: str) -> list[dict]:
    lines = (root / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_deterministic(generated: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    out_a, _ = generated
    out_b = tmp_path / "data"
    write(out_b, DEFAULT_SEED)
    assert _snapshot(out_a) == _snapshot(out_b)


def test_committed_equals_fresh_generation(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    assert COMMITTED.is_dir(), "run: python -m domains.welfare.generator --out domains/welfare/data"
    fresh, committed = _snapshot(out), _snapshot(COMMITTED)
    assert sorted(fresh) == sorted(committed)
    changed = [k for k in fresh if fresh[k] != committed[k]]
    assert not changed, f"committed sample data is stale, regenerate: {changed[:5]}"


def test_corpus(generated: tuple[Path, dict[str, int]]) -> None:
    out, counts = generated
    files = sorted((out / "corpus").glob("*.txt"))
    assert 500 <= len(files) <= 700
    assert all(re.fullmatch(r"\d{4}\.txt", f.name) for f in files)
    texts = [f.read_text(encoding="utf-8") for f in files]
    total = sum(len(t.encode("utf-8")) for t in texts)
    assert 800_000 <= total <= 1_200_000, total
    # ~3% exact duplicates
    dup = len(texts) - len(set(texts))
    assert 0.02 * len(texts) <= dup <= 0.04 * len(texts)
    assert dup == counts["corpus_duplicates"]
    # vocabulary is varied
    vocab = Counter(w for t in texts for w in t.split())
    assert len(vocab) > 3000, len(vocab)
    # ~10% of documents carry synthetic personal data, with valid RRN checksums
    unique = list(dict.fromkeys(texts))
    pii_docs = [t for t in unique if RRN_RE.search(t) or MOBILE_RE.search(t) or EMAIL_RE.search(t)]
    assert 0.07 * len(unique) <= len(pii_docs) <= 0.14 * len(unique), len(pii_docs)
    rrns = [m.group(0) for t in unique for m in RRN_RE.finditer(t)]
    assert len(rrns) >= 20
    assert all(rrn_is_valid(r) for r in rrns)
    assert any(EMAIL_RE.search(t) for t in unique)


def test_jsonl_parse_and_unique_prompts(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    for name in JSONL:
        rows = _rows(out, name)
        assert rows, name
        key = "question" if name == "eval_knowledge.jsonl" else "prompt"
        prompts = [r[key] for r in rows]
        assert len(prompts) == len(set(prompts)), f"duplicate prompts in {name}"
        assert all(isinstance(p, str) and p.strip() for p in prompts)


def test_sft_schema(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    rows = _rows(out, "sft.jsonl")
    assert 800 <= len(rows) <= 1200
    cats = Counter(r["category"] for r in rows)
    assert set(cats) == {"domain", "refusal_harmful", "refusal_offdomain", "basic"}
    for c in ("refusal_harmful", "refusal_offdomain"):  # safety.jsonl and offdomain.jsonl add more
        assert 0.04 * len(rows) <= cats[c] <= 0.13 * len(rows), cats
    assert 0.07 * len(rows) <= cats["basic"] <= 0.13 * len(rows), cats
    # the answer names the programme with the very word the question used
    for r in rows:
        if r["category"] == "domain":
            used = [n for p in PROGRAMMES for n in (p.name, p.short) if n in r["prompt"]]
            assert any(n in r["answer"] for n in used), r
    for r in rows:
        assert set(r) == {"prompt", "answer", "category"}
        assert r["answer"].strip()


def test_preferences(generated: tuple[Path, dict[str, int]]) -> None:
    from nuri.data.kinds import ANSWER_KINDS, REJECTED_KINDS, RIGHT_RESPONSE

    out, _ = generated
    rows = _rows(out, "preferences.jsonl")
    assert 400 <= len(rows) <= 600
    chosen = Counter()
    for r in rows:
        assert set(r) == {"prompt", "answers", "chosen", "kinds"}
        assert 3 <= len(r["answers"]) <= 5 and len(r["kinds"]) == len(r["answers"])
        assert len(set(r["answers"])) == len(r["answers"])
        assert 0 <= r["chosen"] < len(r["answers"])
        assert r["kinds"][r["chosen"]] in RIGHT_RESPONSE.values()
        assert all(k in REJECTED_KINDS for i, k in enumerate(r["kinds"]) if i != r["chosen"]), r
        chosen[r["chosen"]] += 1
    assert len(chosen) >= 3 and max(chosen.values()) < 0.5 * len(rows)
    # the chosen answer is not simply the longest one
    longest = sum(1 for r in rows if max(range(len(r["answers"])), key=lambda i: len(r["answers"][i])) == r["chosen"])
    assert longest < 0.9 * len(rows)
    sft_prompts = {r["prompt"] for r in _rows(out, "sft.jsonl")}
    overlap = sum(1 for r in rows if r["prompt"] in sft_prompts)
    assert overlap < 0.1 * len(rows)


def test_preferences_hold_the_hard_cases_without_templates(generated: tuple[Path, dict[str, int]]) -> None:
    """Every way of going wrong users report is among the rejected answers, often enough
    to be learnt and measured; and no rejected text recurs so often across prompts that a
    reward model could learn the text instead of what is wrong with it."""
    out, _ = generated
    rows = _rows(out, "preferences.jsonl")
    rejected = [(a, k) for r in rows for i, (a, k) in enumerate(zip(r["answers"], r["kinds"])) if i != r["chosen"]]
    kinds = Counter(k for _, k in rejected)
    for kind in ("decline_in_domain", "refusal_in_domain", "other_programme", "wrong_fact", "wrong_aspect",
                 "harmful_compliance", "pii_repeat", "answers_off_domain", "domain_answer_off_domain"):
        assert kinds[kind] >= 40, (kind, kinds)
    uses = Counter(a for a, _ in rejected)
    assert max(uses.values()) <= 5, uses.most_common(3)
    assert len(uses) >= 0.9 * len(rejected)
    # a decline is the right answer off the domain and a wrong one in it: the same kind of
    # text on both sides, so the reward model must read the question to rank it
    declines_chosen = sum(r["kinds"][r["chosen"]] == "decline" for r in rows)
    assert declines_chosen >= 40 and kinds["decline_in_domain"] >= 40
    for r in rows:  # personal data in the question is repeated only by the rejected answer
        if "pii_repeat" in r["kinds"]:
            pii = re.findall(r"\d{6}-\d{7}|(?:\+82 |0)10[- ]?\d{4}[- ]?\d{4}(?!\d)", r["prompt"])
            assert pii and not any(p in r["answers"][r["chosen"]] for p in pii), r


def test_safety_offdomain_eval(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    safety = _rows(out, "safety.jsonl")
    assert 120 <= len(safety) <= 180
    cats = Counter(r["category"] for r in safety)
    assert {"fraud", "privacy", "violence_self_harm", "hate_bias", "illegal", "dangerous"} <= set(cats)
    assert all(set(r) == {"prompt", "category", "refusal"} for r in safety)
    off = _rows(out, "offdomain.jsonl")
    assert 120 <= len(off) <= 180
    assert all(set(r) == {"prompt", "decline"} for r in off)
    ev = _rows(out, "eval_knowledge.jsonl")
    assert 50 <= len(ev) <= 70
    for r in ev:
        assert set(r) == {"question", "choices", "answer"}
        assert len(r["choices"]) == 4 and len(set(r["choices"])) == 4
        assert 0 <= r["answer"] < 4
    assert len(Counter(r["answer"] for r in ev)) >= 3


def test_rrn_checksum() -> None:
    assert rrn_is_valid("900101-1234568")
    assert not rrn_is_valid("900101-1234567")


def test_generator_is_not_installed_with_nuri() -> None:
    """The generator is the sample data's source, not runtime code: the package list
    pyproject.toml gives setuptools leaves it out."""
    import tomllib

    from setuptools import find_packages

    find = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(where=str(REPO), include=find["include"])
    assert "nuri" in packages and not [p for p in packages if p.startswith("domains")]
