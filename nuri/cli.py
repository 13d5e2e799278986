"""`nuri`: run the reference pipeline locally, compile it for the cluster, serve a
release, de-identify text. Errors a user can fix print as one line and exit non-zero."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from nuri.errors import NuriError

log = logging.getLogger("nuri")


def _config(args):
    from nuri.config import load_domain_config

    return load_domain_config(args.domain)


def cmd_validate(args) -> int:
    from nuri.preflight import preflight

    config = _config(args)
    counts = preflight(config)
    print(f"{args.domain}: valid ({config.name}); " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_run(args) -> int:
    from nuri.console import progress_to_terminal
    from nuri.local_run import format_summary, new_run_id, run_local, with_local_storage

    config = with_local_storage(_config(args), args.storage)
    if args.seed is not None:
        config = config.model_copy(update={"runtime": config.runtime.model_copy(update={"seed": args.seed})})
    run_id = args.run_id or new_run_id()
    log_path = Path(args.root) / "runs" / run_id / "pipeline.log"
    print(f"nuri: running {config.name} pipeline {run_id} locally (full log: {log_path})", flush=True)
    if args.verbose:
        result = run_local(config, root=Path(args.root), run_id=run_id)
    else:
        with progress_to_terminal(log_path):
            result = run_local(config, root=Path(args.root), run_id=run_id)
    print(format_summary(result, config), flush=True)
    if result.status == "succeeded":
        return 0
    return 3 if result.status == "gate_failed" else 1


def cmd_bootstrap(args) -> int:
    """Reads the domain's documents and writes the sets data.bootstrap derives from them,
    with review.jsonl for `nuri label`: what the pipeline's ingest step trains on."""
    import shutil
    import tempfile

    from nuri.data.bootstrap import REPORT_FILE, REVIEW_FILE, SET_FILES
    from nuri.data.ingest import ingest
    from nuri.errors import ConfigError

    config = _config(args)
    if config.data.bootstrap is None:
        raise ConfigError(f"{args.domain}: data.bootstrap is not set (nothing to derive)")
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        ingest(config, Path(tmp))
        out.mkdir(parents=True, exist_ok=True)
        report = json.loads((Path(tmp) / REPORT_FILE).read_text())
        for name in [*(SET_FILES[s] for s in report["sets"]), REVIEW_FILE, REPORT_FILE]:
            shutil.copyfile(Path(tmp) / name, out / name)
    for name, by_origin in report["sets"].items():
        print(f"{name}: " + ", ".join(f"{v} {k}" for k, v in by_origin.items()))
    review = report["review"]
    print(f"reviewed so far: {review.get('reviewed', 0)}; rejected by the reviewer: "
          f"{review.get('rejected_by_reviewer', 0)}")
    print(f"wrote {out}/. Review: nuri label --input {out / REVIEW_FILE} --output <reviewed.jsonl> --shuffle, "
          "then set data.bootstrap.reviewed to that file")
    return 0


def cmd_compile(args) -> int:
    from nuri.compile import compile_pipeline, local_paths

    config = _config(args)
    out = compile_pipeline(config, Path(args.out))
    local = local_paths(config)
    print(f"wrote {out}")
    if local:
        print(f"note: {', '.join(local)} are local paths; pods in the cluster cannot read them "
              f"(use s3:// URIs in the cluster's domain config)")
    return 0


