"""Training stages. Each stage is a `train_loop_per_worker(config)` run by Ray Train's
TorchTrainer (see runtime.py), with a Hugging Face / TRL trainer inside."""
