"""A local folder (walked in sorted order) or a single file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from nuri.data.formats import SUFFIXES
from nuri.errors import DataError


def _walk(root: Path) -> Iterator[Path]:
    """Sorted depth-first walk that holds one directory listing at a time."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as e:
        raise DataError(f"{root}: cannot list ({e.strerror})") from None
    for e in entries:
        if e.name.startswith("."):
            continue
        if e.is_dir(follow_symlinks=False):
            yield from _walk(Path(e.path))
        elif e.is_file() and Path(e.name).suffix.lower() in SUFFIXES:
            yield Path(e.path)


def iter_files(src) -> Iterator:
    from nuri.data.sources import Located

    root = Path(src.path.removeprefix("file://"))
    if not root.exists():
        raise DataError(f"{root}: corpus not found")
    if root.is_file():
        yield Located(str(root), root.name, root)
        return
    for f in _walk(root):
        yield Located(str(f), f.relative_to(root).as_posix(), f)
