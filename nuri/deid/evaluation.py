"""Scoring detections against labelled spans: per-type precision, recall and F2.

A labelled span is found when a prediction of the same type covers it
entirely (a partly covered value still leaks). A prediction is correct when
it overlaps a labelled span of the same type. F2 weighs recall twice as much
as precision: for de-identification a miss costs more than a false alarm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nuri.deid.synthetic import Sample
from nuri.deid.pii_types import Finding


@dataclass
class TypeScore:
    tp: int = 0   # labelled spans found
    fn: int = 0   # labelled spans missed
    correct: int = 0    # predictions matching a label
    spurious: int = 0   # predictions matching none

    @property
    def precision(self) -> float:
        total = self.correct + self.spurious
        return self.correct / total if total else 1.0

    @property
    def recall(self) -> float:
        total = self.tp + self.fn
        return self.tp / total if total else 1.0

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if p + r else 0.0


def score(samples: Iterable[Sample], predict: Callable[[str], list[Finding]]) -> dict[str, TypeScore]:
    scores: dict[str, TypeScore] = {}
    for sample in samples:
        predicted = predict(sample.text)
        for gold in sample.spans:
            s = scores.setdefault(gold.type, TypeScore())
            if any(p.type == gold.type and p.start <= gold.start and p.end >= gold.end for p in predicted):
                s.tp += 1
            else:
                s.fn += 1
        for p in predicted:
            s = scores.setdefault(p.type, TypeScore())
            if any(g.type == p.type and g.start < p.end and p.start < g.end for g in sample.spans):
                s.correct += 1
            else:
                s.spurious += 1
    return dict(sorted(scores.items()))
