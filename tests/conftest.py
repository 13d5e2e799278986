"""Shared fixtures. Tests run offline (HF_HUB_OFFLINE=1) on the bundled sample domain;
slow tests train real (tiny) models under a real local Ray and KFP's local runner."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nuri_testing import SHARED, TINY_OVERRIDES, write_domain  # noqa: E402


@pytest.fixture
def tiny_domain(tmp_path) -> Path:
    return write_domain(tmp_path, TINY_OVERRIDES)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """The suite's one run of the reference pipeline, through the reference notebook
    (validate, run locally, curves, evaluation chart, compile and submit to a stand-in
    KFP API). Its release is served, rated and retrained by the tests that take it."""
    from types import SimpleNamespace

    from nuri_testing import NOTEBOOKS, REFERENCE_RUN, KfpApiStandIn, execute_notebook

    tmp = tmp_path_factory.mktemp("reference")
    domain = write_domain(tmp, REFERENCE_RUN)
    with KfpApiStandIn() as api:
        nb = execute_notebook(NOTEBOOKS / "reference_pipeline.ipynb",
                              {"DOMAIN": str(domain), "RUN_ROOT": str(tmp / "runs"), "RUN_ID": "test",
                               "PACKAGE": str(tmp / "build" / "nuri-reference.yaml"), "KFP_HOST": api.url},
                              tmp / "reference_pipeline.executed.ipynb")
    return SimpleNamespace(tmp=tmp, domain=domain, notebook=nb, api=api)


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    path = SHARED / "samples"
    if not path.is_dir():
        pytest.skip(f"{path} is absent (the shared Korean sample texts)")
    return path


# --- a real PostgreSQL for the feedback log's tests -----------------------------------

def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="session")
def local_postgres():
    """A throwaway PostgreSQL server on loopback: (host, port, admin password)."""
    bin_dir = _postgres_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a 'postgres' user to run the server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    work = Path(tempfile.mkdtemp(prefix="nuri-pg-"))
    if as_user:
        shutil.chown(work, "postgres")
    password = "local-admin-password"
    (work / "pw").write_text(password)
    from nuri.serving.server import free_port

    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(work / "data"), "-U", "postgres", "--auth=scram-sha-256",
        f"--pwfile={work / 'pw'}")
    run(str(bin_dir / "pg_ctl"), "-D", str(work / "data"), "-l", str(work / "log"), "-w", "start", "-o",
        f"-p {port} -k {work} -c listen_addresses=127.0.0.1")
    try:
        yield "127.0.0.1", port, password
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(work / "data"), "-m", "immediate", "stop")
        shutil.rmtree(work, ignore_errors=True)
