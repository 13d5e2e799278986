"""HWP 5 (the binary OLE Hangul format) through hwp-hwpx-parser (pure Python, olefile-
based, Apache-2.0). Encrypted or distribution-protected documents are reported."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    import olefile

    if not olefile.isOleFile(str(path)):
        yield Bad("file", "not an HWP 5 file (no OLE header; HWP 3 and older are not supported)")
        return
    try:
        from hwp_hwpx_parser import HWP5Reader

        with HWP5Reader(str(path)) as reader:
            if reader.is_encrypted():
                yield Bad("file", "encrypted HWP (password-protected)")
                return
            text = reader.extract_text()
    except Exception as e:  # noqa: BLE001 - corrupt streams raise many kinds
        yield Bad("file", f"unreadable HWP ({type(e).__name__}: {e})")
        return
    yield Item(text)
