"""Base models: train a tokenizer and initialise a small model, or load a pretrained one."""
