"""Prepare: normalise, drop empty/short and exactly duplicated documents, de-identify
personal data, split train/held-out deterministically, expand preferences into pairs,
and write a content-addressed dataset version with its data card."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.records import (Document, KnowledgeRecord, OffdomainRecord, PreferenceRecord,
                               SafetyRecord, SftRecord, read_jsonl, write_jsonl)
from nuri.deid import Deidentifier

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def normalise(text: str) -> str:
    """NFC (not NFKC: NFKC rewrites Korean punctuation such as '․' and full-width forms
    that carry meaning in official documents), no control or zero-width characters,
    single spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def is_heldout(key: str, fraction: float) -> bool:
    """Stable split by content hash: the same item lands on the same side in every run
    and on every machine, so held-out data never leaks into training across versions."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


@dataclass
class PrepareReport:
    version: str
    counts: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    pii: dict[str, int] = field(default_factory=dict)


def prepare(config: DomainConfig, raw_dir: Path, out_dir: Path) -> PrepareReport:
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    deid = Deidentifier(config.deid)
    pii: Counter[str] = Counter()

    def clean(text: str) -> str:
        result = deid.redact(normalise(text))
        pii.update(result.counts)
        return result.text

    frac = config.data.holdout_fraction
    removed: Counter[str] = Counter()

    # Corpus: normalise, filter, exact de-duplication on the normalised text.
    seen: set[str] = set()
    train_docs, heldout_docs = [], []
    for doc in read_jsonl(raw_dir / "documents.jsonl", Document):
        text = normalise(doc.text)
        if not text:
            removed["empty"] += 1
            continue
        if len(text) < config.data.min_doc_chars:
            removed["too_short"] += 1
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in seen:
            removed["exact_duplicate"] += 1
            continue
        seen.add(digest)
        redacted = clean(text)
        (heldout_docs if is_heldout(digest, frac) else train_docs).append(
            {"id": doc.id, "text": redacted})
    write_jsonl(out_dir / "corpus_train.jsonl", train_docs)
    write_jsonl(out_dir / "corpus_heldout.jsonl", heldout_docs)

    # SFT: the domain's pairs plus the filtering set's refusals and off-domain declines,
    # so the model learns to refuse as well as to answer.
    sft = [SftRecord(prompt=r.prompt, answer=r.answer, category=r.category)
           for r in read_jsonl(raw_dir / "sft.jsonl", SftRecord)]
    if (raw_dir / "safety.jsonl").exists():
        sft += [SftRecord(prompt=r.prompt, answer=r.refusal, category=f"refusal_{r.category}")
                for r in read_jsonl(raw_dir / "safety.jsonl", SafetyRecord)]
    if (raw_dir / "offdomain.jsonl").exists():
        sft += [SftRecord(prompt=r.prompt, answer=r.decline, category="refusal_offdomain")
                for r in read_jsonl(raw_dir / "offdomain.jsonl", OffdomainRecord)]
    sft_seen: set[tuple[str, str]] = set()
    sft_train, sft_heldout = [], []
    for r in sft:
        key = (normalise(r.prompt), normalise(r.answer))
        if key in sft_seen:
            removed["sft_duplicate"] += 1
            continue
        sft_seen.add(key)
        row = {"prompt": clean(r.prompt), "answer": clean(r.answer), "category": r.category}
        (sft_heldout if is_heldout(key[0], frac) else sft_train).append(row)
    write_jsonl(out_dir / "sft_train.jsonl", sft_train)
    write_jsonl(out_dir / "sft_heldout.jsonl", sft_heldout)

    # Preferences: kept as chosen-among-several, expanded to pairs for training. Split
    # by prompt so held-out pairs ask questions the reward model never saw.
    prefs_train, prefs_heldout, pairs_train, pairs_heldout = [], [], [], []
    for r in read_jsonl(raw_dir / "preferences.jsonl", PreferenceRecord):
        prompt = clean(r.prompt)
        answers = [clean(a) for a in r.answers]
        held = is_heldout(normalise(r.prompt), frac)
        (prefs_heldout if held else prefs_train).append(
            {"prompt": prompt, "answers": answers, "chosen": r.chosen})
        best = answers[r.chosen]
        for i, a in enumerate(answers):
            if i != r.chosen:
                (pairs_heldout if held else pairs_train).append(
                    {"prompt": prompt, "chosen": best, "rejected": a})
    write_jsonl(out_dir / "preferences_train.jsonl", prefs_train)
    write_jsonl(out_dir / "preferences_heldout.jsonl", prefs_heldout)
    write_jsonl(out_dir / "pairs_train.jsonl", pairs_train)
    write_jsonl(out_dir / "pairs_heldout.jsonl", pairs_heldout)

    if (raw_dir / "knowledge.jsonl").exists():
        write_jsonl(out_dir / "knowledge.jsonl", read_jsonl(raw_dir / "knowledge.jsonl", KnowledgeRecord))

    counts = {
        "corpus_train": len(train_docs), "corpus_heldout": len(heldout_docs),
        "sft_train": len(sft_train), "sft_heldout": len(sft_heldout),
        "pairs_train": len(pairs_train), "pairs_heldout": len(pairs_heldout),
        "corpus_chars": sum(len(d["text"]) for d in train_docs + heldout_docs),
    }
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out_dir.glob("*.jsonl"))}
    version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    report = PrepareReport(version=version, counts=counts, removed=dict(removed), pii=dict(pii))
    card = {
        "domain": config.name, "version": version, "files_sha256": files,
        "counts": counts, "removed": dict(removed), "pii_redacted": dict(pii),
        "deid_mode": config.deid.mode, "holdout_fraction": frac,
        "sources": json.loads((raw_dir / "sources.json").read_text())["sources"]
        if (raw_dir / "sources.json").exists() else {},
    }
    (out_dir / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2))
    (out_dir / "card.md").write_text(render_card_markdown(card), encoding="utf-8")
    log.info("dataset %s: %s; removed %s; PII redacted %s", version, counts, dict(removed), dict(pii))
    return report


def render_card_markdown(card: dict) -> str:
    lines = [f"# Data card: {card['domain']} dataset {card['version']}", "",
             "| set | records |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in card["counts"].items()]
    lines += ["", "## Removed", ""] + ([f"- {k}: {v}" for k, v in card["removed"].items()] or ["- none"])
    lines += ["", f"## Personal data redacted (mode: {card['deid_mode']}; counts only, never values)", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(card["pii_redacted"].items())] or ["- none found"]
    lines += ["", "## Sources", ""] + [f"- {k}: `{v}`" for k, v in card["sources"].items()]
    lines += ["", "## Files (sha256)", ""] + [f"- {k}: `{v[:16]}…`" for k, v in card["files_sha256"].items()]
    return "\n".join(lines) + "\n"
