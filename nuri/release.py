"""Versioned releases in storage with lineage, and promotion after the self-test.

    releases/<domain>/<version>/model/...       the served model and tokenizer
    releases/<domain>/<version>/domain.json     the config that produced it
    releases/<domain>/<version>/metrics.json    evaluation metrics and gate decisions
    releases/<domain>/<version>/lineage.json    data hashes -> checkpoints -> evaluation
    releases/<domain>/<version>/card.{json,md,html}  the model profile card (model/README.md: HF card)
    releases/<domain>/<version>/safety_classifier/   the classifier it was judged by, with its card
    releases/<domain>/<version>/RELEASE.json    written last: the release exists once it does
    releases/<domain>/PROMOTED.json             the version that passed its serving self-test
    releases/<domain>/DEPLOYED.json             where the cluster serves the promoted version

Release folders are immutable; promotion and deployment are the only things that move."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nuri import __version__
from nuri.errors import NuriError
from nuri.profile_card import write_card
from nuri.storage import LocalStorage, Storage, open_storage, sha256_file

MARKER = "RELEASE.json"
PROMOTED = "PROMOTED.json"
DEPLOYED = "DEPLOYED.json"
_VERSION = re.compile(r"^v(\d{4,})$")


@dataclass(frozen=True)
class Release:
    domain: str
    version: str
    uri: str

    @property
    def name(self) -> str:
        return f"{self.domain}-{self.version}"


def model_digest(model_dir: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(Path(model_dir).glob("*")) if p.is_file()}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def list_versions(storage: Storage, domain: str) -> list[str]:
    versions = set()
    for key in storage.list(f"releases/{domain}"):
        parts = key.split("/")
        if len(parts) >= 4 and parts[-1] == MARKER and _VERSION.match(parts[2]):
            versions.add(parts[2])
    return sorted(versions, key=lambda v: int(v[1:]))


def publish_release(storage: Storage, domain: str, model_dir: Path, *, config_json: str,
                    metrics: dict, lineage: dict, card: Callable[[dict], dict] | None = None,
                    extra_dirs: dict[str, Path] | None = None) -> Release:
    """Publishes the next version. The folder appears whole or not at all.
    card: makes the model profile card from the release's lineage record; it is written
    beside the lineage (card.json/.md/.html) and into the model folder (README.md)."""
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        import shutil

        shutil.copytree(model_dir, stage / "model")
        for name, folder in (extra_dirs or {}).items():  # e.g. the safety classifier beside the model
            shutil.copytree(folder, stage / name)
        (stage / "domain.json").write_text(config_json, encoding="utf-8")
        (stage / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2))
        for attempt in range(5):  # another run may take the same number: try the next
            existing = list_versions(storage, domain)
            version = f"v{(int(existing[-1][1:]) + 1 if existing else 1) + attempt:04d}"
            record = {**lineage, "release": f"{domain}-{version}", "domain": domain, "version": version,
                      "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                      "platform": {"nuri": __version__, "git_commit": git_commit()},
                      "config_sha256": hashlib.sha256(config_json.encode()).hexdigest()}
            if card is not None:
                write_card(card(record), stage, stage / "model")
            record["model_sha256"] = model_digest(stage / "model")
            (stage / "lineage.json").write_text(json.dumps(record, ensure_ascii=False, indent=2))
            manifest = {"release": f"{domain}-{version}", "files": {
                p.relative_to(stage).as_posix(): sha256_file(p) for p in sorted(stage.rglob("*")) if p.is_file()}}
            try:
                storage.publish_dir(f"releases/{domain}/{version}", stage, MARKER,
                                    json.dumps(manifest, indent=2).encode())
            except NuriError:
                continue
            return Release(domain, version, f"{storage.uri}/releases/{domain}/{version}")
    raise NuriError(f"could not allocate a release version under {storage.uri}/releases/{domain}")


def promote(storage: Storage, release: Release, selftest: dict) -> None:
    storage.put_bytes(f"releases/{release.domain}/{PROMOTED}", json.dumps(
        {"version": release.version, "selftest": selftest,
         "promoted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
        ensure_ascii=False, indent=2).encode())


def promoted_version(storage: Storage, domain: str) -> str | None:
    key = f"releases/{domain}/{PROMOTED}"
    return json.loads(storage.get_bytes(key))["version"] if storage.exists(key) else None


def record_deployment(storage: Storage, release: Release, deployment: dict) -> dict:
    """Records where the cluster serves `release` (endpoint, service, the question it
    answered); written beside PROMOTED.json, the release folder stays untouched."""
    record = {"version": release.version, "release": release.name, **deployment,
              "deployed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    storage.put_bytes(f"releases/{release.domain}/{DEPLOYED}",
                      json.dumps(record, ensure_ascii=False, indent=2).encode())
    return record


def deployed(storage: Storage, domain: str) -> dict | None:
    """The latest deployment record of the domain, None before the first."""
    key = f"releases/{domain}/{DEPLOYED}"
    return json.loads(storage.get_bytes(key)) if storage.exists(key) else None


def fetch_release(storage_uri: str, domain: str, version: str | None, cache_dir: Path) -> tuple[Release, Path]:
    """A local folder holding the release (the promoted one when version is None)."""
    storage = open_storage(storage_uri)
    version = version or promoted_version(storage, domain)
    if version is None:
        raise NuriError(f"{storage.uri}: no promoted release for domain {domain!r}; pass --version")
    prefix = f"releases/{domain}/{version}"
    if not storage.exists(f"{prefix}/{MARKER}"):
        raise NuriError(f"{storage.uri}/{prefix}: no such release")
    release = Release(domain, version, f"{storage.uri}/{prefix}")
    if isinstance(storage, LocalStorage):
        return release, Path(storage.uri) / prefix
    dest = Path(cache_dir) / domain / version
    storage.get_dir(prefix, dest)
    return release, dest


def release_card(storage: Storage, domain: str, version: str) -> dict:
    """A release's profile card, with the self-test's speed once the release is promoted."""
    from nuri.profile_card import with_selftest

    prefix = f"releases/{domain}/{version}"
    if not storage.exists(f"{prefix}/{MARKER}"):
        raise NuriError(f"{storage.uri}/{prefix}: no such release")
    if not storage.exists(f"{prefix}/card.json"):
        raise NuriError(f"{storage.uri}/{prefix}: the release has no profile card (made before cards existed)")
    card = json.loads(storage.get_bytes(f"{prefix}/card.json"))
    promoted = f"releases/{domain}/{PROMOTED}"
    if storage.exists(promoted):
        record = json.loads(storage.get_bytes(promoted))
        if record.get("version") == version:
            card = with_selftest(card, record.get("selftest"))
    return card
