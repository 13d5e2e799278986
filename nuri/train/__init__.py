"""Training stages. Each stage is a `train_loop_per_worker(config)` run by Ray Train
(TorchTrainer, or without a process group for one worker: runtime.trainer_for), with a
Hugging Face / TRL trainer inside."""
