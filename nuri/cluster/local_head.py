"""A real Ray head with its dashboard (and so the Ray Jobs API) on loopback, as its own
process group: the stand-in for a long-lived RayCluster in tests and benchmarks.

`ray.init()` cannot move the dashboard agent off its fixed port (52365), so two heads on
one machine collide; `ray start --head` with every port chosen free does not. The head
is stopped by signalling its own process group (never `ray stop`, which would stop
every Ray on the machine)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRayHead:
    def __init__(self, num_cpus: int | None = None, env: dict[str, str] | None = None):
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.dashboard_url = ""
        self.gcs_address = ""
        self.start_seconds = 0.0
        self._tmp = ""
        self.auth_token = ""

    def __enter__(self) -> "LocalRayHead":
        ray_bin = Path(sys.executable).with_name("ray")
        ports = {name: free_port() for name in ("port", "dashboard-port", "dashboard-agent-listen-port",
                                                 "dashboard-agent-grpc-port", "ray-client-server-port",
                                                 "node-manager-port", "object-manager-port",
                                                 "metrics-export-port", "runtime-env-agent-port")}
        self._tmp = tempfile.mkdtemp(prefix="nr", dir="/tmp")  # short: Ray's socket paths are length-limited
        cmd = [str(ray_bin), "start", "--head", "--block", "--disable-usage-stats", "--include-dashboard=true",
               "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1", f"--num-cpus={self.num_cpus}",
               f"--temp-dir={self._tmp}", *[f"--{k}={v}" for k, v in ports.items()]]
        # Token authentication on, with a token of its own (given to clients as auth_token).
        self.auth_token = secrets.token_hex(32)
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
               "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.auth_token,
               # job entrypoints run `python`: this interpreter's
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **self.env}
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.gcs_address = f"127.0.0.1:{ports['port']}"
        self.dashboard_url = f"http://127.0.0.1:{ports['dashboard-port']}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.dashboard_url}/api/version", timeout=2):
                    break
            except urllib.error.HTTPError:  # it answers (401 without the auth token): up
                break
            except OSError:
                time.sleep(0.5)
        else:
            self.__exit__()
            raise RuntimeError("the Ray head's dashboard did not come up in 120 s")
        self.start_seconds = time.perf_counter() - t0
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                # `ray start --block` stops its own processes in order on SIGTERM.
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=40)
                os.killpg(self.proc.pid, signal.SIGKILL)  # anything left of the group
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
