"""Retrieval for the domain service: BM25 (bm25s) over passages of the prepared,
de-identified corpus, and the one prompt format that puts retrieved passages before a
question, shared by SFT (which learns to answer from it) and the service.

The release keeps the passages as JSONL and the index is built when it is loaded (bm25s
indexes ~1M short passages a minute; a saved index would be a second artefact to trust
and keep in step with the passages)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from nuri.data.records import write_jsonl
from nuri.errors import DataError
from nuri.evaluation.grounding import tokens

PASSAGES_FILE = "passages.jsonl"
_SENTENCE_END = re.compile(r"(?<=[.!?。다])\s+")
CONTEXT_HEADER = "참고 자료:"
QUESTION_HEADER = "질문:"


@dataclass(frozen=True)
class Passage:
    doc_id: str
    title: str
    text: str


def passages_of(doc_id: str, text: str, passage_chars: int) -> list[Passage]:
    """The document cut at sentence ends into passages of about `passage_chars`; each
    carries the document's first line as its title."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return []
    title = lines[0][:80]
    body = lines[1:] or lines  # the title is every passage's title, not its text
    sentences = [s for line in body for s in _SENTENCE_END.split(line) if s.strip()]
    out, current = [], ""
    for s in sentences:
        if current and len(current) + len(s) + 1 > passage_chars:
            out.append(Passage(doc_id, title, current))
            current = ""
        current = f"{current} {s}".strip()
    if current:
        out.append(Passage(doc_id, title, current))
    return out


def snippet(passage: Passage, chars: int) -> str:
    text = passage.text
    return text if len(text) <= chars else text[:chars].rstrip() + "…"


def context_prompt(question: str, passages: Sequence[Passage], snippet_chars: int) -> str:
    """The question after its retrieved passages; the question alone when there are none."""
    if not passages:
        return question
    refs = "\n".join(f"[{i}] {p.title}: {snippet(p, snippet_chars)}" for i, p in enumerate(passages, 1))
    return f"{CONTEXT_HEADER}\n{refs}\n\n{QUESTION_HEADER} {question}"


class PassageIndex:
    def __init__(self, passages: Sequence[Passage]):
        import bm25s

        if not passages:
            raise DataError("the retrieval index needs at least one passage (is the corpus empty?)")
        self.passages = list(passages)
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokens(f"{p.title} {p.text}") for p in self.passages], show_progress=False)

    @classmethod
    def from_documents(cls, documents: Iterable[tuple[str, str]], passage_chars: int) -> "PassageIndex":
        return cls([p for doc_id, text in documents for p in passages_of(doc_id, text, passage_chars)])

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        """The k best passages, at most one per document (k different sources)."""
        terms = tokens(query)
        if not terms:
            return []
        n = min(len(self.passages), k * 4)
        ids, scores = self._bm25.retrieve([terms], k=n, show_progress=False)
        out, seen = [], set()
        for i, score in zip(ids[0], scores[0]):
            p = self.passages[int(i)]
            if score <= 0 or p.doc_id in seen:
                continue
            seen.add(p.doc_id)
            out.append((p, float(score)))
            if len(out) == k:
                break
        return out

    def save(self, directory: Path) -> None:
        write_jsonl(Path(directory) / PASSAGES_FILE, (asdict(p) for p in self.passages))

    @classmethod
    def load(cls, directory: Path) -> "PassageIndex":
        path = Path(directory) / PASSAGES_FILE
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        passages = []
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                    passages.append(Passage(str(row["doc_id"]), str(row["title"]), str(row["text"])))
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise DataError(f"{path}:{n}: not a passage ({type(e).__name__}: {e})") from None
        return cls(passages)


def hit_at_k(index: PassageIndex, questions: Sequence[tuple[str, frozenset]], ks: Sequence[int] = (1, 3, 5)) -> dict:
    """questions: (question, ids of the documents that answer it). hit@k: the share
    whose k retrieved passages come from at least one of those documents."""
    top = max(ks)
    hits = {k: 0 for k in ks}
    for question, relevant in questions:
        found = [p.doc_id for p, _ in index.search(question, top)]
        for k in ks:
            hits[k] += any(d in relevant for d in found[:k])
    n = len(questions)
    return {f"retrieval_hit_at_{k}": (hits[k] / n if n else float("nan")) for k in ks} | {"retrieval_questions": n}
