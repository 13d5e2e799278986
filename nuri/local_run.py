"""The embedded default: run the reference pipeline on this machine with KFP's local
runner, one local Ray for the whole run, and storage on local disk."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nuri.config import DomainConfig, StorageConfig
from nuri.preflight import preflight
from nuri.stages import REPORT_FILE

log = logging.getLogger("nuri")


@dataclass
class RunResult:
    run_id: str
    status: str                      # succeeded | gate_failed | failed
    wall_s: float
    ray_start_s: float
    reports: dict[str, dict] = field(default_factory=dict)
    run_dir: str | None = None
    error: str | None = None

    @property
    def release(self) -> str | None:
        return self.reports.get("register", {}).get("release")

    @property
    def stage_seconds(self) -> float:
        return sum(r.get("wall_s", 0) for r in self.reports.values())

    @property
    def kfp_overhead_s(self) -> float:
        """What the run spent outside its stages other than starting Ray (wall_s counts
        Ray's start too): the local runner's orchestration and each step's process start."""
        return max(0.0, self.wall_s - self.stage_seconds - self.ray_start_s)

    @property
    def overhead_s(self) -> float:
        """Platform overhead: Ray start, KFP orchestration and component start, and the
        Ray Train worker-group starts inside the stages."""
        return self.ray_start_s + self.kfp_overhead_s + self.ray_worker_start_s

    @property
    def overhead_share(self) -> float:
        return self.overhead_s / self.wall_s if self.wall_s else 0.0

    @property
    def ray_worker_start_s(self) -> float:
        return sum(r.get("metrics", {}).get("ray_worker_start_s", 0) or 0 for r in self.reports.values())

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "release": self.release}, ensure_ascii=False, indent=2)


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]


def with_local_storage(config: DomainConfig, storage_uri: str | None) -> DomainConfig:
    """Resolves a local storage folder against the working directory (component
    subprocesses must agree on it), or applies an override."""
    uri = storage_uri or config.storage.uri
    if "://" not in uri:
        uri = str(Path(uri).expanduser().resolve())
    return config.model_copy(update={"storage": StorageConfig(uri=uri)})


def collect_reports(run_dir: Path) -> dict[str, dict]:
    reports = {}
    for f in sorted(run_dir.glob(f"*/report/{REPORT_FILE}")):
        r = json.loads(f.read_text())
        r["report_dir"] = str(f.parent)
        reports[r["stage"]] = r
    return reports


def run_local(config: DomainConfig, *, root: Path, run_id: str | None = None) -> RunResult:
    import kfp.local

    from pipelines.reference import PIPELINE_NAME, build_pipeline_for
    from nuri.train.runtime import LocalRayCluster

    preflight(config)
    run_id = run_id or new_run_id()
    pipeline_root = Path(root).resolve() / "kfp"
    pipeline_root.mkdir(parents=True, exist_ok=True)
    before = set(pipeline_root.glob(f"{PIPELINE_NAME}-*"))
    pipeline = build_pipeline_for(config)
    t0 = time.perf_counter()
    status, error = "succeeded", None
    with LocalRayCluster() as ray_cluster:
        log.info("local Ray up in %.1fs at %s; running pipeline %s", ray_cluster.start_seconds,
                 ray_cluster.address, run_id)
        kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root),
                       raise_on_error=True)
        try:
            pipeline(domain_config=config.to_json(), run_id=run_id)
        except RuntimeError as e:
            status, error = "failed", str(e).splitlines()[0][:300]
    wall = time.perf_counter() - t0
    new_dirs = sorted(set(pipeline_root.glob(f"{PIPELINE_NAME}-*")) - before)
    run_dir = new_dirs[-1] if new_dirs else None
    reports = collect_reports(run_dir) if run_dir else {}
    if any(r.get("status") == "gate_failed" for r in reports.values()):
        status = "gate_failed"
    elif status == "succeeded" and not reports.get("evaluate", {}).get("gate", {}).get("passed", False):
        status = "gate_failed"
    result = RunResult(run_id=run_id, status=status, wall_s=round(wall, 1),
                       ray_start_s=round(ray_cluster.start_seconds, 1), reports=reports,
                       run_dir=str(run_dir) if run_dir else None, error=error)
    out = Path(root) / "runs" / run_id
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(result.to_json())
    from nuri.summary import render_html

    text = format_summary(result, config).split("\n")
    footer = text[next((i for i, line in enumerate(text) if line.startswith("total wall time")), 0):]
    (out / "summary.html").write_text(render_html(
        reports, f"Nuri run {run_id}: {config.name} ({status})", footer), encoding="utf-8")
    return result


def format_summary(result: RunResult, config: DomainConfig) -> str:
    from nuri.summary import render_behaviour, render_table

    lines = ["", f"Nuri run {result.run_id} — domain {config.name} — {result.status.upper()}", "",
             render_table(result.reports), ""]
    behaviour = render_behaviour(result.reports.get("evaluate"))
    if behaviour:
        lines += [behaviour, ""]
    lines.append(f"total wall time {result.wall_s:.1f} s; stages {result.stage_seconds:.1f} s; "
                 f"platform overhead: Ray start {result.ray_start_s:.1f} s, Ray Train worker-group starts "
                 f"{result.ray_worker_start_s:.1f} s (inside the training stages), KFP orchestration and "
                 f"component start {result.kfp_overhead_s:.1f} s ({result.overhead_share:.1%} of the run in all)")
    if result.release:
        reg = result.reports["register"]
        lines.append(f"released: {result.release} at {reg.get('release_uri')}")
    else:
        lines.append("released: nothing (a gate failed or a stage errored)")
    st = result.reports.get("selftest")
    if st and st.get("asked"):
        lines.append("served over HTTP:")
        for a in st["asked"]:
            lines.append(f"  {a['kind']:<10} Q: {a['question']}")
            by = " (guard)" if a.get("guard") in ("decline", "refuse") else ""
            lines.append(f"  {a.get('label', ''):<10} A: {a['answer']}{by}")
            if a.get("sources"):
                lines.append(f"  {'sources':<10}    {', '.join(a['sources'])}")
    if result.error:
        lines.append(f"error: {result.error}")
    if result.run_dir:
        lines.append(f"artifacts: {result.run_dir}")
        lines.append(f"summary page: {Path(result.run_dir).parents[1] / 'runs' / result.run_id / 'summary.html'}")
    return "\n".join(lines)
