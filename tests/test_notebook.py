"""The notebook's code is valid, and its cluster submission reaches a Kubeflow
Pipelines API (a stand-in HTTP server on loopback; no cluster runs here)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from nuri_testing import REPO, WELFARE


def test_notebook_cells_compile():
    nb = json.loads((REPO / "notebooks" / "reference_pipeline.ipynb").read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 4
    for i, cell in enumerate(cells):
        compile("".join(cell["source"]), f"cell {i}", "exec")


class _KfpStandIn(BaseHTTPRequestHandler):
    """Answers the few KFP v2beta1 calls kfp.Client makes to submit a run."""

    received: list = []

    def _send(self, body: dict):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if "/experiments" in self.path:
            self._send({"experiments": [], "total_size": 0})
        else:
            self._send({})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        _KfpStandIn.received.append((self.path, body))
        if self.path.endswith("/experiments"):
            self._send({"experiment_id": "exp-1", "display_name": body.get("display_name")})
        else:
            self._send({"run_id": "run-1", "display_name": body.get("display_name"), "state": "PENDING"})

    def log_message(self, *args):
        pass


@pytest.fixture
def kfp_api():
    server = HTTPServer(("127.0.0.1", 0), _KfpStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _KfpStandIn.received = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_submit_sends_the_compiled_pipeline(kfp_api, tmp_path):
    from nuri.compile import compile_pipeline, submit
    from nuri.config import load_domain_config

    config = load_domain_config(WELFARE)
    package = compile_pipeline(config, tmp_path / "p.yaml")
    run = submit(package, kfp_api, run_id="nb-1", namespace="agency-welfare", config=config)
    assert run.run_id == "run-1"
    path, body = [r for r in _KfpStandIn.received if r[0].endswith("/runs")][0]
    spec = body["pipeline_spec"]
    assert spec["pipeline_spec"]["pipelineInfo"]["name"] == "nuri-reference"
    assert "kubernetes" in spec["platform_spec"]["platforms"]  # GPU selectors, secrets travel too
    assert body["experiment_id"] == "exp-1"
    params = body["runtime_config"]["parameters"]
    assert params["run_id"] == "nb-1" and json.loads(params["domain_config"])["name"] == "welfare"
