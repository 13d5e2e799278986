"""The reference pipeline end to end on the embedded default (KFP's local runner, a
local Ray, local storage): the release of the suite's reference run (made through the
notebook, tests/conftest.py), `nuri run` as a user runs it (stopped by its release
gate), and the feedback loop on the release: raters, `nuri monitor`, `nuri retrain`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nuri_testing import REPO, TINY_OVERRIDES, cell, deep_merge, text, write_domain

pytestmark = pytest.mark.slow


def nuri_run(domain: Path, root: Path):
    return subprocess.run([sys.executable, "-m", "nuri", "run", "--domain", str(domain), "--root", str(root),
                           "--run-id", "test"], cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def reference(reference_run):
    """The suite's one reference run (tests/conftest.py), made through the notebook."""
    return reference_run.tmp, reference_run.domain, reference_run.notebook


def test_pipeline_releases_and_serves(reference):
    tmp_path, domain, nb = reference
    out = text(cell(nb, "run"))  # the run's summary, as `nuri run` prints it
    for stage in ("ingest", "prepare", "base_model", "pretrain", "sft", "reward", "ppo", "evaluate", "register",
                  "selftest"):
        assert f"\n{stage} " in out, stage
    assert "SUCCEEDED" in out and "released: welfare-v0001" in out and "served over HTTP" in out, out[-3000:]

    release = tmp_path / "storage" / "releases" / "welfare" / "v0001"
    lineage = json.loads((release / "lineage.json").read_text())
    assert len(lineage["data"]["dataset_version"]) == 16
    dataset = Path(lineage["data"]["dataset_uri"])  # the immutable, published dataset version
    assert dataset.name == lineage["data"]["dataset_version"] and (dataset / "card.html").exists()
    assert lineage["data"]["files_sha256"]["corpus_train.jsonl"]
    assert set(lineage["checkpoints"]) == {"pretrain", "sft", "reward", "ppo"}
    assert all(Path(p).is_dir() for p in lineage["checkpoints"].values())
    assert 0 <= lineage["evaluation"]["answer_rate_ppo"] <= 1 and lineage["evaluation"]["detector_macro_f1"] >= 0.8
    assert lineage["gates"]["evaluate"]["passed"] is True
    assert (release / "model" / "model.safetensors").exists() and (release / "RELEASE.json").exists()
    promoted = json.loads((tmp_path / "storage" / "releases" / "welfare" / "PROMOTED.json").read_text())
    assert promoted["version"] == "v0001" and promoted["selftest"]["passed"] is True

    summary = json.loads((tmp_path / "runs" / "runs" / "test" / "summary.json").read_text())
    assert summary["status"] == "succeeded" and summary["release"] == "welfare-v0001"
    evaluation = summary["reports"]["evaluate"]["metrics"]
    assert evaluation["perplexity_pretrain"] < evaluation["perplexity_base"]
    # behaviour for SFT and PPO side by side, with sample answers, in the table and the page
    assert "in-domain questions answered" in out and "off-domain questions declined" in out
    assert all(f"{m}_{p}" in evaluation for m in ("answer_rate", "decline_rate", "refusal_rate")
               for p in ("sft", "ppo"))
    page = (tmp_path / "runs" / "runs" / "test" / "summary.html").read_text(encoding="utf-8")
    assert "Behaviour on held-out prompts" in page and "Sample answers" in page
    assert (Path(summary["reports"]["evaluate"]["report_dir"]) / "evaluation.png").exists()


def test_impossible_release_gate_stops_the_release(tmp_path):
    # What is trained does not matter here, only that the release gate stops it: the
    # fine-tune-only method from scratch (training.method sft, no continued pretraining),
    # the fewest steps, and no stage gate that so little training could fail first.
    overrides = deep_merge(TINY_OVERRIDES, {
        "training": {"method": "sft", "continued_pretraining": False},
        "stages": {"sft": {"max_steps": 4}},
        "gates": {"pretrain": [], "sft": [], "reward": [], "ppo": [],
                  "release": [{"metric": "answer_rate_sft", "min": 1.01}]},
        "feedback": {"retrain": {"gates": {"pretrain": [], "sft": []}}}})
    domain = write_domain(tmp_path, overrides)
    proc = nuri_run(domain, tmp_path / "runs")
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    # What `nuri run` shows: progress lines, the stage table, the platform's overhead.
    out = proc.stdout
    for stage in ("ingest", "prepare", "base_model", "sft", "evaluate"):
        assert re.search(rf"\n{stage} +[0-9.]+ ", out), stage
    for stage in ("pretrain", "reward", "ppo"):  # the method's skipped stages
        assert re.search(rf"\n{stage} +- +not run", out), stage
    assert "Executing task 'sft'" in out and "Executing task 'pretrain'" not in out
    assert "platform overhead: Ray start" in out
    assert "Got executor_input" not in out  # progress only; the full log is on disk
    assert (tmp_path / "runs" / "runs" / "test" / "pipeline.log").stat().st_size > 10_000
    assert "GATE_FAILED" in proc.stdout
    assert "FAIL: answer_rate_sft=" in proc.stdout and "< min 1.01" in proc.stdout
    assert "released: nothing" in proc.stdout
    assert not (tmp_path / "storage" / "releases").exists()
    summary = json.loads((tmp_path / "runs" / "runs" / "test" / "summary.json").read_text())
    evaluation = summary["reports"]["evaluate"]["metrics"]
    assert {"perplexity_base", "perplexity_sft", "answer_rate_sft"} <= set(evaluation)
    assert not {k for k in evaluation if k.endswith("_ppo") or k.startswith(("ppo_", "reward_"))}


