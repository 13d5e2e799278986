"""The security grade of a domain's data (공개 / 민감 / 비공개), and what a confidential
grade forbids. Pure: a config in, the reasons it may not run out.

A confidential domain's data and everything made from it (datasets, checkpoints,
releases) stay in its own tenant's bucket, and nothing is sent to a model outside the
cluster: the storage URI must be the tenant's bucket and a teacher endpoint must be a
cluster-internal (or loopback) host. A local folder is allowed: on one machine the data
does not leave it."""

from __future__ import annotations

from urllib.parse import urlparse

GRADES = {"public": "공개", "sensitive": "민감", "confidential": "비공개"}
CONFIDENTIAL = "confidential"

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local")


def label(grade: str) -> str:
    """"confidential (비공개)"."""
    return f"{grade} ({GRADES[grade]})"


def tenant_bucket(domain: str) -> str:
    """A domain runs in the tenant named after it (docs/onboarding.md, step 8)."""
    from nuri.cluster.names import agency_bucket

    return agency_bucket(domain)


def in_cluster_host(host: str) -> bool:
    """A Kubernetes service name (`teacher`, `teacher.ns.svc`, `...svc.cluster.local`)
    or loopback. `teacher.ns` alone is not accepted: it reads the same as a public name."""
    host = (host or "").lower().rstrip(".")
    return bool(host) and (host in _LOOPBACK or "." not in host or host.endswith(_CLUSTER_SUFFIXES))


def _s3_bucket(uri: str) -> str | None:
    return urlparse(uri).netloc if uri.startswith("s3://") else None


def violations(config) -> list[str]:
    """Why a confidential domain may not run as configured (empty: it may)."""
    if config.data_grade != CONFIDENTIAL:
        return []
    out = []
    bucket = tenant_bucket(config.name)
    uri = config.storage.uri
    if "://" in uri and _s3_bucket(uri) != bucket:
        out.append(f"storage.uri {uri} is outside the tenant's bucket s3://{bucket}/")
    from nuri.config import DATA_PATH_FIELDS

    for field in DATA_PATH_FIELDS:
        value = getattr(config.data, field)
        if value and "://" in value and _s3_bucket(value) != bucket:
            out.append(f"data.{field} {value} is outside the tenant's bucket s3://{bucket}/")
    for i, source in enumerate(config.data.sources):
        if source.kind == "s3" and _s3_bucket(source.uri) != bucket:
            out.append(f"data.sources[{i}] {source.uri} is outside the tenant's bucket s3://{bucket}/")
    teacher = config.data.teacher
    if teacher is not None and not in_cluster_host(urlparse(teacher.base_url).hostname or ""):
        out.append(f"data.teacher.base_url {teacher.base_url} is outside the cluster (documents would leave it)")
    return out
