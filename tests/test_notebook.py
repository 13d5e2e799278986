"""The notebook's code is valid, and its cluster submission reaches a Kubeflow
Pipelines API (a stand-in HTTP server on loopback; no cluster runs here)."""

import json

import pytest

from nuri_testing import REPO, WELFARE, KfpApiStandIn


def test_notebook_cells_compile():
    nb = json.loads((REPO / "notebooks" / "reference_pipeline.ipynb").read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 4
    for i, cell in enumerate(cells):
        compile("".join(cell["source"]), f"cell {i}", "exec")


@pytest.fixture
def kfp_api():
    with KfpApiStandIn() as api:
        yield api


def test_submit_sends_the_compiled_pipeline(kfp_api, tmp_path):
    from nuri.compile import compile_pipeline, submit
    from nuri.config import load_domain_config

    config = load_domain_config(WELFARE)
    package = compile_pipeline(config, tmp_path / "p.yaml")
    run = submit(package, kfp_api.url, run_id="nb-1", namespace="agency-welfare", config=config)
    assert run.run_id in kfp_api.runs
    body = kfp_api.posted("/runs")[0]
    spec = body["pipeline_spec"]
    assert spec["pipeline_spec"]["pipelineInfo"]["name"] == "nuri-reference"
    assert "kubernetes" in spec["platform_spec"]["platforms"]  # GPU selectors, secrets travel too
    assert body["experiment_id"] in kfp_api.experiments
    params = body["runtime_config"]["parameters"]
    assert params["run_id"] == "nb-1" and json.loads(params["domain_config"])["name"] == "welfare"
