"""DOCX through python-docx: paragraphs and table cells, in document order."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as e:
        yield Bad("file", f"corrupt DOCX archive ({type(e).__name__}: {e})")
        return
    except Exception as e:  # noqa: BLE001 - lxml errors on broken XML parts
        yield Bad("file", f"unreadable DOCX ({type(e).__name__})")
        return
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = []
                    for cell in row.iterchildren():
                        if cell.tag.endswith("}tc"):
                            cells.append(" ".join("".join(t.text or "" for t in p.iter() if t.tag.endswith("}t"))
                                                  for p in cell.iter() if p.tag.endswith("}p")).strip())
                    lines.append(" | ".join(cells))
    yield Item("\n".join(lines), meta={"title": document.core_properties.title or ""}
               if document.core_properties.title else {})
