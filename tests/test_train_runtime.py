"""Which Ray Train trainer a stage runs under (nuri.train.runtime.trainer_for). The
training itself is tested under Ray in test_training.py (one worker: no DDP wrapper)."""

from ray.train import BackendConfig
from ray.train.torch import TorchTrainer

from nuri.train.runtime import ray_env, trainer_for


def test_one_plain_worker_runs_without_a_torch_process_group():
    cls, extra = trainer_for(1)
    assert cls is not TorchTrainer and issubclass(TorchTrainer, cls)  # TorchTrainer's base class
    assert type(extra["backend_config"]) is BackendConfig  # the no-op backend: no process group


def test_several_workers_and_sharded_memory_saving_get_the_torch_process_group():
    for workers, saving in ((2, "none"), (4, "none"), (1, "fsdp"), (1, "deepspeed_zero3")):
        assert trainer_for(workers, saving) == (TorchTrainer, {}), (workers, saving)


def test_local_ray_tuning_is_not_applied_to_a_cluster_it_joins():
    # Metrics off, no preemption watcher, workers at normal priority: for the Ray Nuri
    # starts on this machine only. A stage joining KubeRay keeps Ray's defaults there.
    tuning = {"RAY_TRAIN_METRICS_ENABLED", "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "RAY_worker_niceness",
              "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"}
    assert tuning <= set(ray_env(None))
    assert not tuning & set(ray_env("raycluster-head-svc.nuri-welfare:6379"))
    for address in (None, "raycluster-head-svc.nuri-welfare:6379"):
        assert ray_env(address)["RAY_USAGE_STATS_ENABLED"] == "0"  # no telemetry anywhere
