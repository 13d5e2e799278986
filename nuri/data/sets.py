"""Training sets: SFT in chat format, the reward-model set (chosen among several,
expanded to pairs), the filtering set built from the harmful-query taxonomy, template
and teacher generation, and augmentation that never duplicates an item.

Everything here is pure (records in, records out); `prepare` does the I/O."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from nuri.data.clean import normalise


class InvalidRecord(ValueError):
    pass


# --- SFT chat format --------------------------------------------------------------------

def to_chat(prompt: str, answer: str, system: str = "") -> list[dict]:
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def validate_chat(messages: list[dict], *, max_prompt_chars: int = 4000, max_answer_chars: int = 8000) -> None:
    """Roles system? (user assistant)+, nothing empty, within the length limits."""
    if not isinstance(messages, list) or not messages:
        raise InvalidRecord("messages must be a non-empty list")
    roles = [m.get("role") for m in messages]
    body = roles[1:] if roles[0] == "system" else roles
    if not body or len(body) % 2 or any(r != ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(body)):
        raise InvalidRecord(f"roles must be [system] user assistant ... ending with assistant (got {roles})")
    for m in messages:
        content = m.get("content")
        if not isinstance(content, str) or (m["role"] != "system" and not content.strip()):
            raise InvalidRecord(f"{m['role']} message is empty")
        limit = max_answer_chars if m["role"] == "assistant" else max_prompt_chars
        if len(content) > limit:
            raise InvalidRecord(f"{m['role']} message longer than {limit} characters")


def sft_row(prompt: str, answer: str, category: str, system: str, sets_config) -> dict:
    msgs = to_chat(prompt, answer, system)
    validate_chat(msgs, max_prompt_chars=sets_config.max_prompt_chars, max_answer_chars=sets_config.max_answer_chars)
    return {"prompt": prompt, "answer": answer, "category": category, "messages": msgs}


# --- templates --------------------------------------------------------------------------

_SENT = re.compile(r"(?<=[.!?。])\s+|(?<=다\.)\s*|\n+")


def document_fields(text: str, lead_sentences: int = 2) -> dict[str, str]:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return {"title": "", "lead": "", "body": ""}
    title = lines[0][:120]
    body = "\n".join(lines[1:]) or lines[0]
    sentences = [s.strip() for s in _SENT.split(body) if s and s.strip()]
    return {"title": title, "lead": " ".join(sentences[:lead_sentences]), "body": body}


def from_templates(documents: Iterable[dict], templates, limit: int) -> Iterator[tuple[str, str]]:
    """(prompt, answer) for each template on each of the first `limit` documents with a
    title and a lead."""
    n = 0
    for doc in documents:
        if n >= limit:
            return
        f = document_fields(doc["text"])
        if not f["title"] or not f["lead"]:
            continue
        n += 1
        for t in templates:
            yield t.prompt.format(**f), t.answer.format(**f)


# --- filtering set ------------------------------------------------------------------------

def filtering_records(taxonomy, safety_records: Iterable) -> tuple[list[dict], dict[str, int]]:
    """Examples per category with the expected refusal: the taxonomy's own examples plus
    safety.jsonl. With a taxonomy, every category must be in it. Returns (records,
    per-category counts)."""
    cats = {c.name: c for c in taxonomy}
    out, seen, per = [], set(), {}
    for c in taxonomy:
        for p in c.examples:
            key = normalise(p)
            if key not in seen:
                seen.add(key)
                out.append({"prompt": p, "category": c.name, "refusal": c.refusal})
    for r in safety_records:
        if cats and r.category not in cats:
            raise InvalidRecord(f"category {r.category!r} is not in data.sets.harmful_taxonomy "
                                f"({', '.join(sorted(cats))})")
        key = normalise(r.prompt)
        if key not in seen:
            seen.add(key)
            out.append({"prompt": r.prompt, "category": r.category, "refusal": r.refusal})
    for r in out:
        per[r["category"]] = per.get(r["category"], 0) + 1
    return out, per


# --- augmentation -------------------------------------------------------------------------

PREFIXES = ["", "질문이 있습니다. ", "혹시 ", "안녕하세요. ", "궁금한 점이 있어요. ", "문의드립니다. "]
SUFFIXES = ["", " 자세히 알려 주세요.", " 알려 주실 수 있나요?", " 부탁드립니다.", " 답변 부탁드려요."]


def prompt_variants(prompt: str, n: int, rng: random.Random) -> list[str]:
    """Up to n new phrasings (polite prefixes and suffixes), distinct after normalisation
    from the prompt and from each other."""
    if n <= 0:
        return []
    combos = [(p, s) for p in PREFIXES for s in SUFFIXES if p or s]
    rng.shuffle(combos)
    base = normalise(prompt)
    out, seen = [], {base}
    for p, s in combos:
        v = f"{p}{prompt.strip()}{s}"
        k = normalise(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
        if len(out) == n:
            break
    return out


@dataclass
class Deduper:
    """Keeps the first of items with the same normalised key; counts the rest."""

    seen: set | None = None
    dropped: int = 0

    def __post_init__(self):
        self.seen = set()

    def new(self, *parts: str) -> bool:
        key = tuple(normalise(p) for p in parts)
        if key in self.seen:
            self.dropped += 1
            return False
        self.seen.add(key)
        return True
