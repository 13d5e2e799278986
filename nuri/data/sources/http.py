"""HTTP(S) documents: each URL streamed to the scratch folder, read, deleted. The
format comes from the URL's suffix, else from the Content-Type."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.parse import urlparse

from nuri.data.formats import SUFFIXES, Bad

CONTENT_TYPES = {
    "text/plain": ".txt", "text/markdown": ".md", "text/html": ".html", "text/csv": ".csv",
    "application/json": ".jsonl", "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl",
    "application/pdf": ".pdf", "application/zip": ".zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/x-hwp": ".hwp", "application/haansofthwp": ".hwp", "application/vnd.hancom.hwp": ".hwp",
    "application/hwp+zip": ".hwpx", "application/vnd.hancom.hwpx": ".hwpx",
}


def iter_files(src, scratch: Path) -> Iterator:
    import httpx

    from nuri.data.sources import Located

    with httpx.Client(timeout=src.timeout_s, follow_redirects=True) as client:
        for i, url in enumerate(src.urls):
            path = urlparse(url).path
            suffix = PurePosixPath(path).suffix.lower()
            local = Path(scratch) / f"http-{i}"
            try:
                with client.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        yield Bad(url, f"HTTP {resp.status_code}")
                        continue
                    if suffix not in SUFFIXES:
                        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                        suffix = CONTENT_TYPES.get(ctype, "")
                        if not suffix:
                            yield Bad(url, f"unknown format (Content-Type {ctype or 'missing'})")
                            continue
                    local = local.with_suffix(suffix)
                    with local.open("wb") as f:
                        for chunk in resp.iter_bytes(1 << 20):
                            f.write(chunk)
            except httpx.HTTPError as e:
                yield Bad(url, f"download failed ({type(e).__name__})")
                continue
            try:
                rel = PurePosixPath(path).name or f"document-{i}{suffix}"
                yield Located(url, rel, local)
            finally:
                local.unlink(missing_ok=True)
