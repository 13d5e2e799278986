"""Evaluation: held-out perplexity, reward-model accuracy, reward of generated answers,
domain knowledge. scoring.py holds the model arithmetic, evaluate.py the stage."""
