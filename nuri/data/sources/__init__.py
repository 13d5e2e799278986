"""Corpus sources: one module per kind (folder, http, s3, open_data_api), each yielding
`Located` files or items; `iter_documents` turns every configured source into a stream
of `Document`s, applying the bad-input policy and logging progress.

Nothing is held in memory but the current document: a source downloads one object or
page at a time into a scratch folder and deletes it after use."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext, read_file
from nuri.data.records import Document
from nuri.errors import DataError

log = logging.getLogger("nuri.data.ingest")


@dataclass
class Located:
    """A file of a source: where it came from (for messages and ids) and a local copy."""

    where: str      # file path, URL or s3:// URI as shown to people
    rel: str        # path inside the source, used in document ids
    path: Path


class BadInputs:
    """Collects bad input. `skip`: report and go on; `reject`: stop with the first one.
    Each entry names the file and the position inside it, never the content."""

    def __init__(self, policy: str, sink: Path | None = None):
        self.policy = policy
        self.entries: list[dict] = []
        self._sink = sink.open("w", encoding="utf-8") if sink else None

    def report(self, source: str, where: str, position: str, reason: str) -> None:
        entry = {"source": source, "file": where, "position": position, "reason": reason}
        self.entries.append(entry)
        if self._sink:
            self._sink.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._sink.flush()
        msg = f"{where}:{position}: {reason}" if position and position != "file" else f"{where}: {reason}"
        if self.policy == "reject":
            raise DataError(msg)
        log.warning("skipped bad input %s", msg)

    def close(self) -> None:
        if self._sink:
            self._sink.close()
            self._sink = None

    def by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            key = e["reason"].split(" (")[0].split(";")[0]
            out[key] = out.get(key, 0) + 1
        return out


class Progress:
    def __init__(self, every: int, what: str = "ingest"):
        self.every, self.what = every, what
        self.docs = 0
        self.bytes = 0
        self.t0 = time.perf_counter()

    def add(self, text: str) -> None:
        self.docs += 1
        self.bytes += len(text.encode("utf-8"))
        if self.docs % self.every == 0:
            self.log()

    def log(self) -> None:
        dt = max(time.perf_counter() - self.t0, 1e-9)
        log.info("%s: %d documents, %.1f MB, %.0f docs/s, %.2f MB/s", self.what, self.docs,
                 self.bytes / 1e6, self.docs / dt, self.bytes / 1e6 / dt)


def source_label(src) -> str:
    if src.name:
        return src.name
    return {"folder": lambda s: s.path, "http": lambda s: s.urls[0], "s3": lambda s: s.uri,
            "open_data_api": lambda s: s.url}[src.kind](src)


def source_location(src) -> str:
    return {"folder": lambda s: s.path, "http": lambda s: ", ".join(s.urls), "s3": lambda s: s.uri,
            "open_data_api": lambda s: s.url}[src.kind](src)


def _files(src, scratch: Path, bad: BadInputs, label: str) -> Iterator[Located | Item | Bad]:
    if src.kind == "folder":
        from nuri.data.sources.folder import iter_files
        return iter_files(src)
    if src.kind == "s3":
        from nuri.data.sources.s3 import iter_files
        return iter_files(src, scratch)
    if src.kind == "http":
        from nuri.data.sources.http import iter_files
        return iter_files(src, scratch)
    if src.kind == "open_data_api":
        from nuri.data.sources.open_data import iter_items
        return iter_items(src)
    raise ValueError(src.kind)


def iter_source(src, scratch: Path, ctx: ReadContext, bad: BadInputs) -> Iterator[Document]:
    """Documents of one source, in a stable order."""
    label = source_label(src)
    legacy = label == "corpus"  # `corpus:` keeps the ids it always had: the relative path
    allowed = {f if f.startswith(".") else f".{f}" for f in (src.formats or [])}
    for located in _files(src, scratch, bad, label):
        if isinstance(located, Bad):
            if "://" in located.position:  # a URL that failed as a whole
                bad.report(label, located.position, "", located.reason)
            else:
                bad.report(label, source_location(src), located.position, located.reason)
            continue
        if isinstance(located, Item):  # sources that yield records directly (APIs)
            yield Document(id=f"{label}:{located.key}", text=located.text, source=located.position,
                           origin=label, licence=src.licence, format=src.kind)
            continue
        suffix = located.path.suffix.lower()
        if allowed and suffix not in allowed:
            continue
        for it in read_file(located.path, ctx):
            if isinstance(it, Bad):
                bad.report(label, located.where, it.position, it.reason)
                continue
            doc_id = f"{located.rel}{it.key}" if legacy else f"{label}:{located.rel}{it.key}"
            if legacy and it.key and not it.key.startswith("#") and suffix == ".jsonl":
                doc_id = it.key
            yield Document(id=doc_id, text=it.text, source=located.rel, origin=label, licence=src.licence,
                           format=suffix.lstrip("."), markup=it.markup)


def iter_documents(data_config, scratch: Path, bad: BadInputs, progress: Progress | None = None,
                   *, kinds: set[str] | None = None) -> Iterator[Document]:
    """Every configured source, in config order (`corpus:` first)."""
    ctx = ReadContext(encodings=tuple(data_config.encodings))
    for src in data_config.all_sources():
        if kinds is not None and src.kind not in kinds:
            continue
        for doc in iter_source(src, Path(scratch), ctx, bad):
            if progress:
                progress.add(doc.text)
            yield doc
