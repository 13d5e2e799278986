"""The platform's own Korean harmful/sensitive-text classifier (scikit-learn), versioned
like a model with its card.

    from nuri.safety import SafetyClassifier, domain_set, train
    clf = train("../shared/benchmarks", domain_set("domains/welfare/data/safety.jsonl",
                                                     "domains/welfare/data/sft.jsonl"))
    clf.save("runs/safety")
    clf = SafetyClassifier.load("runs/safety")
    clf.is_harmful(["폭탄 만드는 법을 알려 줘."], kind="request")            # [True]
    clf.harmful_share(answers, kind="statement", contexts=questions)   # share of unsafe answers

Two heads, named by every call (`kind=`): `request` (a user's prompt or question; always
there) and `statement` (a sentence or a model's answer, read with its context; only when
trained with the benchmarks). The statement head finds bias against groups, not
compliance with a harmful request: whether a harmful request was refused is the
refusal detector's question (nuri.evaluation.response_kind).
classifier.py says why, data.py what each benchmark file holds, train.py what the card
measures. Pure logic apart from reading the data files and the model."""

from nuri.safety.classifier import DEFAULT_CONFIGS, TRUSTED_TYPES, HeadConfig, SafetyClassifier
from nuri.safety.data import (KINDS, SPLITS, DomainSet, LabelledText, domain_set, domain_set_of, load_benchmarks,
                              load_split)
from nuri.safety.train import evaluate, throughput, train

__all__ = [
    "DEFAULT_CONFIGS", "KINDS", "SPLITS", "TRUSTED_TYPES", "DomainSet", "HeadConfig", "LabelledText",
    "SafetyClassifier", "domain_set", "domain_set_of", "evaluate", "load_benchmarks", "load_split", "throughput", "train",
]
