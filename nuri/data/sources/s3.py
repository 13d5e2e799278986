"""An s3:// prefix (MinIO in the cluster): objects listed, then downloaded one at a time
into the scratch folder and deleted after reading."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.parse import urlparse

from nuri.data.formats import SUFFIXES
from nuri.errors import DataError


def iter_files(src, scratch: Path) -> Iterator:
    from nuri.data.sources import Located
    from nuri.storage import S3Storage

    parsed = urlparse(src.uri)
    store = S3Storage(parsed.netloc)
    prefix = parsed.path.strip("/")
    if prefix and store.exists(prefix):
        keys = [prefix]
        base = str(PurePosixPath(prefix).parent)
    else:
        keys = store.list(prefix + "/" if prefix else "")
        base = prefix
    keys = [k for k in keys if PurePosixPath(k).suffix.lower() in SUFFIXES]
    if not keys:
        raise DataError(f"{src.uri}: corpus not found (no documents under this prefix)")
    for i, key in enumerate(keys):
        rel = key[len(base) + 1:] if base and base != "." else key
        local = Path(scratch) / f"s3-{i}{PurePosixPath(key).suffix.lower()}"
        store.get_file(key, local)
        try:
            yield Located(f"s3://{parsed.netloc}/{key}", rel, local)
        finally:
            local.unlink(missing_ok=True)
