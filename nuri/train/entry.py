"""The entry point a training job runs in the cluster (the RayJob's entrypoint, or a job
on a long-lived RayCluster through the Ray Jobs API):

    python -m nuri.train.entry --work-uri s3://agency-welfare/nuri/jobs/nuri-welfare-sft-1a2b3c4d

It reads the job spec staged by the pipeline step (nuri.cluster.staging), fetches the
inputs, runs the very same `training_stage` a local run uses on the Ray cluster it was
started in (RAY_ADDRESS), and writes the model and report back. A failed gate is a
result, not an error: the job succeeds (no KubeRay retry) and the step fails the gate.
Exit status: 0 done (ok or gate_failed), 1 error."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import traceback
from pathlib import Path

log = logging.getLogger("nuri")


def run(work: str) -> str:
    from nuri.cluster import staging
    from nuri.config import DomainConfig
    from nuri.errors import GateFailed
    from nuri.stages import training_stage

    job = staging.read_job(work)
    config = DomainConfig.from_json(job["config"])
    # Inside the job, the stage runs on the job's own Ray: local mode from here on.
    local = config.model_copy(update={"runtime": config.runtime.model_copy(update={"mode": "local"})})
    with tempfile.TemporaryDirectory(prefix="nuri-job-") as tmp:
        tmp = Path(tmp)
        inputs, dataset = staging.fetch_inputs(work, job, tmp / "in")
        model_dir, report_dir = tmp / "out" / "model", tmp / "out" / "report"
        status, error = "ok", None
        try:
            training_stage(job["stage"], local.to_json(), job["run_id"], inputs, dataset, str(model_dir),
                           str(report_dir), loop_overrides=job.get("loop_overrides"))
        except GateFailed as e:
            status, error = "gate_failed", str(e)
        except Exception as e:  # the step reads the error from DONE.json
            traceback.print_exc()
            status, error = "error", f"{type(e).__name__}: {e}"[:2000]
        staging.put_outputs(work, model_dir if status != "error" else None, report_dir, status, error)
    log.info("job %s: %s", work, status)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nuri.train.entry", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-uri", required=True, help="object-store URI (or folder) of the staged job")
    args = parser.parse_args(argv)
    from nuri.stages import setup_logging

    setup_logging()
    return 0 if run(args.work_uri) in ("ok", "gate_failed") else 1


if __name__ == "__main__":
    sys.exit(main())
