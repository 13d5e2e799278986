"""CSV with a header row: the document is the `text` (or `content`/`body`/`본문`/`내용`)
column; other columns become metadata. Streams row by row."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext

TEXT_COLUMNS = ("text", "content", "body", "본문", "내용")
ID_COLUMNS = ("id", "doc_id", "번호")


def _encoding(path: Path, encodings: tuple[str, ...]) -> str | None:
    """The first encoding that decodes the whole file (checked incrementally)."""
    for enc in encodings:
        dec = codecs.getincrementaldecoder("utf-8-sig" if enc.lower() in ("utf-8", "utf8") else enc)()
        try:
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    dec.decode(chunk)
                dec.decode(b"", final=True)
            return "utf-8-sig" if enc.lower() in ("utf-8", "utf8") else enc
        except UnicodeDecodeError:
            continue
    return None


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    path = Path(path)
    enc = _encoding(path, ctx.encodings)
    if enc is None:
        yield Bad("file", f"not valid {' or '.join(ctx.encodings)}; add its encoding (e.g. cp949) "
                          f"to data.encodings")
        return
    csv.field_size_limit(1 << 27)
    with path.open(encoding=enc, newline="") as f:
        reader = csv.DictReader(f)
        try:
            header = reader.fieldnames or []
        except csv.Error as e:
            yield Bad("line 1", f"invalid CSV header ({e})")
            return
        col = next((c for c in header if c and c.strip().lower() in TEXT_COLUMNS), None)
        if col is None:
            yield Bad("line 1", f"no text column (one of {', '.join(TEXT_COLUMNS)}) in header")
            return
        idcol = next((c for c in header if c and c.strip().lower() in ID_COLUMNS), None)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield Bad(f"line {reader.line_num}", f"invalid CSV ({e})")
                return
            pos = f"line {reader.line_num}"
            if None in row:
                yield Bad(pos, "more fields than the header")
                continue
            text = row.get(col)
            if not text or not text.strip():
                yield Bad(pos, f"{col}: empty")
                continue
            key = row.get(idcol) if idcol else None
            meta = {k: v for k, v in row.items() if k not in (col, idcol) and k}
            yield Item(text, key=str(key) if key else f"#{reader.line_num}", position=pos, meta=meta)
