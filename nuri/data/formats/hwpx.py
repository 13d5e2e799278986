"""HWPX (OWPML, the XML Hangul format): a zip of XML sections. Read with
hwp-hwpx-parser (pure Python, Apache-2.0), the same library as HWP 5."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    if not zipfile.is_zipfile(path):
        yield Bad("file", "corrupt HWPX archive (not a zip file)")
        return
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad:
                yield Bad(bad, "corrupt HWPX archive (CRC error)")
                return
            if not any(n.startswith("Contents/section") for n in z.namelist()):
                yield Bad("file", "not an HWPX document (no Contents/section*.xml)")
                return
        from hwp_hwpx_parser import HWPXReader

        with HWPXReader(str(path)) as reader:
            if reader.is_encrypted():
                yield Bad("file", "encrypted HWPX")
                return
            text = reader.extract_text()
    except Exception as e:  # noqa: BLE001 - broken XML, zip errors
        yield Bad("file", f"unreadable HWPX ({type(e).__name__}: {e})")
        return
    yield Item(text)
