"""Checks a domain's inputs before any work starts, so bad input fails in a second with
one line naming the file, line or field, instead of minutes into a run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import os
import socket
from urllib.parse import urlparse

from nuri.config import DomainConfig
from nuri.data.ingest import INGESTED_FILES, _empty_error
from nuri.data.records import iter_jsonl
from nuri.data.sources import BadInputs, iter_documents
from nuri.errors import ConfigError, DataError, NuriError
from nuri.storage import S3Storage, materialize, open_storage


def preflight(config: DomainConfig) -> dict[str, int]:
    """Checks the storage and the base model, reads every local and object-store source
    once (corpus and JSONL sets) and checks that remote sources have what they need
    (service keys); returns record counts. HTTP and open-data sources are not
    downloaded here: the ingest stage reads them."""
    check_storage(config.storage.uri)
    check_base_model(config)
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
        for field, (schema, _) in INGESTED_FILES.items():
            uri = getattr(data, field)
            if uri is None:
                continue
            k = sum(1 for _ in iter_jsonl(materialize(uri, Path(cache)), schema))
            if k == 0:
                raise DataError(f"{uri}: no records")
            counts[field] = k
    if data.bootstrap is not None:
        counts.update(check_bootstrap(config))
    return counts


def check_bootstrap(config: DomainConfig) -> dict[str, int]:
    """data.bootstrap's inputs are there and readable, and the guard has the words the
    derived declines and refusals need; returns the shared prompts' counts."""
    from nuri.data.bootstrap import guard_messages, read_prompts

    boot = config.data.bootstrap
    guard_messages(config)
    return {"shared_offdomain_prompts": len(read_prompts(boot.offdomain_prompts, ("prompt",))),
            "shared_harmful_prompts": len(read_prompts(boot.harmful_prompts, ("prompt", "category")))}


def check_storage(uri: str, timeout_s: float = 5.0) -> None:
    """The platform storage can be written: a local folder that can be created, or an
    object store whose credentials are set, whose endpoint answers and whose bucket
    exists. Messages name the setting and never carry a credential."""
    try:
        storage = open_storage(uri)
    except NuriError as e:
        raise ConfigError(f"storage.uri {uri}: {e}") from None
    if not isinstance(storage, S3Storage):
        root = storage.root
        existing = next(p for p in (root, *root.parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            raise ConfigError(f"storage.uri {uri}: {existing} is not a writable folder")
        return
    if not _ask_object_store(storage, f"storage.uri {uri}", storage.client.bucket_exists, storage.bucket,
                             timeout_s=timeout_s):
        raise ConfigError(f"storage.uri {uri}: bucket {storage.bucket!r} does not exist")


def _ask_object_store(storage: S3Storage, where: str, call, *args, timeout_s: float = 5.0):
    """call(*args) once the endpoint answers, every failure one ConfigError that names
    `where` and the endpoint's host and port only (an endpoint URL may carry user:password)."""
    endpoint = urlparse(storage.endpoint if "://" in storage.endpoint else f"https://{storage.endpoint}")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=timeout_s).close()
    except OSError as e:
        raise ConfigError(f"{where}: the object store at {endpoint.scheme}://{endpoint.hostname}:{port} "
                          f"does not answer ({e.strerror or type(e).__name__})") from None
    try:
        return call(*args)
    except Exception as e:  # minio's S3Error, or urllib3's errors when TLS or the protocol is wrong
        raise ConfigError(f"{where}: the object store refused the request "
                          f"({getattr(e, 'code', None) or type(e).__name__})") from None


def check_base_model(config: DomainConfig) -> None:
    """A pretrained base model is a Hugging Face model folder (config.json), locally or
    under an s3:// prefix."""
    base = config.base_model
    if base.source != "pretrained":
        return
    where = f"base_model.path {base.path}"
    if base.path.startswith("s3://"):
        parsed = urlparse(base.path)
        try:
            storage = S3Storage(parsed.netloc)
        except NuriError as e:
            raise ConfigError(f"{where}: {e}") from None
        if not _ask_object_store(storage, where, storage.exists, f"{parsed.path.strip('/')}/config.json"):
            raise ConfigError(f"{where}: no config.json there (not a Hugging Face model folder)")
        return
    folder = Path(base.path.removeprefix("file://"))
    if not folder.is_dir():
        raise ConfigError(f"{where}: no such folder")
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{where}: no config.json there (not a Hugging Face model folder)")
