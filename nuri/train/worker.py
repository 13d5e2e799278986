"""Worker side of a training stage: resume, progress, and the final report that carries
the finished model back to the driver. Runs inside Ray Train workers."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from transformers import TrainerCallback

from nuri.train.runtime import FINAL_DIR, HISTORY_FILE, METRICS_FILE


# Set by benchmarks to run a stage's loop in a plain process (no Ray Train session): the
# same trainer and arguments; the final report goes to this folder instead of Ray.
PLAIN_OUT_ENV = "NURI_PLAIN_OUT"


def plain_process() -> bool:
    return bool(os.environ.get(PLAIN_OUT_ENV))


def world_rank() -> int:
    if plain_process():
        return 0
    import ray.train

    return ray.train.get_context().get_world_rank()


def resume_checkpoint() -> str | None:
    """The HF checkpoint folder of the last reported checkpoint, if this is a restart."""
    if plain_process():
        return None
    import ray.train

    ckpt = ray.train.get_checkpoint()
    if ckpt is None:
        return None
    local = Path(ckpt.to_directory())
    hf = local / "checkpoint"
    return str(hf) if hf.is_dir() else None


_SCRATCH: list[str] = []


def scratch_dir() -> str:
    """A private folder for the trainer's own output (local checkpoints before Ray copies
    them to storage); report_final removes it, so workers leave nothing on disk."""
    path = tempfile.mkdtemp(prefix="nuri-train-")
    _SCRATCH.append(path)
    return path


def _remove_scratch() -> None:
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


def report_final(save_model: Callable[[Path], None], metrics: dict, log_history: list[dict],
                 started: float) -> None:
    """Every worker must call this once at the end: rank 0 saves the model and reports
    it with the stage's metrics as the run's last checkpoint."""
    try:
        _report_final(save_model, metrics, log_history, started)
    finally:
        _remove_scratch()


def _report_final(save_model: Callable[[Path], None], metrics: dict, log_history: list[dict],
                  started: float) -> None:
    import ray
    import ray.train

    from nuri.hardware import describe

    # The machine is read here, on the worker: the stage's driver may be a pod without
    # the accelerator (a RayJob's head), which the profile card's cost fields would name.
    gpu = not plain_process() and bool(ray.get_gpu_ids())  # the GPUs Ray gave this worker
    metrics = {**metrics, "worker_started": started, "hardware": describe(use_gpu=gpu)}
    if plain_process():
        out = Path(os.environ[PLAIN_OUT_ENV])
        save_model(out / FINAL_DIR)
        (out / METRICS_FILE).write_text(json.dumps(metrics))
        (out / HISTORY_FILE).write_text(json.dumps(log_history))
        return
    if world_rank() == 0:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            save_model(tmp / FINAL_DIR)
            (tmp / METRICS_FILE).write_text(json.dumps(metrics))
            (tmp / HISTORY_FILE).write_text(json.dumps(log_history))
            ray.train.report({k: v for k, v in metrics.items() if isinstance(v, (int, float))},
                             checkpoint=ray.train.Checkpoint.from_directory(tmp))
    else:
        ray.train.report({k: v for k, v in metrics.items() if isinstance(v, (int, float))})


class FailOnceAtStep(TrainerCallback):
    """Fault injection for tests and benchmarks: the worker raises at `step` in its first
    attempt only (a marker file tells attempts apart), so FailureConfig must restart it
    and training must resume from the last checkpoint."""

    def __init__(self, step: int, marker: str):
        self.step, self.marker = step, marker

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(time.time()))
            raise RuntimeError(f"injected worker failure at step {self.step}")