def test_a_foundation_model_is_evaluated_released_and_served_without_training(reference, tmp_path):
    # training.method foundation: the reference release's model stands for an agency's
    # pretrained foundation model; nothing is trained, the rest of the recipe is the same.
    import torch
    from safetensors.torch import load_file

    model = reference[0] / "storage" / "releases" / "welfare" / "v0001" / "model"
    overrides = deep_merge(TINY_OVERRIDES, {
        "base_model": {"source": "pretrained", "path": str(model)},
        "training": {"method": "foundation"},
        "gates": {"pretrain": [], "sft": [], "reward": [], "ppo": [],
                  "release": [{"metric": "detector_macro_f1", "min": 0.8}]},
        "feedback": {"retrain": {"gates": {"pretrain": [], "sft": []}}}})
    overrides["base_model"].pop("init", None)
    domain = write_domain(tmp_path, overrides)
    proc = nuri_run(domain, tmp_path / "runs")
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "Executing task 'sft'" not in out and "Executing task 'pretrain'" not in out
    assert "SUCCEEDED" in out and "released: welfare-v0001" in out and "served over HTTP" in out
    release = tmp_path / "storage" / "releases" / "welfare" / "v0001"
    lineage = json.loads((release / "lineage.json").read_text())
    assert lineage["training_method"] == "foundation" and lineage["stages"] == [] and lineage["checkpoints"] == {}
    assert lineage["base_model"]["kind"] == f"pretrained:{model}"
    card = json.loads((release / "card.json").read_text())
    assert card["stage"]["stage"]["value"] == "foundation" and card["stage"]["recipe"]["value"] == []
    assert card["stage"]["training_method"]["value"] == "foundation"
    assert 0 <= lineage["evaluation"]["answer_rate_base"] <= 1 and "answer_rate_sft" not in lineage["evaluation"]
    # The released weights are the foundation model's own.
    released, given = load_file(release / "model" / "model.safetensors"), load_file(model / "model.safetensors")
    assert released.keys() == given.keys() and all(torch.equal(released[k], given[k]) for k in given)


def test_ratings_cross_a_threshold_and_the_retrained_release_fails_less_on_them(reference):
    from nuri.config import load_domain_config
    from nuri.evaluation.grounding import extract_facts
    from nuri.feedback.simulate import (dataset_dir_of, detector_for, questions_from_dataset, rate_release,
                                        served)
    from nuri.feedback.store import FeedbackStore

    tmp, domain, nb = reference
    assert "status: SUCCEEDED" in text(cell(nb, "status")), "the reference run made no release"
    config = load_domain_config(domain)
    release_dir = tmp / "storage" / "releases" / "welfare" / "v0001"
    dataset = dataset_dir_of(release_dir, tmp / "cache")
    detector = detector_for(dataset)
    # Questions whose answer opens with the programme it is about: a tiny model's short
    # answer can then be checked on its first words.
    pool = questions_from_dataset(dataset, in_domain=200, harmful=2, seed=1)
    questions = [q for q in pool if not q.harmful and any(
        kind == "term" and q.expected.startswith(value) for kind, value in extract_facts(q.expected))][:4]
    questions += [q for q in pool if q.harmful]
    assert len(questions) == 6
    store = FeedbackStore.for_domain(config)
    with served(release_dir, feedback=store) as (url, model):
        rated = rate_release(url, model, questions, detector, workers=2)
    assert len(store.ratings(release="welfare-v0001")) == len(rated) == 6
    assert sum(r.kind != "good" for r in rated) >= 3, [r.kind for r in rated]

    env = {k: v for k, v in os.environ.items() if k != "NURI_FEEDBACK_DB_URL"}
    monitor = subprocess.run([sys.executable, "-m", "nuri", "monitor", "--domain", str(domain)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert monitor.returncode == 0, monitor.stderr[-2000:]
    assert "CROSSED" in monitor.stdout and "retrain: due" in monitor.stdout

    retrain = subprocess.run([sys.executable, "-m", "nuri", "retrain", "--domain", str(domain), "--root",
                              str(tmp / "runs"), "--run-id", "retrain"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=900)
    out = retrain.stdout
    assert retrain.returncode == 0, out[-3000:] + retrain.stderr[-3000:]
    assert "retrain due" in out and "released: welfare-v0002" in out
    lineage = json.loads((tmp / "storage" / "releases" / "welfare" / "v0002" / "lineage.json").read_text())
    card = json.loads((Path(lineage["data"]["dataset_uri"]) / "card.json").read_text())
    assert card["feedback"]["from_releases"] == ["welfare-v0001"] and card["counts"]["feedback_sft"] > 0
    assert lineage["base_model"]["kind"] == f"pretrained:{release_dir}/model"  # not from scratch
    assert lineage["gates"]["evaluate"]["passed"] is True  # the held-out release gates, unchanged
    rates = dict(re.findall(r"(welfare-v000[12]): failure rate ([0-9.]+)", out))
    assert float(rates["welfare-v0002"]) < float(rates["welfare-v0001"]), out[-1500:]