def cmd_serve(args) -> int:
    import tempfile

    import uvicorn

    from nuri.release import fetch_release
    from nuri.serving.app import create_app
    from nuri.serving.service import ModelService

    if args.host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("NURI_API_KEY"):
        raise NuriError(f"--host {args.host} exposes the API beyond loopback; set NURI_API_KEY first")
    if args.release_dir:  # the release's own domain.json says how to serve it (KServe: /mnt/models)
        service = ModelService.from_release(Path(args.release_dir), args.name, max_batch=args.max_batch)
        config_path = Path(args.release_dir) / "domain.json"
        from nuri.config import DomainConfig

        config = DomainConfig.from_json(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    else:
        from nuri.local_run import with_local_storage

        config = with_local_storage(_config(args), args.storage)
        cache = tempfile.mkdtemp(prefix="nuri-release-")
        release, local = fetch_release(config.storage.uri, config.name, args.version, Path(cache))
        service = ModelService.from_release(local, release.name, config.serving, max_batch=args.max_batch)
    store = None if args.no_feedback else _feedback_store(config, args.feedback_db)
    print(f"serving {', '.join(service.model_ids)} on http://{args.host}:{args.port}/v1/chat/completions "
          f"(chat page: http://{args.host}:{args.port}/chat)", flush=True)
    uvicorn.run(create_app(service, feedback=store, feedback_config=config.feedback if config else None),
                host=args.host, port=args.port, log_level="warning")
    return 0


def _feedback_store(config, path: str | None):
    from nuri.feedback.store import FeedbackStore

    if path:
        return FeedbackStore(f"sqlite:///{Path(path).expanduser().resolve()}", config.deid if config else None)
    if config is None or not config.feedback.enabled:
        return None
    try:
        return FeedbackStore.for_domain(config)
    except NuriError as e:  # e.g. object-store storage and no database URL: serve, but say so
        log.warning("no feedback log: %s", e)
        return None


def cmd_releases(args) -> int:
    from nuri.local_run import with_local_storage
    from nuri.release import list_versions, promoted_version, release_card
    from nuri.storage import open_storage

    config = with_local_storage(_config(args), args.storage)
    storage = open_storage(config.storage.uri)
    if args.compare:
        from nuri.profile_card import compare

        a, b = (release_card(storage, config.name, v) for v in args.compare)
        table = [("section", "field", a["release"], b["release"])] + compare(a, b)
        widths = [min(60, max(len(r[i]) for r in table)) for i in range(3)]
        for r in table:
            print("  ".join(c[:60].ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3][:60])
        return 0
    promoted = promoted_version(storage, config.name)
    for v in list_versions(storage, config.name):
        print(f"{config.name}-{v}{'  (promoted)' if v == promoted else ''}")
    return 0


def cmd_card(args) -> int:
    from nuri.local_run import with_local_storage
    from nuri.profile_card import render_html, render_markdown
    from nuri.release import list_versions, promoted_version, release_card
    from nuri.storage import open_storage

    config = with_local_storage(_config(args), args.storage)
    storage = open_storage(config.storage.uri)
    version = args.version or promoted_version(storage, config.name) or \
        (list_versions(storage, config.name) or [None])[-1]
    if version is None:
        raise NuriError(f"{storage.uri}: domain {config.name!r} has no release")
    card = release_card(storage, config.name, version)
    if args.format == "json":
        import json

        text = json.dumps(card, ensure_ascii=False, indent=2)
    else:
        text = render_html(card) if args.format == "html" else render_markdown(card)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_deid(args) -> int:
    from nuri.deid.cli import run

    return run(args)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nuri", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def domain_arg(sp, required=True):
        sp.add_argument("--domain", required=required, help="domain config YAML, e.g. domains/welfare.yaml")

    sp = sub.add_parser("validate", help="validate a domain config and its data, do nothing else")
    domain_arg(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("run", help="run the reference pipeline locally (KFP local runner + local Ray)")
    domain_arg(sp)
    sp.add_argument("--root", default="runs", help="folder for pipeline artifacts and summaries (default: runs)")
    sp.add_argument("--storage", help="override storage.uri (folder or s3://bucket/prefix)")
    sp.add_argument("--run-id", help="default: a timestamp")
    sp.add_argument("--seed", type=int, help="override runtime.seed (model init, data order, sampling)")
    sp.add_argument("--verbose", action="store_true", help="show every log line (default: progress only)")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("compile", help="compile the pipeline to KFP IR YAML for the cluster")
    domain_arg(sp)
    sp.add_argument("--out", default="build/nuri-reference.yaml")
    sp.set_defaults(func=cmd_compile)

    sp = sub.add_parser("serve", help="serve a release behind an OpenAI-compatible API")
    domain_arg(sp, required=False)
    sp.add_argument("--version", help="release version, e.g. v0003 (default: the promoted one)")
    sp.add_argument("--release-dir", help="serve this release folder instead of looking one up")
    sp.add_argument("--name", help="with --release-dir: the model id to serve it as (default: "
                                   "<domain>-<version> from the folder's RELEASE.json, else the folder's name)")
    sp.add_argument("--storage", help="override storage.uri")
    sp.add_argument("--max-batch", type=int, help="override serving.engine.max_batch (1: no batching)")
    sp.add_argument("--feedback-db", help="SQLite file for the completion and rating log (default: the "
                                          "domain's, see feedback.database; the cluster: NURI_FEEDBACK_DB_URL)")
    sp.add_argument("--no-feedback", action="store_true", help="log nothing, accept no ratings")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("releases", help="list a domain's releases, or compare two releases' cards")
    domain_arg(sp)
    sp.add_argument("--storage", help="override storage.uri")
    sp.add_argument("--compare", nargs=2, metavar=("VERSION", "VERSION"),
                    help="print two releases' profile cards side by side, e.g. v0001 v0002")
    sp.set_defaults(func=cmd_releases)

    sp = sub.add_parser("card", help="print or render a release's model profile card")
    domain_arg(sp)
    sp.add_argument("--version", help="default: the promoted release, else the newest")
    sp.add_argument("--format", choices=("md", "html", "json"), default="md")
    sp.add_argument("--out", help="write to this file instead of printing")
    sp.add_argument("--storage", help="override storage.uri")
    sp.set_defaults(func=cmd_card)

    from nuri.deid.cli import add_arguments

    sp = sub.add_parser("deid", help="de-identify documents (one per line, or JSONL with --jsonl)")
    add_arguments(sp)
    sp.set_defaults(func=cmd_deid)

    from nuri.feedback import cli as retrain_cli
    from nuri.feedback import monitor

    sp = sub.add_parser("monitor", help="rating rates against their thresholds, and the service's objectives")
    monitor.add_arguments(sp)
    sp.set_defaults(func=monitor.run)

    sp = sub.add_parser("retrain", help="retrain the promoted release from its ratings (when a threshold is "
                                        "crossed, or --force)")
    retrain_cli.add_arguments(sp)
    sp.set_defaults(func=retrain_cli.run)

    sp = sub.add_parser("bootstrap", help="derive SFT, preference, off-domain, harmful and knowledge sets from "
                                          "the domain's documents (data.bootstrap), for review")
    domain_arg(sp)
    sp.add_argument("--out", required=True, help="folder for the derived sets and review.jsonl")
    sp.set_defaults(func=cmd_bootstrap)

    from nuri.data import label

    sp = sub.add_parser("label", help="pick the best answer per prompt in the terminal (reward-model set)")
    label.add_arguments(sp)
    sp.set_defaults(func=label.run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.command == "serve" and not (args.domain or args.release_dir):
        print("nuri: error: serve needs --domain or --release-dir", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request, e.g. while comparing releases
    try:
        return args.func(args)
    except NuriError as e:
        print(f"nuri: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
