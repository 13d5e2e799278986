"""The hand-off between a pipeline step and the training job it submits, through the
object store (or a shared folder): the step stages a job spec and its inputs under a
work URI, the job (`python -m nuri.train.entry --work-uri ...`) writes the stage's model
and report under the same URI, and the step fetches them back.

    <work>/job.json               {"stage", "run_id", "config", "inputs": {name: key}, "dataset": key}
    <work>/inputs/<name>/...      model folders the stage starts from
    <work>/inputs/dataset/...
    <work>/outputs/model/...      the finished model
    <work>/outputs/report/...     report.json, curves.png, log_history.json
    <work>/outputs/DONE.json      {"status": ok | gate_failed | error, "error": ...} written last
"""

from __future__ import annotations

import json
from pathlib import Path

from nuri.storage import open_storage

JOB_FILE = "job.json"
DONE_FILE = "outputs/DONE.json"


def work_uri(storage_uri: str, job_name: str) -> str:
    return f"{storage_uri.rstrip('/')}/jobs/{job_name}"


def _put_dir(storage, prefix: str, path: Path) -> None:
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        storage.put_file(f"{prefix}/{f.relative_to(path).as_posix()}", f)


def stage_job(work: str, *, stage: str, run_id: str, config_json: str, inputs: dict[str, str],
              dataset_dir: str, loop_overrides: dict | None = None) -> None:
    """Uploads inputs and the job spec (written last: a job never sees half a spec)."""
    storage = open_storage(work)
    keys = {}
    for name, path in inputs.items():
        keys[name] = f"inputs/{name}"
        _put_dir(storage, keys[name], Path(path))
    _put_dir(storage, "inputs/dataset", Path(dataset_dir))
    spec = {"stage": stage, "run_id": run_id, "config": config_json, "inputs": keys, "dataset": "inputs/dataset",
            "loop_overrides": loop_overrides or None}
    storage.put_bytes(JOB_FILE, json.dumps(spec).encode())


def read_job(work: str) -> dict:
    return json.loads(open_storage(work).get_bytes(JOB_FILE))


def fetch_inputs(work: str, job: dict, dest: Path) -> tuple[dict[str, str], str]:
    """Downloads the job's inputs into dest; (inputs as local dirs, dataset dir)."""
    storage = open_storage(work)
    local = {}
    for name, key in job["inputs"].items():
        local[name] = str(dest / name)
        storage.get_dir(key, dest / name)
    storage.get_dir(job["dataset"], dest / "dataset")
    return local, str(dest / "dataset")


def put_outputs(work: str, model_dir: Path | None, report_dir: Path, status: str, error: str | None) -> None:
    storage = open_storage(work)
    if model_dir is not None and Path(model_dir).is_dir():
        _put_dir(storage, "outputs/model", Path(model_dir))
    if Path(report_dir).is_dir():
        _put_dir(storage, "outputs/report", Path(report_dir))
    storage.put_bytes(DONE_FILE, json.dumps({"status": status, "error": error}).encode())


def read_done(work: str) -> dict | None:
    storage = open_storage(work)
    return json.loads(storage.get_bytes(DONE_FILE)) if storage.exists(DONE_FILE) else None


def fetch_outputs(work: str, model_dir: Path, report_dir: Path) -> None:
    storage = open_storage(work)
    if storage.list("outputs/model/"):
        storage.get_dir("outputs/model", Path(model_dir))
    if storage.list("outputs/report/"):
        storage.get_dir("outputs/report", Path(report_dir))
