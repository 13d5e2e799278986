"""Choosing a head's settings by cross-validation on its training examples only (the valid
splits and the domain's training part): out-of-fold predictions, folds grouped by context
(or by text) so that one KoSBi context never sits on both sides.

Each head is scored on what its card reports:
- statement: macro-F1 on KoSBi (the out-of-fold kosbi_valid sentences);
- request: the mean of two macro-F1s: SQuARe's sensitive questions against the domain's
  in-domain questions, and the domain's harmful prompts against the same questions.
  SQuARe's own sensitive-or-not macro-F1 is shown beside it, not chosen on (96% of its
  questions are sensitive; the domain's questions are the service's real negatives).

    python bench/safety_bench.py --tune     # prints the grid below"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nuri.safety.classifier import HeadConfig, fit_head, head_proba
from nuri.safety.data import LabelledText

GRIDS: dict[str, list[HeadConfig]] = {
    "statement": [HeadConfig(analyzer=a, ngram_range=r, C=c, with_context=w)
                  for a, r in (("char", (1, 4)), ("char_wb", (2, 5)))
                  for c in (1.0, 2.0, 4.0) for w in (False, True)],
    "request": [HeadConfig(analyzer=a, ngram_range=r, C=c, weighting=wt)
                for a, r in (("char", (1, 4)), ("char_wb", (2, 5)))
                for c in (1.0, 4.0) for wt in ("balanced", "sources", "none")],
}


def _macro_f1(truth, predicted) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, average="macro", labels=[0, 1], zero_division=0))


def out_of_fold(examples: Sequence[LabelledText], config: HeadConfig, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [e.context or e.text for e in examples]
    strata = [f"{e.source}:{e.label}" for e in examples]
    p = np.zeros(len(examples))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(examples, strata, groups):
        models = fit_head([examples[i] for i in train_idx], config, seed=seed)
        held = [examples[i] for i in test_idx]
        p[test_idx] = head_proba(models, [e.text for e in held], [e.context for e in held])
    return p


def score(kind: str, examples: Sequence[LabelledText], p: np.ndarray, threshold: float = 0.5) -> dict:
    y = np.array([e.label for e in examples])
    q = (p >= threshold).astype(int)
    src = np.array([e.source for e in examples])
    if kind == "statement":
        return {"score": _macro_f1(y, q), "kosbi_macro_f1": _macro_f1(y, q)}
    dom, sq = src == "domain", src == "square_question_valid"
    vs = (sq & (y == 1)) | (dom & (y == 0))
    out = {"domain_macro_f1": _macro_f1(y[dom], q[dom])}
    if sq.any():
        out["sensitive_vs_domain_macro_f1"] = _macro_f1(y[vs], q[vs])
        out["square_macro_f1"] = _macro_f1(y[sq], q[sq])
    out["score"] = float(np.mean([out["domain_macro_f1"], out.get("sensitive_vs_domain_macro_f1", out["domain_macro_f1"])]))
    return out


def tune(kind: str, examples: Sequence[LabelledText], grid: Sequence[HeadConfig] | None = None, *,
         folds: int = 5, seed: int = 0) -> list[tuple[HeadConfig, dict]]:
    """Every setting of the grid with its cross-validated scores, best first."""
    rows = [e for e in examples if e.kind == kind]
    results = [(c, score(kind, rows, out_of_fold(rows, c, folds=folds, seed=seed)))
               for c in (grid or GRIDS[kind])]
    return sorted(results, key=lambda r: -r[1]["score"])

