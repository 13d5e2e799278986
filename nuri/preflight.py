"""Checks a domain's inputs before any work starts, so bad input fails in a second with
one line naming the file, line or field, instead of minutes into a run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.ingest import AUX_FILES, read_corpus
from nuri.data.records import iter_jsonl
from nuri.storage import materialize


def preflight(config: DomainConfig) -> dict[str, int]:
    """Reads every configured source once (corpus and JSONL sets); returns record counts."""
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as cache:
        counts["documents"] = len(read_corpus(materialize(config.data.corpus, Path(cache))))
        for field, (schema, _) in AUX_FILES.items():
            uri = getattr(config.data, field)
            if uri is None:
                continue
            n = sum(1 for _ in iter_jsonl(materialize(uri, Path(cache)), schema))
            if n == 0:
                from nuri.errors import DataError

                raise DataError(f"{uri}: no records")
            counts[field] = n
    return counts
