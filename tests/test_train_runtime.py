"""Which Ray Train trainer a stage runs under (nuri.train.runtime.trainer_for). The
training itself is tested under Ray in test_training.py (one worker: no DDP wrapper)."""

from ray.train import BackendConfig
from ray.train.torch import TorchTrainer

from nuri.train.runtime import trainer_for


def test_one_plain_worker_runs_without_a_torch_process_group():
    cls, extra = trainer_for(1)
    assert cls is not TorchTrainer and issubclass(TorchTrainer, cls)  # TorchTrainer's base class
    assert type(extra["backend_config"]) is BackendConfig  # the no-op backend: no process group


def test_several_workers_and_sharded_memory_saving_get_the_torch_process_group():
    for workers, saving in ((2, "none"), (4, "none"), (1, "fsdp"), (1, "deepspeed_zero3")):
        assert trainer_for(workers, saving) == (TorchTrainer, {}), (workers, saving)
