"""Ingest: gather the domain's raw sources into one folder of validated JSONL files.

Corpus documents stream from every configured source (`corpus:` plus `sources:`:
folders, HTTP(S) URLs, s3:// prefixes, open-data APIs) in any supported format, and are
written to documents.jsonl one at a time; memory stays flat as the corpus grows. Bad
input is reported with its file and position and skipped or rejected
(`data.on_bad_input`); on rejection the documents already read are kept in
documents.partial.jsonl and the reports in bad_inputs.jsonl."""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.formats import SUFFIXES
from nuri.data.records import (HarmfulPromptRecord, JsonlWriter, KnowledgeRecord, OffdomainRecord, PreferenceRecord,
                               SafetyRecord, SftRecord, read_jsonl, write_jsonl)
from nuri.data.sources import BadInputs, Progress, iter_documents, source_label, source_location
from nuri.errors import DataError
from nuri.storage import materialize, sha256_file

log = logging.getLogger(__name__)

CORPUS_SUFFIXES = set(SUFFIXES)

# data-config field -> (record schema, file name in the ingested folder)
AUX_FILES = {
    "sft": (SftRecord, "sft.jsonl"),
    "preferences": (PreferenceRecord, "preferences.jsonl"),
    "safety": (SafetyRecord, "safety.jsonl"),
    "offdomain": (OffdomainRecord, "offdomain.jsonl"),
    "knowledge_eval": (KnowledgeRecord, "knowledge.jsonl"),
}
# Read by the safety classifier alone, beside data.safety (no set of the model's is made from it).
GUARD_FILES = {"guard_harmful": (HarmfulPromptRecord, "guard_harmful.jsonl")}
# Every file ingest copies and preflight checks.
INGESTED_FILES = {**AUX_FILES, **GUARD_FILES}


@dataclass
class IngestReport:
    documents: int
    corpus_bytes: int
    records: dict[str, int]
    bad_inputs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def describe_sources(data_config) -> list[dict]:
    return [{"name": source_label(s), "kind": s.kind, "location": source_location(s), "licence": s.licence}
            for s in data_config.all_sources()]


def _empty_error(data_config) -> DataError:
    srcs = data_config.all_sources()
    where = source_location(srcs[0]) if len(srcs) == 1 else f"{len(srcs)} sources"
    return DataError(f"{where}: corpus is empty (no text in {', '.join(sorted(CORPUS_SUFFIXES))} files)")


def _copy_feedback(uri: str, cache: Path, out_dir: Path) -> dict[str, int]:
    """A feedback dataset (nuri/feedback/dataset.py) beside the raw sets, validated."""
    from nuri.feedback import dataset as fb

    folder = materialize(uri, cache)
    if not (folder / fb.CARD_FILE).is_file():
        raise DataError(f"data.feedback: {uri} holds no {fb.CARD_FILE} (not a feedback dataset)")
    counts = {}
    for name, schema in ((fb.SFT_FILE, SftRecord), (fb.PREFERENCES_FILE, PreferenceRecord),
                         (fb.SAFETY_FILE, SafetyRecord)):
        path = folder / name
        records = read_jsonl(path, schema) if path.is_file() and path.stat().st_size else []
        if records:  # an absent set is no file (an empty JSONL is bad input everywhere else)
            write_jsonl(out_dir / name, records)
        counts[name.removesuffix(".jsonl")] = len(records)
    (out_dir / fb.CARD_FILE).write_text((folder / fb.CARD_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    return counts


def _bootstrap(config: DomainConfig, out_dir: Path, aux_sources: dict) -> dict[str, int]:
    """The sets the config does not give, derived from the documents just read; then
    the corpus split into its articles and sections (data.bootstrap.split_documents)."""
    from nuri.data.bootstrap import bootstrap, split_documents
    from nuri.data.records import Document, iter_jsonl

    docs = [{"id": d.id, "text": d.text} for d in iter_jsonl(out_dir / "documents.jsonl", Document)]
    report = bootstrap(config, docs, out_dir)
    counts = {}
    for name, by_origin in report["sets"].items():
        counts[name] = sum(by_origin.values())
        aux_sources[name] = "derived from the corpus (data.bootstrap)"
    if config.data.bootstrap.split_documents:
        counts["documents"] = split_documents(out_dir / "documents.jsonl")
    log.info("bootstrap: derived %s from %d documents; review %s", counts, len(docs), report["review"] or "none yet")
    return counts


def ingest(config: DomainConfig, out_dir: Path) -> IngestReport:
    """Reads every configured source, validates it, and writes `out_dir/`:
    documents.jsonl plus one JSONL per auxiliary set, bad_inputs.jsonl and sources.json."""
    import time

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = config.data
    t0 = time.perf_counter()
    bad = BadInputs(data.on_bad_input, out_dir / "bad_inputs.jsonl")
    progress = Progress(data.progress_every)
    per_source: dict[str, int] = {}
    nonblank = 0
    writer = JsonlWriter(out_dir / "documents.jsonl")
    with tempfile.TemporaryDirectory() as cache:
        try:
            for doc in iter_documents(data, Path(cache), bad, progress):
                writer.write(doc.model_dump(exclude_none=True))
                per_source[doc.origin] = per_source.get(doc.origin, 0) + 1
                nonblank += bool(doc.text.strip())
        except BaseException:
            if writer.count:
                writer.abort(keep_as=out_dir / "documents.partial.jsonl")
                log.error("ingest stopped; the %d documents read so far are in %s", writer.count,
                          out_dir / "documents.partial.jsonl")
            else:
                writer.abort()
            raise
        finally:
            bad.close()
        if not nonblank:
            writer.abort()
            raise _empty_error(data)
        writer.close()
        progress.log()
        counts = {"documents": writer.count}
        aux_sources = {}
        for fld, (schema, name) in INGESTED_FILES.items():
            uri = getattr(data, fld)
            if uri is None:
                continue
            records = read_jsonl(materialize(uri, Path(cache)), schema)
            write_jsonl(out_dir / name, records)
            counts[fld] = len(records)
            aux_sources[fld] = uri
        if data.feedback is not None:
            counts.update(_copy_feedback(data.feedback, Path(cache), out_dir))
            aux_sources["feedback"] = data.feedback
        if data.bootstrap is not None:
            counts.update(_bootstrap(config, out_dir, aux_sources))
    hashes = {p.name: sha256_file(p) for p in sorted(out_dir.glob("*.jsonl"))}
    sources = {"corpus": data.corpus or ", ".join(source_location(s) for s in data.sources), **aux_sources}
    (out_dir / "sources.json").write_text(json.dumps(
        {"sources": sources, "corpus_sources": describe_sources(data), "documents_per_source": per_source,
         "bad_inputs": bad.by_reason(), "sha256": hashes, "counts": counts}, ensure_ascii=False, indent=2))
    report = IngestReport(documents=counts["documents"], corpus_bytes=progress.bytes, records=counts,
                          bad_inputs=bad.by_reason(), seconds=time.perf_counter() - t0)
    log.info("ingested %d documents (%.1f KB) and %s%s", report.documents, report.corpus_bytes / 1024,
             {k: v for k, v in counts.items() if k != "documents"},
             f"; skipped bad input {report.bad_inputs}" if report.bad_inputs else "")
    return report
