"""The reference pipeline end to end on the embedded default (KFP's local runner, a
local Ray, local storage), as a user runs it: `nuri run`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nuri_testing import REPO, TINY_OVERRIDES, deep_merge, write_domain

pytestmark = pytest.mark.slow


def nuri_run(domain: Path, root: Path):
    return subprocess.run([sys.executable, "-m", "nuri", "run", "--domain", str(domain), "--root", str(root),
                           "--run-id", "test"], cwd=REPO, capture_output=True, text=True, timeout=900)


def test_pipeline_releases_and_serves(tmp_path):
    domain = write_domain(tmp_path, TINY_OVERRIDES)
    proc = nuri_run(domain, tmp_path / "runs")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for stage in ("ingest", "prepare", "base_model", "pretrain", "sft", "reward", "ppo", "evaluate", "register",
                  "selftest"):
        assert f"\n{stage} " in out, stage
    assert "SUCCEEDED" in out and "released: welfare-v0001" in out and "served over HTTP" in out
    assert "platform overhead: Ray start" in out
    assert "Got executor_input" not in out  # progress only; the full log is on disk
    assert (tmp_path / "runs" / "runs" / "test" / "pipeline.log").stat().st_size > 10_000

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
    # fewest steps, and no stage gate that so little training could fail first.
    fewest = {"pretrain": {"max_steps": 4}, "sft": {"max_steps": 4}, "reward": {"max_steps": 4},
              "ppo": {"total_episodes": 8}}
    overrides = deep_merge(TINY_OVERRIDES, {"stages": fewest, "gates": {
        "pretrain": [], "sft": [], "reward": [], "ppo": [],
        "release": [{"metric": "answer_rate_ppo", "min": 1.01}]}})
    domain = write_domain(tmp_path, overrides)
    proc = nuri_run(domain, tmp_path / "runs")
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "GATE_FAILED" in proc.stdout
    assert "FAIL: answer_rate_ppo=" in proc.stdout and "< min 1.01" in proc.stdout
    assert "released: nothing" in proc.stdout
    assert not (tmp_path / "storage" / "releases").exists()
