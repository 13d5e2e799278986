"""Both storage backends: a local folder, and S3 through the minio SDK against an S3
endpoint on loopback (moto's server stands in for MinIO, which cannot run here)."""

import json
import re
from pathlib import Path

import pytest

from nuri.errors import NuriError
from nuri.release import MARKER, list_versions, promote, promoted_version, publish_release, fetch_release
from nuri.storage import LocalStorage, S3Storage, materialize, open_storage


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, request):
    monkeypatch.setenv("NURI_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    bucket = ("nuri-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()))[:50].strip("-")
    store = open_storage(f"s3://{bucket}/platform")
    store.client.make_bucket(bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    return request.getfixturevalue("s3")


def _model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text('{"model_type": "llama"}')
    (d / "model.safetensors").write_bytes(b"\0" * 1024)
    return d


def test_bytes_files_and_listing(storage, tmp_path):
    storage.put_bytes("a/b.txt", "안녕".encode())
    assert storage.get_bytes("a/b.txt").decode() == "안녕"
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 10)
    storage.put_file("a/c/f.bin", src)
    assert storage.exists("a/c/f.bin") and not storage.exists("a/missing")
    assert storage.list("a") == ["a/b.txt", "a/c/f.bin"]
    storage.get_file("a/c/f.bin", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"x" * 10


def test_releases_are_versioned_immutable_and_carry_lineage(storage, tmp_path):
    model = _model_dir(tmp_path)
    r1 = publish_release(storage, "welfare", model, config_json="{}", metrics={"m": 1},
                         lineage={"data": {"dataset_version": "abc"}})
    r2 = publish_release(storage, "welfare", model, config_json="{}", metrics={"m": 2}, lineage={})
    assert (r1.version, r2.version) == ("v0001", "v0002")
    assert list_versions(storage, "welfare") == ["v0001", "v0002"]
    lineage = json.loads(storage.get_bytes("releases/welfare/v0001/lineage.json"))
    assert lineage["data"]["dataset_version"] == "abc"
    assert set(lineage["model_sha256"]) == {"config.json", "model.safetensors"}
    manifest = json.loads(storage.get_bytes(f"releases/welfare/v0001/{MARKER}"))
    assert "model/model.safetensors" in manifest["files"]
    with pytest.raises(NuriError, match="immutable"):
        storage.publish_dir("releases/welfare/v0001", model, MARKER, b"{}")
    promote(storage, r2, {"passed": True})
    assert promoted_version(storage, "welfare") == "v0002"


def test_unfinished_publication_is_not_a_release(storage, tmp_path):
    # A writer that died before the marker: files exist, the release does not.
    storage.put_bytes("releases/welfare/v0007/model/config.json", b"{}")
    assert list_versions(storage, "welfare") == []


def test_local_publish_is_atomic(tmp_path, monkeypatch):
    store = LocalStorage(tmp_path / "store")
    model = _model_dir(tmp_path)
    import nuri.storage as st

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(st.os, "rename", boom)
    with pytest.raises(OSError):
        store.publish_dir("releases/welfare/v0001", model, MARKER, b"{}")
    assert not (tmp_path / "store" / "releases" / "welfare" / "v0001").exists()
    assert not any((tmp_path / "store" / "releases" / "welfare").glob("*staging*"))


def test_fetch_release_from_s3_downloads_it(s3, tmp_path):
    model = _model_dir(tmp_path)
    rel = publish_release(s3, "edu", model, config_json="{}", metrics={}, lineage={})
    promote(s3, rel, {})
    release, local = fetch_release(s3.uri, "edu", None, tmp_path / "cache")
    assert release.version == "v0001"
    assert (local / "model" / "model.safetensors").read_bytes() == b"\0" * 1024


def test_materialize_s3_prefix_and_object(s3, tmp_path):
    s3.put_bytes("corpus/a.txt", b"a")
    s3.put_bytes("corpus/sub/b.txt", b"b")
    d = materialize(f"{s3.uri}/corpus", tmp_path / "c")
    assert sorted(p.name for p in d.rglob("*.txt")) == ["a.txt", "b.txt"]
    f = materialize(f"{s3.uri}/corpus/a.txt", tmp_path / "c2")
    assert f.read_bytes() == b"a"


def test_s3_needs_endpoint_and_credentials_from_environment(monkeypatch):
    monkeypatch.delenv("NURI_S3_ENDPOINT", raising=False)
    with pytest.raises(NuriError, match="NURI_S3_ENDPOINT"):
        S3Storage("bucket")
    monkeypatch.setenv("NURI_S3_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with pytest.raises(NuriError, match="AWS_ACCESS_KEY_ID"):
        S3Storage("bucket")


def test_local_keys_cannot_escape_root(tmp_path):
    with pytest.raises(NuriError, match="escapes"):
        LocalStorage(tmp_path / "s").put_bytes("../outside.txt", b"x")
