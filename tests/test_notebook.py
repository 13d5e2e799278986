"""The notebooks run, every cell, in a kernel of this environment (nbclient + ipykernel):
the reference notebook validates a tiny domain, runs the pipeline locally, shows the
training curves and the evaluation chart, and compiles and submits to a stand-in of the
Kubeflow Pipelines API (HTTP on loopback; no cluster runs here); the feedback notebook
serves the release that run made, rates it over HTTP, shows `nuri monitor`'s rates and
chart, and checks whether a retrain is due. One pipeline run for the module.

The welfare domain's own compiled pipeline reaches the stand-in too, without a run."""

import json
import re
from pathlib import Path

import pytest

from nuri_testing import REPO, WELFARE, KfpApiStandIn, cell, execute_notebook, pngs, text

NOTEBOOKS = REPO / "notebooks"
REFERENCE = NOTEBOOKS / "reference_pipeline.ipynb"
FEEDBACK = NOTEBOOKS / "feedback_loop.ipynb"



def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("notebook", [REFERENCE, FEEDBACK], ids=lambda p: p.stem)
def test_notebook_cells_compile(notebook):
    cells = code_cells(notebook)
    assert len(cells) >= 4
    assert "parameters" in cells[0].get("metadata", {}).get("tags", [])  # a runner can replace it
    for i, cell in enumerate(cells):
        compile("".join(cell["source"]), f"cell {i}", "exec")
        assert not cell.get("outputs") and cell.get("execution_count") is None, f"cell {i} keeps outputs"


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


# --- the notebooks, executed ---------------------------------------------------------------

@pytest.mark.slow
def test_reference_notebook_runs_the_pipeline_and_submits_it(reference_run):
    tmp, domain, nb, api = reference_run.tmp, reference_run.domain, reference_run.notebook, reference_run.api
    assert f"{domain}: valid (welfare); documents " in text(cell(nb, "validate"))

    run = text(cell(nb, "run"))
    assert "Executing task 'pretrain'" in run and "Task 'selftest' finished with status SUCCESS" in run  # progress
    assert "Got executor_input" not in run  # only progress lines; the full log is on disk
    assert (tmp / "runs" / "runs" / "test" / "pipeline.log").stat().st_size > 10_000
    status = text(cell(nb, "status"))
    assert "run id: test" in status and "status: SUCCEEDED" in status, run[-3000:]
    assert "release: welfare-v0001" in status

    assert pngs(cell(nb, "curves")) == 4  # pretrain, sft, reward, ppo
    assert pngs(cell(nb, "evaluation")) == 1

    assert (tmp / "build" / "nuri-reference.yaml").is_file()
    submitted = re.search(r"submitted run (\S+) to http://127\.0\.0\.1:", text(cell(nb, "submit")))
    assert submitted and submitted.group(1) in api.runs, text(cell(nb, "submit"))
    body = api.posted("/runs")[0]
    assert body["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == "nuri-reference"
    assert body["runtime_config"]["parameters"]["run_id"].startswith("nb-")
    assert body["experiment_id"] in api.experiments


@pytest.mark.slow
def test_feedback_notebook_rates_the_release_and_checks_the_retrain(reference_run, tmp_path):
    import shutil

    from nuri.config import load_domain_config
    from nuri.feedback.store import FeedbackStore

    assert "status: SUCCEEDED" in text(cell(reference_run.notebook, "status")), "the reference run made no release"
    # On a copy of the release's storage: the feedback loop test rates the same release.
    tmp = tmp_path
    shutil.copytree(reference_run.tmp / "storage", tmp / "storage")
    domain = tmp / "domain.yaml"
    domain.write_text(reference_run.domain.read_text(encoding="utf-8").replace(
        str(reference_run.tmp / "storage"), str(tmp / "storage")), encoding="utf-8")
    nb = execute_notebook(FEEDBACK, {"DOMAIN": str(domain), "RUN_ROOT": str(tmp / "runs"), "QUESTIONS": 6,
                                     "HARMFUL": 2}, tmp / "feedback_loop.executed.ipynb")

    assert "serving welfare-v0001 at http://127.0.0.1:" in text(cell(nb, "serve"))
    one = text(cell(nb, "rate-one"))
    assert re.search(r"rated \w+: HTTP 201 ", one), one
    store = FeedbackStore.for_domain(load_domain_config(domain))
    try:
        stored = store.ratings(release="welfare-v0001")
    finally:
        store.close()
    assert len(stored) == 8  # 6 questions and 2 harmful requests, each rated once
    assert "8 ratings of welfare-v0001 stored" in text(cell(nb, "rate"))

    monitor = text(cell(nb, "monitor"))
    assert "ratings of welfare-v0001: 8 in the last 168 h (min_ratings 6)" in monitor, monitor
    assert re.search(r"^hallucination +\d+ +[0-9.]+ +0\.30", monitor, re.M), monitor
    assert "retrain: " in monitor and "objectives at http://127.0.0.1:" in monitor
    assert pngs(cell(nb, "monitor")) == 1

    check = text(cell(nb, "retrain-check"))
    assert re.search(r"welfare-v0001: 8 ratings in the last 168 h; retrain (due|not due) \(", check), check
    if "retrain due" in check:  # what it would train on, counted
        counts = r"feedback dataset \S+ at \S+: \d+ SFT pairs, \d+ preference pairs, \d+ filtering items"
        assert re.search(counts, check), check
    assert "FULL_RETRAIN is False" in text(cell(nb, "retrain"))
    assert not (tmp / "storage" / "releases" / "welfare" / "v0002").exists()
