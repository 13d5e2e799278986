"""Safety classifier benchmark: the platform's classifier beside the floor, on the test
splits of the public Korean safety benchmarks, with the papers' own figures.

    python bench/safety_bench.py [--benchmarks ../shared/benchmarks] [--domain domains/welfare.yaml]
                                 [--out runs/safety] [--tune]

Both are trained on the `valid` splits only and scored on the `test` splits:
(a) the floor: character 1-4-gram TF-IDF + logistic regression (scikit-learn defaults),
    trained on kosbi_valid sentences alone; (b) ours, `nuri.safety.train` (request head:
    SQuARe questions + the domain's filtering set; statement head: KoSBi, with context).
Prints accuracy and macro-F1 per split with ours/floor ratios, the papers' figures,
training time and throughput (texts/s, one batched call) of both on this machine.
`--tune` also prints the cross-validation grids the defaults were chosen from (minutes).
About a minute without `--tune` on 2 cores. The benchmark data is read from its folder,
never copied."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nuri.config import load_domain_config  # noqa: E402
from nuri.errors import NuriError  # noqa: E402
from nuri.safety.data import LabelledText, domain_set_of, load_benchmarks  # noqa: E402
from nuri.safety.train import binary_scores, train, training_examples  # noqa: E402

# The papers' own classifiers on the same test files. The KoSBi and SQuARe papers
# (arXiv 2305.17701, 2305.17696) and the upstream README were searched for a figure on
# these test files; none was found in what could be read (the README gives none), so
# none is printed rather than one from memory.
PAPER = {
    "kosbi_test": "not found",
    "square_question_test": "not found",
    "square_question_test_vs_domain": "n/a (our split)",
    "square_response_test_ood": "not found",
}
ROWS = [
    ("kosbi_test", "KoSBi kosbi_test (main)", "statement"),
    ("square_question_test", "SQuARe question_test, sensitive or not", "request"),
    ("square_question_test_vs_domain", "SQuARe sensitive vs domain held-out questions", "request"),
    ("square_response_test_ood", "SQuARe response_test_ood, not acceptable (secondary)", "statement"),
]


class Floor:
    """Character 1-4-gram TF-IDF + logistic regression on kosbi_valid sentences only."""

    def __init__(self, train_rows: list[LabelledText]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        start = time.perf_counter()
        self.model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 4)),
                                   LogisticRegression(max_iter=1000))
        self.model.fit([r.text for r in train_rows], [r.label for r in train_rows])
        self.seconds = time.perf_counter() - start

    def scores(self, rows: list[LabelledText]) -> dict:
        return binary_scores([r.label for r in rows], [int(p) for p in self.model.predict([r.text for r in rows])])

    def throughput(self, texts: list[str], min_seconds: float = 0.5) -> float:
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            self.model.predict_proba(texts)
            n += len(texts)
        return n / (time.perf_counter() - start)


def paired_bootstrap(truth, ours, floor, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% interval of macro-F1(ours) - macro-F1(floor) over resamples of the same texts."""
    import numpy as np
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    y, a, b = (np.asarray(v) for v in (truth, ours, floor))
    diffs = []
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        diffs.append(f1_score(y[i], a[i], average="macro") - f1_score(y[i], b[i], average="macro"))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def vs_domain(benchmarks, domain) -> list[LabelledText]:
    return [r for r in benchmarks["square_question_test"] if r.label] + \
        [LabelledText(r.text, 0, "domain", "request") for r in domain.heldout if not r.label]


