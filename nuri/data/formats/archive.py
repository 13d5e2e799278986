"""ZIP archives of documents: members read by their suffix (one level; no nested zips)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    from nuri.data.formats import reader_for

    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        yield Bad("file", f"corrupt archive ({e})")
        return
    with z, tempfile.TemporaryDirectory() as tmp:
        for info in z.infolist():
            if info.is_dir():
                continue
            member = PurePosixPath(info.filename)
            reader = reader_for(member.suffix)
            if reader is None or member.suffix.lower() == ".zip":
                continue
            local = Path(tmp) / f"m{member.suffix}"
            try:
                with z.open(info) as src, local.open("wb") as dst:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                yield Bad(info.filename, f"corrupt archive member ({e})")
                continue
            for it in reader(local, ctx):
                if isinstance(it, Bad):
                    yield Bad(f"{info.filename} {it.position}".strip(), it.reason)
                else:
                    it.key = f"{info.filename}{it.key}"
                    it.position = f"{info.filename} {it.position}".strip()
                    yield it
