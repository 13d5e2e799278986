"""Plain text and Markdown: one document per file."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext, decode


def read(path: Path, ctx: ReadContext, markup: str | None = None) -> Iterator[Item | Bad]:
    text, err = decode(Path(path).read_bytes(), ctx.encodings)
    if text is None:
        yield Bad("file", err)
        return
    yield Item(text, markup=markup)


def read_markdown(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    return read(path, ctx, markup="md")
