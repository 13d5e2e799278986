"""PDF through pypdf (pure Python): one document per file, pages joined; a page that
fails to extract is reported and the others are kept."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            yield Bad("file", "encrypted PDF")
            return
        pages = reader.pages
        n = len(pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as e:
        yield Bad("file", f"corrupt PDF ({type(e).__name__}: {e})")
        return
    texts = []
    for i in range(n):
        try:
            texts.append(pages[i].extract_text() or "")
        except Exception as e:  # noqa: BLE001 - pypdf raises many kinds on broken pages
            yield Bad(f"page {i + 1}", f"text extraction failed ({type(e).__name__})")
    if any(t.strip() for t in texts):
        yield Item("\n\n".join(t for t in texts if t.strip()), meta={"pages": n})
    elif n:
        yield Bad("file", f"no extractable text in {n} page(s) (scanned? OCR is out of scope)")
