"""The README's claim "the local Ray keeps token authentication on", held by a real Ray:
the dashboard's Jobs API turns away a job submitted without the token and serves the
same request with it; and a run whose Ray would accept anyone (RAY_AUTH_MODE=disabled)
says so in one line on the terminal."""

import os
import subprocess
import sys

import httpx
import pytest

from nuri.serving.server import free_port
from nuri_testing import REPO, write_domain

pytestmark = pytest.mark.slow


def test_local_ray_refuses_a_job_without_the_token():
    from ray._private.authentication.http_token_authentication import get_auth_headers_if_auth_enabled

    from nuri.train.runtime import LocalRayCluster

    with LocalRayCluster(num_cpus=1) as ray_cluster:
        assert ray_cluster.token_auth is True
        jobs = f"{ray_cluster.dashboard_url}/api/jobs/"
        anonymous = httpx.post(jobs, json={"entrypoint": "echo submitted-without-a-token"}, timeout=30)
        assert anonymous.status_code == 401
        headers = get_auth_headers_if_auth_enabled({})  # the token Ray's own clients send
        assert headers and httpx.get(jobs, headers=headers, timeout=30).status_code == 200


def test_nuri_run_says_in_one_line_when_ray_accepts_anyone(tmp_path):
    # A source nobody serves: ingest stops the run soon after Ray has started.
    dead = f"http://127.0.0.1:{free_port()}/notice.txt"
    domain = write_domain(tmp_path, {"data": {"sources": [{"kind": "http", "urls": [dead]}]}})
    proc = subprocess.run([sys.executable, "-m", "nuri", "run", "--domain", str(domain), "--root", str(tmp_path / "runs")],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    assert proc.returncode != 0
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if "nuri: warning:" in line]
    assert len(warnings) == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "accepts requests without a token (RAY_AUTH_MODE=disabled)" in warnings[0]
