"""Document formats: one module per format, each `read(path, ctx) -> Iterator[Item | Bad]`.

An `Item` is one document's raw text with its position in the file (record/line/page);
a `Bad` is something that could not be read, with its position and reason. Readers
never raise for bad content: the ingest policy (`on_bad_input`) decides what a `Bad`
means. Text-like formats stream (JSONL, CSV: one record at a time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator


@dataclass
class Item:
    text: str
    key: str = ""            # id inside the file ('' for a one-document file; '#12' for record 12)
    position: str = ""       # human position: 'line 12', 'page 3', 'record 7'
    meta: dict = field(default_factory=dict)
    markup: str | None = None  # 'md' or 'html': cleaning strips it


@dataclass
class Bad:
    position: str
    reason: str


@dataclass(frozen=True)
class ReadContext:
    encodings: tuple[str, ...] = ("utf-8",)


def decode(data: bytes, encodings: tuple[str, ...]) -> tuple[str | None, str]:
    """(text, '') or (None, reason naming the byte offset)."""
    first_err = None
    for enc in encodings:
        try:
            return data.decode("utf-8-sig" if enc.lower().replace("_", "-") in ("utf-8", "utf8") else enc), ""
        except UnicodeDecodeError as e:
            first_err = first_err or (enc, e)
    enc, e = first_err
    if enc.lower().replace("_", "-") in ("utf-8", "utf8"):
        return None, f"not valid UTF-8 (byte {e.start}); convert it to UTF-8 or add its encoding " \
                     f"(e.g. cp949) to data.encodings"
    return None, f"not valid {enc} (byte {e.start})"


Reader = Callable[[Path, ReadContext], Iterator["Item | Bad"]]


def _registry() -> dict[str, Reader]:
    from nuri.data.formats import archive, csvfmt, docx, html, hwp, hwpx, jsonl, pdf, text

    return {".txt": text.read, ".md": text.read_markdown, ".jsonl": jsonl.read, ".csv": csvfmt.read,
            ".html": html.read, ".htm": html.read, ".pdf": pdf.read, ".docx": docx.read,
            ".hwpx": hwpx.read, ".hwp": hwp.read, ".zip": archive.read}


SUFFIXES = (".txt", ".md", ".jsonl", ".csv", ".html", ".htm", ".pdf", ".docx", ".hwpx", ".hwp", ".zip")


def reader_for(suffix: str) -> Reader | None:
    return _registry().get(suffix.lower())


def read_file(path: Path, ctx: ReadContext = ReadContext()) -> Iterator[Item | Bad]:
    """Reads any supported file; an unsupported suffix is a Bad."""
    reader = reader_for(Path(path).suffix)
    if reader is None:
        yield Bad("file", f"unsupported format {Path(path).suffix or '(no suffix)'}")
        return
    try:
        yield from reader(Path(path), ctx)
    except (OSError, MemoryError) as e:
        yield Bad("file", f"unreadable ({type(e).__name__}: {e})")
