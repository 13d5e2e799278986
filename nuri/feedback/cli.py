"""`nuri retrain`: retrain the promoted release from its ratings when a threshold is
crossed (or when asked: --force, as the schedule does), locally or by submitting the
run to Kubeflow Pipelines; `--schedule` sets up the recurring run in the cluster."""

from __future__ import annotations

import tempfile
from pathlib import Path


def add_arguments(sp) -> None:
    sp.add_argument("--domain", required=True, help="domain config YAML")
    sp.add_argument("--storage", help="override storage.uri")
    sp.add_argument("--root", default="runs", help="folder for the run's artifacts (default: runs)")
    sp.add_argument("--run-id", help="default: a timestamp")
    sp.add_argument("--force", action="store_true", help="retrain even when no threshold is crossed")
    sp.add_argument("--dry-run", action="store_true", help="say whether a retrain is due and stop")
    sp.add_argument("--submit", action="store_true", help="submit the run to Kubeflow Pipelines (--kfp-host) "
                                                          "instead of running it here")
    sp.add_argument("--schedule", action="store_true", help="create the recurring retrain run in Kubeflow "
                                                            "Pipelines (feedback.retrain.schedule)")
    sp.add_argument("--kfp-host", help="Kubeflow Pipelines API address, e.g. http://ml-pipeline.kubeflow:8888")
    sp.add_argument("--namespace", help="KFP namespace (the standalone KFP the platform installs runs "
                                        "everything in kubeflow)")


def run(args) -> int:
    from nuri.console import progress_to_terminal
    from nuri.errors import NuriError
    from nuri.feedback.retrain import prepare_retrain
    from nuri.feedback.store import FeedbackStore
    from nuri.local_run import format_summary, new_run_id, run_local, with_local_storage

    from nuri.config import load_domain_config

    config = with_local_storage(load_domain_config(args.domain), args.storage)
    if args.schedule:
        from nuri.cluster.retrain_schedule import schedule_retrain, schedule_threshold_check

        if not args.kfp_host:
            raise NuriError("--schedule needs --kfp-host")
        retrain = config.feedback.retrain
        if not (retrain.schedule or retrain.check_schedule):
            raise NuriError("feedback.retrain: neither schedule nor check_schedule is set: nothing to schedule")
        if retrain.check_schedule:
            made = schedule_threshold_check(config, args.kfp_host, namespace=args.namespace)
            print(f"threshold check for {config.name} on {retrain.check_schedule!r}: {made.recurring_run_id}")
        if retrain.schedule:
            made = schedule_retrain(config, args.kfp_host, namespace=args.namespace)
            print(f"retrain of {config.name} on {retrain.schedule!r}: {made.recurring_run_id}")
        return 0
    store = FeedbackStore.for_domain(config)
    out = prepare_retrain(config, store, force=args.force)
    t = out.trigger
    print(f"{t.release}: {t.rates.total} ratings in the last {t.rates.window_hours:g} h; retrain "
          f"{'due' if t.due else 'not due'} ({t.reason})")
    if out.config is None or args.dry_run:
        return 0
    card = out.dataset.card
    print(f"feedback dataset {card['version']} at {out.dataset_uri}: {card['sft_pairs']} SFT pairs, "
          f"{card['preference_pairs']} preference pairs, {card['filtering_items']} filtering items "
          f"(from {card['ratings']} ratings of {', '.join(card['from_releases'])})")
    run_id = args.run_id or new_run_id()
    if args.submit:
        from nuri.cluster.retrain_schedule import submit_retrain
        from nuri.compile import compile_pipeline

        if not args.kfp_host:
            raise NuriError("--submit needs --kfp-host")
        with tempfile.TemporaryDirectory() as tmp:
            package = compile_pipeline(out.config, Path(tmp) / "retrain.yaml")
            submitted = submit_retrain(package, args.kfp_host, run_id=run_id, config=out.config,
                                       namespace=args.namespace)
        print(f"submitted retrain run {getattr(submitted, 'run_id', submitted)} to {args.kfp_host}")
        return 0
    log_path = Path(args.root) / "runs" / run_id / "pipeline.log"
    print(f"nuri: retraining {config.name} from {t.release} ({run_id}; full log: {log_path})", flush=True)
    with progress_to_terminal(log_path):
        result = run_local(out.config, root=Path(args.root), run_id=run_id)
    print(format_summary(result, out.config), flush=True)
    if result.release:
        print(compare_text(config, t.version, result.release.rsplit("-", 1)[1], store))
    return 0 if result.status == "succeeded" else 3 if result.status == "gate_failed" else 1


def compare_text(config, old_version: str, new_version: str, store) -> str:
    """The old and the new release on the questions whose ratings triggered the retrain."""
    from nuri.feedback.simulate import compare_releases, dataset_dir_of, detector_for, questions_from_ratings
    from nuri.release import fetch_release

    questions = questions_from_ratings(store.ratings(release=f"{config.name}-{old_version}"))
    if not questions:
        return "no failed answers were rated: nothing to compare"
    with tempfile.TemporaryDirectory() as cache:
        dirs = {v: fetch_release(config.storage.uri, config.name, v, Path(cache))[1]
                for v in (old_version, new_version)}
        detector = detector_for(dataset_dir_of(dirs[new_version], Path(cache)))
        rates = compare_releases({f"{config.name}-{v}": d for v, d in dirs.items()}, questions, detector)
    lines = [f"on the {len(questions)} questions whose answers were rated as failures:"]
    for name, r in rates.items():
        lines.append(f"  {name}: failure rate {r['failure_rate']:.3f} {r['kinds']}")
    return "\n".join(lines)
