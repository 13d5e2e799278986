"""The feedback loop on the sample domain, end to end on this machine: the reference run
releases welfare-v0001; simulated raters who know the answers ask it training-side
questions over HTTP and rate every answer; `nuri monitor`'s rates cross a threshold;
the retrain runs from the release with the ratings; and the old and the new release
answer the same triggering questions, judged the same way. Prints both failure rates
side by side with their ratio, the held-out gates, and the time each part took.

    .venv/bin/python bench/feedback_bench.py [--root runs/feedback-bench] [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from nuri.config import load_domain_config
    from nuri.console import progress_to_terminal
    from nuri.feedback.monitor import rating_rates
    from nuri.feedback.retrain import retrain_local
    from nuri.feedback.simulate import (compare_releases, dataset_dir_of, detector_for, questions_from_dataset,
                                        questions_from_ratings, rate_release, served)
    from nuri.feedback.store import FeedbackStore
    from nuri.local_run import run_local, with_local_storage
    from nuri.release import fetch_release, promoted_version
    from nuri.storage import open_storage
    from nuri.training_method import released_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domain", default=str(REPO / "domains" / "welfare.yaml"))
    p.add_argument("--root", default=str(REPO / "runs" / "feedback-bench"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--in-domain", type=int, default=60, help="training-side questions the raters ask")
    p.add_argument("--harmful", type=int, default=15)
    args = p.parse_args()
    root = Path(args.root)
    config = with_local_storage(load_domain_config(args.domain), str(root / "storage"))
    config = config.model_copy(update={"runtime": config.runtime.model_copy(update={"seed": args.seed})})
    storage = open_storage(config.storage.uri)
    times = {}

    t0 = time.perf_counter()
    if promoted_version(storage, config.name) is None:
        with progress_to_terminal(root / "runs" / "reference" / "pipeline.log"):
            first = run_local(config, root=root, run_id="reference")
        if first.status != "succeeded":
            print(f"the reference run did not release ({first.status}); nothing to rate")
            return 1
    times["reference run"] = time.perf_counter() - t0
    cache = Path(tempfile.mkdtemp(prefix="nuri-fb-bench-"))
    old, old_dir = fetch_release(config.storage.uri, config.name, None, cache)
    dataset = dataset_dir_of(old_dir, cache)
    detector = detector_for(dataset)
    questions = questions_from_dataset(dataset, in_domain=args.in_domain, harmful=args.harmful, seed=args.seed)

    t0 = time.perf_counter()
    store = FeedbackStore.for_domain(config)
    with served(old_dir, feedback=store) as (url, model):
        rated = rate_release(url, model, questions, detector)
    times["rating"] = time.perf_counter() - t0
    rates = rating_rates(store.ratings(release=old.name), config.feedback, release=old.name,
                         now=dt.datetime.now(dt.timezone.utc))
    print(f"\n{len(rated)} answers of {old.name} rated; rates over {rates.total} ratings:")
    for k in rates.kinds:
        mark = "  CROSSED" if k.kind in rates.crossed else ""
        print(f"  {k.kind:<14} {k.count:>4}  {k.rate:.3f}  threshold {k.threshold if k.threshold else '-'}{mark}")

    t0 = time.perf_counter()
    log_path = root / "runs" / "retrain" / "pipeline.log"
    print(f"retraining (progress only; full log: {log_path})", flush=True)
    with progress_to_terminal(log_path):
        out = retrain_local(config, store, root=root, run_id="retrain")
    times["retrain run"] = time.perf_counter() - t0
    if out.result is None:
        print(f"retrain not due: {out.trigger.reason}")
        return 1
    result = out.result
    print(f"\nretrain: {result.status}; feedback dataset {out.dataset.card['version']}: "
          f"{json.dumps({k: out.dataset.card[k] for k in ('sft_pairs', 'preference_pairs', 'filtering_items')})}")
    if not result.release:
        print("the retrained model failed a gate: nothing new is served")
        return 1
    new_dir = fetch_release(config.storage.uri, config.name, result.release.rsplit("-", 1)[1], cache)[1]
    triggering = questions_from_ratings(store.ratings(release=old.name))
    t0 = time.perf_counter()
    compared = compare_releases({old.name: old_dir, result.release: new_dir}, triggering, detector)
    times["comparison"] = time.perf_counter() - t0
    a, b = compared[old.name]["failure_rate"], compared[result.release]["failure_rate"]
    print(f"\non the {len(triggering)} questions whose answers were rated as failures:")
    for name, r in compared.items():
        print(f"  {name:<16} failure rate {r['failure_rate']:.3f}  {r['kinds']}")
    print(f"  new / old: {b / a if a else float('nan'):.2f}")
    held = result.reports.get("evaluate", {}).get("gate", {})
    print(f"held-out release gates of {result.release}: {'passed' if held.get('passed') else 'FAILED'}")
    metrics = result.reports.get("evaluate", {}).get("metrics", {})
    released = released_model(config.trained_stages())
    for m in (f"{k}_{released}" for k in ("answer_rate", "decline_rate", "refusal_rate", "hallucination_rate")):
        print(f"  {m}: {metrics.get(m)}")
    print("times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    (root / "feedback_bench.json").write_text(json.dumps(
        {"rates": {k.kind: k.rate for k in rates.kinds}, "compared": compared, "times_s": times,
         "dataset": out.dataset.card, "gates_passed": held.get("passed")}, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
