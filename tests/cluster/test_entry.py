"""`python -m nuri.train.entry`: reads the staged job, runs the stage, writes results and
DONE.json; a failed gate is a finished job (exit 0, no KubeRay retry), an error is not."""

import json
from pathlib import Path

import pytest

import nuri.stages
from nuri.cluster import staging
from nuri.errors import GateFailed
from nuri.train import entry


@pytest.fixture
def work(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "corpus_train.jsonl").write_text("{}\n")
    from nuri.cluster.rayjob import example_config

    config = example_config(False).model_copy(update={"storage": example_config(False).storage.model_copy(
        update={"uri": str(tmp_path / "storage")})})
    w = staging.work_uri(config.storage.uri, "nuri-welfare-pretrain-00000000")
    staging.stage_job(w, stage="pretrain", run_id="r", config_json=config.to_json(),
                      inputs={"model_dir": str(tmp_path / "model")}, dataset_dir=str(tmp_path / "data"))
    return w


def _fake_stage(outcome):
    def fake(stage, config_json, run_id, inputs, dataset_dir, model_dir, report_dir, *, loop_overrides=None):
        from nuri.config import DomainConfig

        assert DomainConfig.from_json(config_json).runtime.mode == "local"  # inside the job: local
        assert Path(inputs["model_dir"], "config.json").exists() and Path(dataset_dir, "corpus_train.jsonl").exists()
        Path(report_dir).mkdir(parents=True)
        (Path(report_dir) / "report.json").write_text(json.dumps({"stage": stage, "status": outcome}))
        if outcome == "error":
            raise RuntimeError("out of memory")
        Path(model_dir).mkdir(parents=True)  # the model exists before the gate is applied
        (Path(model_dir) / "model.safetensors").write_bytes(b"w")
        if outcome == "gate_failed":
            raise GateFailed("pretrain gate: FAIL: eval_loss_drop=0.01 < min 0.3")
        return {}
    return fake


@pytest.mark.parametrize("outcome, code", [("ok", 0), ("gate_failed", 0), ("error", 1)])
def test_entry_writes_results_and_done(work, monkeypatch, outcome, code):
    monkeypatch.setattr(nuri.stages, "training_stage", _fake_stage(outcome))
    assert entry.main(["--work-uri", work]) == code
    done = staging.read_done(work)
    assert done["status"] == outcome
    assert Path(work, "outputs", "report", "report.json").exists()
    assert Path(work, "outputs", "model", "model.safetensors").exists() == (outcome != "error")
    if outcome == "error":
        assert "out of memory" in done["error"]
