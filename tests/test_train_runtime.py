"""Which Ray Train trainer a stage runs under (nuri.train.runtime.trainer_for). The
training itself is tested under Ray in test_training.py (one worker: no DDP wrapper)."""

from ray.train import BackendConfig
from ray.train.torch import TorchTrainer

from nuri.train import runtime
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


def test_joining_a_cluster_leaves_its_ray_train_settings_alone(monkeypatch):
    # Stand-in for the KubeRay head: ray.init is replaced; what connect_ray puts into the
    # environment (which Ray Train forwards to the controller and workers) is real.
    import ray

    tuning = set(ray_env(None)) - set(ray_env("x:1"))
    for k in tuning:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("RAY_ADDRESS", "raycluster-head-svc.nuri-welfare:6379")
    joined = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: joined.append(kw))
    runtime.connect_ray()
    assert joined and joined[0]["address"] == "raycluster-head-svc.nuri-welfare:6379"
    assert not tuning & set(runtime.os.environ), tuning & set(runtime.os.environ)


def test_auto_precision_follows_the_device_of_the_process_that_trains(monkeypatch):
    # Resolved where trainer_precision_args runs (the training worker): the capability
    # probe is the stand-in here, for a bf16 GPU, an fp16-only GPU and a plain CPU.
    from nuri.train import precision

    for supports_bf16, use_gpu, expected in ((True, True, "bf16"), (False, True, "fp16"), (False, False, "fp32")):
        monkeypatch.setattr(precision, "device_supports_bf16", lambda gpu, s=supports_bf16: s)
        args = precision.trainer_precision_args("auto", use_gpu)
        assert args == {"bf16": expected == "bf16", "fp16": expected == "fp16"}, (supports_bf16, use_gpu)
    assert precision.trainer_precision_args("fp32", True) == {"bf16": False, "fp16": False}  # asked for: kept
