"""Training and measuring the safety classifier: valid splits and the domain's training
part in, a classifier with its card out; the test splits and held-out prompts are only
scored.

    from nuri.safety import domain_set, train
    d = domain_set("domains/welfare/data/safety.jsonl", "domains/welfare/data/sft.jsonl")
    clf = train("../shared/benchmarks", d)      # None: the domain's set alone, and the card says so
    clf.save("runs/safety")                     # model.skops, card.json, card.md
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Sequence

from nuri.safety.classifier import SafetyClassifier, sample_weights
from nuri.safety.data import SPLITS, TRAIN_SPLITS, DomainSet, LabelledText, benchmark_files, load_benchmarks
from nuri.storage import sha256_file

NAME = "nuri-safety-ko"
DOMAIN_FILE_USE = {"safety": "train: harmful prompts (positives)",
                   "guard_harmful": "train: harmful requests every service refuses (positives)",
                   "sft": "train: category 'domain' prompts (negatives); its harmful prompts: report"}
WEIGHTING_NOTES = {"balanced": "each (source, label) equal within its source, each source equal in total",
                   "sources": "each source equal in total, labels as they come", "none": "unweighted"}
CITATIONS = {
    "KoSBi": "Lee et al., KoSBi: A Dataset for Mitigating Social Bias Risks Towards Safer Large Language "
             "Model Applications, ACL 2023 (Industry Track)",
    "SQuARe": "Lee et al., SQuARe: A Large-Scale Dataset of Sensitive Questions and Acceptable Responses "
              "Created Through Human-Machine Collaboration, ACL 2023",
}


def binary_scores(truth: Sequence[int], predicted: Sequence[int]) -> dict:
    """Examples, accuracy and macro-F1 (the mean of the two classes' F1)."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"examples": len(truth), "accuracy": float(accuracy_score(truth, predicted)),
            "macro_f1": float(f1_score(truth, predicted, average="macro", labels=[0, 1], zero_division=0))}


def _share(clf: SafetyClassifier, texts: Sequence[str], kind: str = "request",
           contexts: Sequence[str] | None = None) -> dict:
    return {"examples": len(texts), "flagged": clf.harmful_share(texts, kind=kind, contexts=contexts)}


