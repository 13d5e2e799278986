"""Driver side of a training stage: connect to Ray, run the stage's loop under Ray
Train (TorchTrainer; one worker without a process group, see trainer_for) with
checkpoints in the platform's storage, and bring the final model back as a plain
Hugging Face folder.

Locally the pipeline starts one Ray head per run (LocalRayCluster) and every stage
connects to it through RAY_ADDRESS; in the cluster RAY_ADDRESS points at KubeRay."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nuri.config import RuntimeConfig
from nuri.storage import S3Storage, open_storage

log = logging.getLogger(__name__)

FINAL_DIR = "final"          # inside the last checkpoint: the stage's finished model
METRICS_FILE = "metrics.json"
HISTORY_FILE = "log_history.json"

# Wherever a stage runs: no telemetry, deduplicated worker logs, TRL's notice about its
# experimental trainers silenced.
_RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}

# Only for a Ray that Nuri starts on this machine (LocalRayCluster, or a stage run on its
# own); the pipeline's steps inherit them from the process that started it, and a stage
# that joins KubeRay leaves Ray's defaults alone.
# RAY_worker_niceness: Ray starts workers at nice 15, so on a shared machine any other
# busy process took up to ~40% of a training worker's throughput (bench/training_bench.py).
# RAY_TRAIN_METRICS_ENABLED: Ray Train's Prometheus metrics callbacks; nothing scrapes a
# local Ray, so they only cost the 2-core machine CPU beside the training worker.
# RAY_TRAIN_HEALTH_CHECK_INTERVAL_S: the controller polls its workers this often and only
# then sees that training has ended (default 2 s: about 1 s lost per stage on average).
# RAY_TRAIN_ENABLE_PREEMPTION_WATCHER: one more actor process per stage, started beside
# the controller and the worker, that watches for nodes being drained (spot reclaim); a
# local Ray is one node that nothing drains.
# NURI_LOCAL_RAY: tells run_stage that the Ray it joins is one Nuri started (trainer_for).
LOCAL_RAY_MARKER = "NURI_LOCAL_RAY"
_LOCAL_RAY_ENV = {**_RAY_ENV, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_worker_niceness": "0",
                  "RAY_TRAIN_METRICS_ENABLED": "0", "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",
                  "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0", LOCAL_RAY_MARKER: "1"}


def ray_env(address: str | None) -> dict[str, str]:
    """The settings for a Ray a stage joins at `address`, or starts on this machine (None)."""
    return dict(_RAY_ENV if address else _LOCAL_RAY_ENV)


def _apply_env(env: dict[str, str]) -> list[str]:
    """Sets what the environment does not set already; returns the names it set."""
    added = [k for k in env if k not in os.environ]
    for k in added:
        os.environ[k] = env[k]
    return added


UNAUTHENTICATED = ("nuri: warning: the local Ray accepts requests without a token (RAY_AUTH_MODE={mode}): "
                   "anyone on this machine can submit jobs to it")
UNCHECKED = ("nuri: warning: could not check that the local Ray refuses requests without a token "
             "(RAY_AUTH_MODE={mode}, {error})")


def dashboard_refuses_anonymous(dashboard_url: str, timeout_s: float = 10.0) -> bool:
    """True when the dashboard's Jobs API turns away a request that carries no token
    (token authentication is on). Asked over HTTP, so it holds whatever Ray's version
    or settings claim."""
    import httpx

    return httpx.get(f"{dashboard_url}/api/jobs/", timeout=timeout_s).status_code in (401, 403)


class LocalRayCluster:
    """One Ray head on loopback for a whole pipeline run; stages connect via RAY_ADDRESS.
    Token authentication (Ray's default) stays on; `token_auth` says whether the
    dashboard really refuses an anonymous request, and a one-line warning goes to the
    log (and the terminal) when it does not."""

    def __init__(self, num_cpus: int | None = None):
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.address: str | None = None
        self.dashboard_url: str | None = None
        self.token_auth: bool | None = None
        self.start_seconds = 0.0
        self._previous: str | None = None
        self._added_env: list[str] = []

    def __enter__(self) -> "LocalRayCluster":
        # For this Ray and the pipeline steps started while it runs; taken back on exit,
        # so a cluster joined later in the same process keeps Ray's defaults.
        self._added_env = _apply_env(ray_env(None))
        import ray

        t0 = time.perf_counter()
        ctx = ray.init(num_cpus=self.num_cpus, include_dashboard=True, dashboard_host="127.0.0.1",
                       _node_ip_address="127.0.0.1", logging_level=logging.WARNING,
                       log_to_driver=False)
        self.start_seconds = time.perf_counter() - t0
        self.address = ctx.address_info["gcs_address"]
        self.dashboard_url = f"http://{ctx.dashboard_url}" if ctx.dashboard_url else None
        mode = os.environ.get("RAY_AUTH_MODE", "unset")
        try:
            self.token_auth = bool(self.dashboard_url) and dashboard_refuses_anonymous(self.dashboard_url)
            if not self.token_auth:
                log.warning(UNAUTHENTICATED.format(mode=mode))
        except Exception as e:  # noqa: BLE001 - a probe that cannot answer must not leave Ray running
            self.token_auth = None
            log.warning(UNCHECKED.format(mode=mode, error=type(e).__name__))
        self._previous = os.environ.get("RAY_ADDRESS")
        os.environ["RAY_ADDRESS"] = self.address
        return self

    def __exit__(self, *exc) -> None:
        import ray

        ray.shutdown()
        for k in self._added_env:
            os.environ.pop(k, None)
        if self._previous is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = self._previous


def connect_ray() -> None:
    """Joins the cluster in RAY_ADDRESS, or starts a private local one when unset (a
    component run on its own)."""
    address = os.environ.get("RAY_ADDRESS")
    _apply_env(ray_env(address))  # before Ray reads them
    import ray

    if ray.is_initialized():
        return
    if address:
        # Ray Train's helper actors look the cluster up again by themselves; with the
        # address in their environment they never pick another Ray on the same machine.
        ray.init(address=address, logging_level=logging.WARNING,
                 runtime_env={"env_vars": {"RAY_ADDRESS": address}})
    else:
        ray.init(include_dashboard=True, dashboard_host="127.0.0.1", _node_ip_address="127.0.0.1",
                 logging_level=logging.WARNING)


@dataclass
class StageRun:
    metrics: dict
    log_history: list[dict]
    checkpoint_uri: str
    fit_seconds: float
    worker_start_seconds: float
    attempts: dict = field(default_factory=dict)


def checkpoint_location(storage_uri: str) -> tuple[str, object | None]:
    """(storage_path, pyarrow filesystem or None) for Ray's RunConfig."""
    storage = open_storage(storage_uri)
    if isinstance(storage, S3Storage):
        return f"{storage.bucket}/{storage.prefix}/checkpoints".replace("//", "/"), storage.pyarrow_filesystem()
    path = Path(storage.uri) / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return str(path), None


@functools.cache  # one class per (base, local_ray): trainer_for answers the same class each time
def _without_unused_callbacks(base: type, local_ray: bool) -> type:
    """`base` without the Ray Train callbacks a Nuri stage has no use for; each starts
    one more actor process per stage, which the 2-core machine pays for in the worker's
    start (a no-op loop's fit went from 9.1-9.4 s to 6.4-7.7 s without both).
    - DatasetsCallback starts a DatasetManager actor even when no Ray Dataset is passed
      (Ray 2.60); stages read their data from storage and never pass one.
    - PlacementGroupCleanerCallback starts a detached actor that frees the worker's
      placement group when the controller dies and its driver lives on (a notebook on a
      shared cluster). On a Ray Nuri starts, each stage's driver is a process of its own,
      and Ray frees the placement groups of a job whose driver exits; kept on KubeRay.
    Ray has no switch for either, so the private _create_default_callbacks is filtered;
    tests/test_train_runtime.py fails if Ray renames it or the callbacks."""
    from ray.train.v2._internal.callbacks import DatasetsCallback
    from ray.train.v2._internal.callbacks.placement_group_callback import PlacementGroupCleanerCallback

    unused = (DatasetsCallback, PlacementGroupCleanerCallback) if local_ray else (DatasetsCallback,)

    class Trainer(base):
        def __init__(self, *args, **kwargs):
            if kwargs.get("datasets"):
                raise ValueError("Nuri's stages read their data from storage; Ray Datasets are not wired in")
            super().__init__(*args, **kwargs)

        def _create_default_callbacks(self):
            return [cb for cb in super()._create_default_callbacks() if not isinstance(cb, unused)]

    Trainer.__name__ = Trainer.__qualname__ = f"Nuri{base.__name__}"
    return Trainer


def trainer_for(num_workers: int, memory_saving: str = "none", local_ray: bool = False):
    """(trainer class, extra keyword arguments) for a stage on `num_workers` workers,
    on a Ray Nuri started here (`local_ray`) or one it joins.

    Several workers, and FSDP or DeepSpeed on any number, need TorchTrainer's
    torch.distributed group. One plain worker does not, and given a group anyway the
    Hugging Face Trainer (through accelerate) wraps its model in DistributedDataParallel
    over gloo: pretraining ran at 0.74 of a plain process's tokens/s on the 2-core
    machine, 0.90 without the group (bench/pipeline_bench.py). So one worker runs under
    Ray Train's DataParallelTrainer with the no-op backend: the same controller,
    checkpoints, failure handling and report callback, no group."""
    if num_workers > 1 or memory_saving != "none":
        from ray.train.torch import TorchTrainer

        return _without_unused_callbacks(TorchTrainer, local_ray), {}
    from ray.train import BackendConfig
    # DeveloperAPI; TorchTrainer's own base class in Ray Train V2.
    from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer

    return _without_unused_callbacks(DataParallelTrainer, local_ray), {"backend_config": BackendConfig()}


def run_stage(train_loop: Callable[[dict], None], loop_config: dict, runtime: RuntimeConfig, *,
              storage_uri: str, run_name: str, out_dir: Path) -> StageRun:
    """Runs `train_loop` on `runtime.num_workers` Ray Train workers. The loop must end
    with worker.report_final(); its model lands in out_dir."""
    connect_ray()
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig

    cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
    cpus = runtime.cpus_per_worker or max(1, cluster_cpus // runtime.num_workers)
    storage_path, fs = checkpoint_location(storage_uri)
    trainer_cls, backend = trainer_for(runtime.num_workers, runtime.memory_saving,
                                       local_ray=os.environ.get(LOCAL_RAY_MARKER) == "1")
    t0 = time.time()
    trainer = trainer_cls(
        train_loop, **backend,
        train_loop_config={**loop_config, "fit_started": t0},
        scaling_config=ScalingConfig(num_workers=runtime.num_workers, use_gpu=runtime.use_gpu,
                                     resources_per_worker={"CPU": cpus}),
        run_config=RunConfig(
            name=run_name, storage_path=storage_path, storage_filesystem=fs,
            failure_config=FailureConfig(max_failures=runtime.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=runtime.checkpoints_to_keep)),
    )
    result = trainer.fit()
    fit_seconds = time.time() - t0
    if result.error:
        raise result.error
    if result.checkpoint is None:
        raise RuntimeError(f"{run_name}: training ended without a final checkpoint")
    out_dir = Path(out_dir)
    with result.checkpoint.as_directory() as ckpt:
        ckpt = Path(ckpt)
        if not (ckpt / FINAL_DIR).is_dir():
            raise RuntimeError(f"{run_name}: last checkpoint has no final model")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(ckpt / FINAL_DIR, out_dir)
        metrics = json.loads((ckpt / METRICS_FILE).read_text())
        history = json.loads((ckpt / HISTORY_FILE).read_text())
    worker_start = float(metrics.pop("worker_started", t0)) - t0
    log.info("%s: fit %.1fs (worker group start %.1fs)", run_name, fit_seconds, worker_start)
    return StageRun(metrics=metrics, log_history=history, checkpoint_uri=result.checkpoint.path,
                    fit_seconds=fit_seconds, worker_start_seconds=worker_start)
