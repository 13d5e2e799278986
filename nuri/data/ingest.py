"""Ingest: gather the domain's raw sources into one folder of validated JSONL files.

Corpus documents come from a local folder or an s3:// prefix (.txt, .md, or .jsonl with
a `text` field). The richer source catalogue (HTTP, open-data APIs, HWP/PDF/DOCX) builds
on this same entry point."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.records import (Document, KnowledgeRecord, OffdomainRecord, PreferenceRecord,
                               SafetyRecord, SftRecord, read_jsonl, write_jsonl)
from nuri.errors import DataError
from nuri.storage import materialize

log = logging.getLogger(__name__)

CORPUS_SUFFIXES = {".txt", ".md", ".jsonl"}

# data-config field -> (record schema, file name in the ingested folder)
AUX_FILES = {
    "sft": (SftRecord, "sft.jsonl"),
    "preferences": (PreferenceRecord, "preferences.jsonl"),
    "safety": (SafetyRecord, "safety.jsonl"),
    "offdomain": (OffdomainRecord, "offdomain.jsonl"),
    "knowledge_eval": (KnowledgeRecord, "knowledge.jsonl"),
}


@dataclass
class IngestReport:
    documents: int
    corpus_bytes: int
    records: dict[str, int]


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 (byte {e.start}); convert it to UTF-8") from None


def read_corpus(root: Path) -> list[Document]:
    if not root.exists():
        raise DataError(f"{root}: corpus not found")
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES)
    docs: list[Document] = []
    for f in files:
        rel = f.name if f == root else f.relative_to(root).as_posix()
        if f.suffix.lower() == ".jsonl":
            for i, d in enumerate(read_jsonl(f, _JsonlDoc, allow_empty=True), start=1):
                docs.append(Document(id=d.id or f"{rel}#{i}", text=d.text, source=rel))
        else:
            docs.append(Document(id=rel, text=_decode(f), source=rel))
    if not any(d.text.strip() for d in docs):
        raise DataError(f"{root}: corpus is empty (no text in {', '.join(sorted(CORPUS_SUFFIXES))} files)")
    return docs


class _JsonlDoc(Document):
    id: str = ""


def ingest(config: DomainConfig, out_dir: Path) -> IngestReport:
    """Reads every configured source, validates it, and writes `out_dir/`:
    documents.jsonl plus one JSONL per auxiliary set and sources.json (hashes)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache:
        docs = read_corpus(materialize(config.data.corpus, Path(cache)))
        write_jsonl(out_dir / "documents.jsonl", docs)
        counts = {"documents": len(docs)}
        sources = {"corpus": config.data.corpus}
        for field, (schema, name) in AUX_FILES.items():
            uri = getattr(config.data, field)
            if uri is None:
                continue
            records = read_jsonl(materialize(uri, Path(cache)), schema)
            write_jsonl(out_dir / name, records)
            counts[field] = len(records)
            sources[field] = uri
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out_dir.glob("*.jsonl"))}
    (out_dir / "sources.json").write_text(json.dumps({"sources": sources, "sha256": hashes,
                                                      "counts": counts}, ensure_ascii=False, indent=2))
    report = IngestReport(documents=len(docs), corpus_bytes=sum(len(d.text.encode()) for d in docs),
                          records=counts)
    log.info("ingested %d documents (%.1f KB) and %s", report.documents, report.corpus_bytes / 1024,
             {k: v for k, v in counts.items() if k != "documents"})
    return report