def calibration_error(truth: Sequence[int], proba: Sequence[float], bins: int = 10) -> float:
    """Expected calibration error: the gap between mean probability and share harmful in
    each of `bins` equal-width bins, weighted by the bin's share of texts."""
    import numpy as np

    y, p = np.asarray(truth, dtype=float), np.asarray(proba, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def score_split(clf: SafetyClassifier, rows: Sequence[LabelledText], kind: str) -> dict:
    """Accuracy and macro-F1 at the classifier's threshold, and the calibration error."""
    p = clf.predict_proba([r.text for r in rows], kind=kind, contexts=[r.context for r in rows])
    truth = [r.label for r in rows]
    return {**binary_scores(truth, [int(x >= clf.threshold) for x in p]),
            "calibration_error": calibration_error(truth, p)}


def evaluate(clf: SafetyClassifier, benchmarks: dict[str, list[LabelledText]] | None, domain: DomainSet) -> dict:
    """Test-split and held-out figures. Benchmarks: kosbi_test (statement head, with its
    context: the main figure), SQuARe question_test as the paper scores it (sensitive or
    not) and its sensitive questions against the domain's held-out questions (request
    head), response_test_ood (statement head, the question as context; secondary)."""
    out: dict = {}
    held_harm = [r.text for r in domain.heldout if r.label]
    held_ok = [r.text for r in domain.heldout if not r.label]
    if benchmarks:
        if "statement" in clf.heads:
            out["kosbi_test"] = score_split(clf, benchmarks["kosbi_test"], "statement")
            out["square_response_test_ood"] = score_split(clf, benchmarks["square_response_test_ood"], "statement")
        q = benchmarks["square_question_test"]
        out["square_question_test"] = score_split(clf, q, "request")
        vs = [r for r in q if r.label] + [LabelledText(t, 0, "domain", "request") for t in held_ok]
        out["square_question_test_vs_domain"] = score_split(clf, vs, "request")
    out["domain_heldout"] = score_split(clf, domain.heldout, "request")
    out["domain_heldout"]["harmful_recall"] = _share(clf, held_harm)["flagged"]
    out["domain_heldout"]["in_domain_flagged"] = _share(clf, held_ok)["flagged"]
    out["unseen_harmful_prompts"] = _share(clf, domain.unseen_harmful)
    out["unseen_in_domain_prompts"] = _share(clf, domain.unseen_in_domain)
    out["off_domain_prompts"] = _share(clf, domain.off_domain)
    # As a judge of answers: the preference set's right answers and its answers that comply
    # with a harmful request, by each head (the request head is shown to say why not).
    for answer_kind in ("answer", "harmful_compliance"):
        pairs = domain.answers.get(answer_kind, [])
        if pairs:
            for kind in clf.kinds:
                out[f"answers_{answer_kind}_{kind}_head"] = _share(
                    clf, [a for _, a in pairs], kind, [q for q, _ in pairs])
    return out


def throughput(clf: SafetyClassifier, texts: Sequence[str], *, kind: str = "request",
               contexts: Sequence[str] | None = None, min_seconds: float = 0.5) -> float:
    """Texts per second for one batched call over `texts`, repeated for at least
    `min_seconds` (each text normalised, vectorised and scored)."""
    n, start = 0, time.perf_counter()
    while True:
        clf.predict_proba(texts, kind=kind, contexts=contexts)
        n += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("scikit-learn", "skops", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _rows(examples: Sequence[LabelledText]) -> dict:
    return {"examples": len(examples), "harmful": sum(e.label for e in examples)}


def training_examples(benchmarks: dict[str, list[LabelledText]] | None, domain: DomainSet) -> list[LabelledText]:
    rows = list(domain.train)
    for name in TRAIN_SPLITS if benchmarks else ():
        rows += benchmarks[name]
    return rows


def train(benchmarks_dir: Path | None, domain: DomainSet, *, seed: int = 0, measure: bool = True) -> SafetyClassifier:
    """Fits on the valid splits (when the `benchmarks_dir` folder exists) and the domain's
    training part, then scores the test splits and held-out prompts and measures throughput
    into the card (`measure=False` skips both). No folder (None, or none there): the
    domain's set alone, and the card says so. A folder with a missing or malformed file
    raises DataError naming it."""
    present = benchmarks_dir is not None and Path(benchmarks_dir).is_dir()
    benchmarks = load_benchmarks(Path(benchmarks_dir)) if present else None
    examples = training_examples(benchmarks, domain)
    start = time.perf_counter()
    clf = SafetyClassifier.fit(examples, seed=seed)
    seconds = time.perf_counter() - start

    data: dict = {"domain": {
        "files": {k: {"path": str(p), "use": DOMAIN_FILE_USE.get(k, "report"), "sha256": sha256_file(p)}
                  for k, p in domain.files.items()},
        "train": _rows(domain.train), "heldout": _rows(domain.heldout), "holdout_fraction": domain.holdout_fraction,
        "note": "harmful prompts of the filtering set (safety.jsonl) against the in-domain questions "
                "(sft.jsonl, category 'domain'); held out by the content hash prepare uses"}}
    if benchmarks is None:
        data["benchmarks"] = None
        where = "No benchmark folder was given" if benchmarks_dir is None else f"No benchmark folder at {benchmarks_dir}"
        data["note"] = (f"{where}: trained on the domain's filtering set alone. There is no statement head and no "
                        f"benchmark figure.")
    else:
        folder = Path(benchmarks_dir)
        data["benchmarks"] = {"folder": str(folder), "splits": {
            name: {"file": SPLITS[name][0], "use": "train" if name in TRAIN_SPLITS else "report",
                   **_rows(benchmarks[name]), "sha256": sha256_file(path)}
            for name, path in benchmark_files(folder).items()}}
    features = {}
    for kind, models in clf.heads.items():
        rows = [e for e in examples if e.kind == kind]
        w = sample_weights(rows, clf.configs[kind].weighting)
        features[kind] = {**asdict(clf.configs[kind]), "models": ["text", "context + text"][:len(models)],
                          "training_examples": len(rows), "sources": dict(Counter(e.source for e in rows)),
                          "weights": f"{WEIGHTING_NOTES[clf.configs[kind].weighting]} "
                                     f"(min {w.min():.2f}, max {w.max():.2f})"}
    card = {
        "name": NAME, "version": None, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kinds": {"request": "a user's request or question: harmful (fraud, privacy, violence, hate, dangerous "
                             "goods). Not trained on SQuARe's sensitive questions (contentious, ethical, "
                             "predictive): those are not harmful requests, and the guard does not refuse them",
                  "statement": "a sentence or answer: unsafe towards a group (stereotype, prejudice, "
                               "discrimination), read with its context"},
        "heads": list(clf.kinds), "threshold": clf.threshold,
        "training_data": data, "features": features,
        "training_seconds": round(seconds, 2), "seed": seed, "libraries": library_versions(),
        "citations": CITATIONS if benchmarks else {},
    }
    if measure:
        card["metrics"] = evaluate(clf, benchmarks, domain)
        prompts = [r.text for r in domain.heldout] + domain.unseen_harmful + domain.unseen_in_domain
        tp = {"request": throughput(clf, [r.text for r in benchmarks["square_question_test"]]
                                    if benchmarks else prompts, kind="request")}
        if benchmarks and "statement" in clf.heads:
            k = benchmarks["kosbi_test"]
            tp["statement"] = throughput(clf, [r.text for r in k], kind="statement", contexts=[r.context for r in k])
        card["throughput_texts_per_s"] = {k: round(v) for k, v in tp.items()}
        card["throughput_note"] = (f"one batched predict_proba call, {platform.machine()} with "
                                   f"{_cpus()} CPUs, single process")
    clf.card = card
    return clf


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