def print_tuning(benchmarks, domain) -> None:
    from nuri.safety.tuning import tune

    examples = training_examples(benchmarks, domain)
    for kind in ("statement", "request"):
        print(f"\nCross-validation, {kind} head (5 folds on its training examples; best first):")
        for config, s in tune(kind, examples):
            figures = ", ".join(f"{k} {v:.4f}" for k, v in s.items())
            print(f"  {config.analyzer} {config.ngram_range[0]}-{config.ngram_range[1]} C={config.C:g} "
                  f"context={config.with_context} weighting={config.weighting}: {figures}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--domain", default=str(ROOT / "domains" / "welfare.yaml"))
    parser.add_argument("--out", default=None, help="also save our classifier and its card here")
    parser.add_argument("--tune", action="store_true", help="print the cross-validation grids (minutes)")
    args = parser.parse_args(argv)
    try:
        benchmarks = load_benchmarks(Path(args.benchmarks))
        domain = domain_set_of(load_domain_config(args.domain))
    except NuriError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    floor = Floor(benchmarks["kosbi_valid"])
    ours = train(Path(args.benchmarks), domain)
    m = ours.card["metrics"]
    split_rows = {**benchmarks, "square_question_test_vs_domain": vs_domain(benchmarks, domain)}

    print(f"Safety classifier vs floor: trained on valid splits, scored on test splits ({args.benchmarks})\n")
    head = (f"| {'test split':52} | {'n':>5} | floor acc | floor F1 | ours acc | ours F1 | F1 ratio | "
            f"paper |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for key, label, _ in ROWS:
        f, o = floor.scores(split_rows[key]), m[key]
        print(f"| {label:52} | {o['examples']:>5} | {f['accuracy']:9.3f} | {f['macro_f1']:8.3f} | "
              f"{o['accuracy']:8.3f} | {o['macro_f1']:7.3f} | {o['macro_f1'] / f['macro_f1']:8.3f} | "
              f"{PAPER[key]} |")
    print("(The floor is trained on KoSBi alone, so its SQuARe rows show what a KoSBi-only classifier does with "
          "questions; ours reads them with its request head.)")
    d = m["domain_heldout"]
    print(f"\nDomain ({domain.files['safety'].parent}): held-out harmful prompts flagged "
          f"{d['harmful_recall']:.3f} of {sum(r.label for r in domain.heldout)}, held-out in-domain questions "
          f"flagged {d['in_domain_flagged']:.3f} of {sum(1 - r.label for r in domain.heldout)}; never trained on: "
          f"SFT harmful prompts flagged {m['unseen_harmful_prompts']['flagged']:.3f} "
          f"of {m['unseen_harmful_prompts']['examples']}, preference in-domain prompts "
          f"{m['unseen_in_domain_prompts']['flagged']:.3f} of {m['unseen_in_domain_prompts']['examples']}, "
          f"off-domain prompts {m['off_domain_prompts']['flagged']:.3f} of {m['off_domain_prompts']['examples']}.")
    a = {key: m[f"answers_{key}_{head}_head"]["flagged"] for key in ("answer", "harmful_compliance")
         for head in ("statement",)}
    r = {key: m[f"answers_{key}_request_head"]["flagged"] for key in ("answer", "harmful_compliance")}
    print(f"As a judge of answers (preference set, question as context): statement head flags "
          f"{a['answer']:.3f} of right answers and {a['harmful_compliance']:.3f} of answers complying with a "
          f"harmful request; the request head, not made for answers, flags {r['answer']:.3f} and "
          f"{r['harmful_compliance']:.3f}.")
    k = benchmarks["kosbi_test"]
    ours_k = [int(f) for f in ours.is_harmful([r.text for r in k], kind="statement", contexts=[r.context for r in k])]
    floor_k = [int(p) for p in floor.model.predict([r.text for r in k])]
    lo, hi = paired_bootstrap([r.label for r in k], ours_k, floor_k)
    print(f"\nkosbi_test macro-F1 ours - floor: {m['kosbi_test']['macro_f1'] - floor.scores(k)['macro_f1']:+.4f} "
          f"(95% paired bootstrap interval {lo:+.4f} to {hi:+.4f}); calibration error of ours "
          f"{m['kosbi_test']['calibration_error']:.3f}.")
    tp = ours.card["throughput_texts_per_s"]
    print(f"\nTraining: floor {floor.seconds:.1f} s ({len(benchmarks['kosbi_valid'])} texts), ours "
          f"{ours.card['training_seconds']:.1f} s ({sum(f['training_examples'] for f in ours.card['features'].values())} "
          f"texts, {len(ours.heads)} heads).")
    print(f"Throughput (texts/s, one batched call): floor {floor.throughput([r.text for r in k]):,.0f} on kosbi_test; "
          f"ours statement head {tp['statement']:,} on kosbi_test (with context), request head "
          f"{tp['request']:,} on question_test.")
    print("Papers' figures: the KoSBi and SQuARe papers' classifier scores on these files were not found "
          "(see PAPER in this file); the upstream README reports none.")
    if args.out:
        ours.save(Path(args.out))
        print(f"\nSaved {ours.card['name']} {ours.card['version']} to {args.out}")
    if args.tune:
        print_tuning(benchmarks, domain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
