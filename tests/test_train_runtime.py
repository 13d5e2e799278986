"""Which Ray Train trainer a stage runs under (nuri.train.runtime.trainer_for). The
training itself is tested under Ray in test_training.py (one worker: no DDP wrapper)."""

import pytest
from ray.train import BackendConfig
from ray.train.torch import TorchTrainer

from nuri.train import runtime
from nuri.train.runtime import ray_env, trainer_for


def test_one_plain_worker_runs_without_a_torch_process_group():
    from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer

    cls, extra = trainer_for(1)
    assert not issubclass(cls, TorchTrainer) and issubclass(cls, DataParallelTrainer)  # TorchTrainer's base
    assert type(extra["backend_config"]) is BackendConfig  # the no-op backend: no process group


def test_several_workers_and_sharded_memory_saving_get_the_torch_process_group():
    for workers, saving in ((2, "none"), (4, "none"), (1, "fsdp"), (1, "deepspeed_zero3")):
        cls, extra = trainer_for(workers, saving)
        assert issubclass(cls, TorchTrainer) and extra == {}, (workers, saving)


def _default_callbacks(workers: int, local_ray: bool) -> set[str]:
    # Built the way fit() builds them (no Ray needed to construct a trainer).
    import tempfile

    from ray.train import RunConfig, ScalingConfig

    cls, extra = trainer_for(workers, local_ray=local_ray)
    trainer = cls(lambda config: None, **extra, scaling_config=ScalingConfig(num_workers=workers),
                  run_config=RunConfig(name="callbacks", storage_path=tempfile.mkdtemp()))
    return {type(cb).__name__ for cb in trainer._create_default_callbacks()}


def test_stages_start_no_actor_they_do_not_use():
    # Each callback below starts one more actor process per stage (2.5 s of the 2-core
    # machine's worker start). Fails if Ray renames _create_default_callbacks (the
    # filter would be skipped) or these callbacks (the import in runtime fails).
    for workers in (1, 2):
        local = _default_callbacks(workers, local_ray=True)
        joined = _default_callbacks(workers, local_ray=False)
        assert "DatasetsCallback" not in local | joined  # no Ray Dataset is ever passed
        assert "PlacementGroupCleanerCallback" not in local
        assert "PlacementGroupCleanerCallback" in joined  # kept where a driver outlives its controller
        # What the stage does rely on stays: checkpoints, reports, the backend, devices.
        assert {"BackendSetupCallback", "AcceleratorSetupCallback", "UserCallbackHandler"} <= local


def test_a_ray_dataset_is_refused_rather_than_silently_dropped():
    from ray.train import ScalingConfig

    cls, extra = trainer_for(1, local_ray=True)
    with pytest.raises(ValueError, match="Ray Datasets"):
        cls(lambda config: None, **extra, scaling_config=ScalingConfig(num_workers=1), datasets={"train": object()})


def test_the_local_ray_marks_itself_for_the_stages_and_a_joined_cluster_does_not():
    assert ray_env(None)[runtime.LOCAL_RAY_MARKER] == "1"
    assert runtime.LOCAL_RAY_MARKER not in ray_env("raycluster-head-svc.nuri-welfare:6379")


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


_DRIVER_WHOSE_CONTROLLER_DIES = r'''
import sys, time, ray
from ray.util import placement_group_table
ray.init(address=sys.argv[1], logging_level=40)

@ray.remote(num_cpus=0)
class Controller:  # like Ray Train's: a plain actor that reserves the workers' resources
    def reserve(self):
        from ray.util.placement_group import placement_group
        pg = placement_group([{"CPU": 1}])
        ray.get(pg.ready())
        return pg.id.hex()

controller = Controller.remote()
print(ray.get(controller.reserve.remote()), flush=True)
ray.kill(controller)
time.sleep(2)
print(" ".join(v["state"] for v in placement_group_table().values()), flush=True)
'''


@pytest.mark.slow
def test_a_dead_controllers_placement_group_is_freed_when_its_stage_driver_exits():
    # Why the placement-group cleaner can be left out on a Ray Nuri starts: each stage's
    # driver is a process of its own, and when it exits Ray frees what its dead
    # controller reserved. (While that driver lives the reservation stays: the case the
    # cleaner is for, kept on KubeRay.)
    import subprocess
    import sys
    import time

    import ray
    from ray.util import placement_group_table

    from nuri.train.runtime import LocalRayCluster

    with LocalRayCluster(num_cpus=1) as cluster:
        proc = subprocess.run([sys.executable, "-c", _DRIVER_WHOSE_CONTROLLER_DIES, cluster.address],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        pg_id, states_while_driver_lived = proc.stdout.split("\n")[:2]
        assert states_while_driver_lived == "CREATED"  # leaked while the driver lived
        deadline = time.time() + 30
        while placement_group_table()[pg_id]["state"] != "REMOVED" and time.time() < deadline:
            time.sleep(0.5)
        assert placement_group_table()[pg_id]["state"] == "REMOVED"
        assert ray.available_resources().get("CPU") == 1.0  # the next stage gets the machine
