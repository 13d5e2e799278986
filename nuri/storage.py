"""One small storage interface, two backends: a local folder (the embedded default) and
S3-compatible object storage through the `minio` SDK (MinIO in the cluster).

Keys are '/'-separated paths below the storage root. Publication is all-or-nothing:
`publish_dir` makes a folder visible only once every file is in place (a rename on
disk; a marker object written last on S3), so readers never see half a release."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from nuri.errors import NuriError


class Storage(Protocol):
    uri: str

    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def get_file(self, key: str, path: Path) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def get_dir(self, prefix: str, path: Path) -> None: ...
    def publish_dir(self, prefix: str, path: Path, marker: str, marker_data: bytes) -> None: ...


def sha256_file(path: Path) -> str:
    """Content hash of a file, read in 1 MiB chunks (models and corpora are large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if p != self.root and self.root not in p.parents:
            raise NuriError(f"storage key escapes the storage root: {key}")
        return p

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def put_file(self, key: str, path: Path) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)

    def get_file(self, key: str, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._path(key), path)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.exists():
            return []
        if base.is_file():
            return [prefix]
        return [str(p.relative_to(self.root)) for p in _files_under(base) if not p.name.endswith(".tmp")]

    def get_dir(self, prefix: str, path: Path) -> None:
        shutil.copytree(self._path(prefix), path, dirs_exist_ok=True)

    def publish_dir(self, prefix: str, path: Path, marker: str, marker_data: bytes) -> None:
        dest = self._path(prefix)
        if dest.exists():
            raise NuriError(f"{self.uri}/{prefix} already exists; releases are immutable")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.staging")
        try:
            shutil.copytree(path, staging)
            (staging / marker).write_bytes(marker_data)
            os.rename(staging, dest)  # atomic on one filesystem: all or nothing
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class S3Storage:
    """S3-compatible storage. Endpoint and credentials come from the environment
    (NURI_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never from config
    files; in the cluster a Kubernetes secret provides them."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 region: str | None = None):
        from minio import Minio

        endpoint = endpoint or os.environ.get("NURI_S3_ENDPOINT")
        if not endpoint:
            raise NuriError("s3:// storage needs NURI_S3_ENDPOINT (e.g. http://minio.nuri-storage.svc.cluster.local:9000)")
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        if parsed.username or parsed.password:
            # Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY only; the URL is
            # printed in messages and logs, so it must not carry any.
            raise NuriError("NURI_S3_ENDPOINT must not carry a user or password (use AWS_ACCESS_KEY_ID "
                            "and AWS_SECRET_ACCESS_KEY)")
        access_key = access_key or os.environ.get("AWS_ACCESS_KEY_ID")
        secret_key = secret_key or os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            raise NuriError("s3:// storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        self.endpoint = endpoint
        self._credentials = (access_key, secret_key)  # kept for pyarrow; never logged
        self.secure = parsed.scheme == "https"
        self.client = Minio(parsed.netloc, access_key=access_key, secret_key=secret_key,
                            secure=self.secure, region=region or os.environ.get("AWS_REGION"))
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        key = key.strip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(self.bucket, self._key(key), io.BytesIO(data), len(data))

    def get_bytes(self, key: str) -> bytes:
        resp = self.client.get_object(self.bucket, self._key(key))
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def put_file(self, key: str, path: Path) -> None:
        self.client.fput_object(self.bucket, self._key(key), str(path))

    def get_file(self, key: str, path: Path) -> None:
        self.client.fget_object(self.bucket, self._key(key), str(path))

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, self._key(key))
            return True
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        return sorted(o.object_name[strip:] for o in
                      self.client.list_objects(self.bucket, prefix=full, recursive=True))

    def get_dir(self, prefix: str, path: Path) -> None:
        prefix = prefix.strip("/")
        for key in self.list(prefix + "/"):
            self.get_file(key, Path(path) / key[len(prefix) + 1:])

    def publish_dir(self, prefix: str, path: Path, marker: str, marker_data: bytes) -> None:
        prefix = prefix.strip("/")
        if self.exists(f"{prefix}/{marker}"):
            raise NuriError(f"{self.uri}/{prefix} already exists; releases are immutable")
        for f in _files_under(Path(path)):
            self.put_file(f"{prefix}/{f.relative_to(path).as_posix()}", f)
        # Readers treat a prefix without its marker as not published.
        self.put_bytes(f"{prefix}/{marker}", marker_data)

    def pyarrow_filesystem(self):
        """For Ray Train's RunConfig(storage_filesystem=...): checkpoints go straight
        to the object store."""
        import pyarrow.fs

        parsed = urlparse(self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
        # The AWS SDK under pyarrow reads no CA variable itself; a private CA (MinIO with
        # TLS in the cluster) is handed over from the one the minio SDK uses.
        return pyarrow.fs.S3FileSystem(
            endpoint_override=parsed.netloc, scheme=parsed.scheme,
            access_key=self._credentials[0], secret_key=self._credentials[1],
            tls_ca_file_path=os.environ.get("SSL_CERT_FILE") if self.secure else None)


def open_storage(uri: str) -> LocalStorage | S3Storage:
    """`s3://bucket/prefix` -> S3Storage; anything else is a local folder."""
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        if not parsed.netloc:
            raise NuriError(f"{uri}: an s3:// URI needs a bucket")
        return S3Storage(parsed.netloc, parsed.path)
    if "://" in uri and not uri.startswith("file://"):
        raise NuriError(f"{uri}: unsupported storage scheme (use a folder or s3://)")
    return LocalStorage(uri.removeprefix("file://"))


def materialize(uri: str, cache_dir: Path) -> Path:
    """A local path for a data location: itself when local, else a download of the
    object or prefix into cache_dir."""
    if not uri.startswith("s3://"):
        return Path(uri.removeprefix("file://"))
    parsed = urlparse(uri)
    store = S3Storage(parsed.netloc)
    key = parsed.path.strip("/")
    dest = Path(cache_dir) / parsed.netloc / key
    if store.exists(key):
        store.get_file(key, dest)
    else:
        store.get_dir(key, dest)
    return dest
