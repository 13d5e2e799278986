"""Checks a domain's inputs before any work starts, so bad input fails in a second with
one line naming the file, line or field, instead of minutes into a run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.ingest import AUX_FILES, _empty_error
from nuri.data.records import iter_jsonl
from nuri.data.sources import BadInputs, iter_documents
from nuri.errors import DataError
from nuri.storage import materialize


def preflight(config: DomainConfig) -> dict[str, int]:
    """Reads every local and object-store source once (corpus and JSONL sets) and checks
    that remote sources have what they need (service keys); returns record counts.
    HTTP and open-data sources are not downloaded here: the ingest stage reads them."""
    counts: dict[str, int] = {}
    data = config.data
    for src in data.all_sources():
        if src.kind == "open_data_api":
            from nuri.data.sources.open_data import service_key

            service_key(src)
    with tempfile.TemporaryDirectory() as cache:
        bad = BadInputs(data.on_bad_input)
        n = nonblank = 0
        for doc in iter_documents(data, Path(cache), bad, kinds={"folder", "s3"}):
            n += 1
            nonblank += bool(doc.text.strip())
        remote = [s for s in data.all_sources() if s.kind in ("http", "open_data_api")]
        if not nonblank and not remote:
            raise _empty_error(data)
        counts["documents"] = n
        if bad.entries:
            counts["bad_inputs_skipped"] = len(bad.entries)
        if remote:
            counts["remote_sources_unchecked"] = len(remote)
        for field, (schema, _) in AUX_FILES.items():
            uri = getattr(data, field)
            if uri is None:
                continue
            k = sum(1 for _ in iter_jsonl(materialize(uri, Path(cache)), schema))
            if k == 0:
                raise DataError(f"{uri}: no records")
            counts[field] = k
    return counts
