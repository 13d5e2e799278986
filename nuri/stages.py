"""The pipeline's stages as plain functions of (config JSON, input folders, output
folders). KFP components call these and nothing else, so each stage can also run and be
tested without KFP. Every stage writes `report.json` (wall time, metrics, gate) to its
report folder, even when its gate fails, so the run summary can explain the stop."""

from __future__ import annotations

import json
import logging
import math
import time
from contextlib import contextmanager
from pathlib import Path

from nuri.config import DomainConfig
from nuri.errors import GateFailed
from nuri.gates import evaluate_gate
from nuri.training_method import TRAINING_STAGES

log = logging.getLogger("nuri")

REPORT_FILE = "report.json"


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


@contextmanager
def stage_report(name: str, report_dir: str | Path):
    """Times the stage and writes its report on the way out, success or not."""
    report = {"stage": name, "metrics": {}, "gate": None, "status": "running"}
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        yield report
        report["status"] = "ok"
    except GateFailed:
        report["status"] = "gate_failed"
        raise
    except Exception as e:
        report["status"] = "error"
        report["error"] = f"{type(e).__name__}: {e}"[:500]
        raise
    finally:
        report["wall_s"] = round(time.perf_counter() - t0, 2)
        (report_dir / REPORT_FILE).write_text(json.dumps(_clean(report), ensure_ascii=False, indent=2))


def read_report(report_dir: str | Path) -> dict:
    return json.loads((Path(report_dir) / REPORT_FILE).read_text())


def _apply_gate(report: dict, stage: str, config: DomainConfig, metrics: dict) -> None:
    decision = evaluate_gate(stage, config.gates.criteria(stage), metrics)
    report["gate"] = decision.to_dict()
    log.info("gate %s: %s", stage, decision.summary())
    if not decision.passed:
        raise GateFailed(f"{stage} gate: {decision.summary()}")


# --- data ---------------------------------------------------------------------------

def ingest_stage(config_json: str, raw_dir: str, report_dir: str) -> dict:
    from nuri.data.ingest import ingest

    config = DomainConfig.from_json(config_json)
    with stage_report("ingest", report_dir) as report:
        r = ingest(config, Path(raw_dir))
        report["metrics"] = {"documents": r.documents, "corpus_kb": round(r.corpus_bytes / 1024, 1),
                             **{f"{k}_records": v for k, v in r.records.items() if k != "documents"},
                             "bad_inputs_skipped": sum(r.bad_inputs.values()),
                             "docs_per_s": round(r.documents / max(r.seconds, 1e-9), 1)}
        report["bad_inputs"] = r.bad_inputs
    return report


def prepare_stage(config_json: str, raw_dir: str, dataset_dir: str, report_dir: str) -> dict:
    from nuri.data.prepare import prepare

    config = DomainConfig.from_json(config_json)
    with stage_report("prepare", report_dir) as report:
        r = prepare(config, Path(raw_dir), Path(dataset_dir))
        report["metrics"] = {**r.counts, **{f"removed_{k}": v for k, v in r.removed.items()},
                             "pii_redacted": sum(r.pii.values())}
        report["metrics"].update({f"set_removed_{k}": v for k, v in r.set_removed.items()})
        report["dataset_version"] = r.version
        report["dataset_uri"] = r.uri  # the immutable published version; later stages cite it
        report["pii_by_type"] = r.pii
    return report


def base_model_stage(config_json: str, dataset_dir: str, model_dir: str, report_dir: str) -> dict:
    from nuri.model.base import build_base_model

    config = DomainConfig.from_json(config_json)
    with stage_report("base_model", report_dir) as report:
        facts = build_base_model(config, Path(dataset_dir), Path(model_dir))
        report["metrics"] = {"parameters": facts["parameters"], "vocab_size": facts["vocab_size"]}
        report["base_model"] = facts
    return report


# --- training -----------------------------------------------------------------------

def _loop_for(stage: str):
    if stage == "pretrain":
        from nuri.train.pretrain import pretrain_loop
        return pretrain_loop
    if stage == "sft":
        from nuri.train.sft import sft_loop
        return sft_loop
    if stage == "reward":
        from nuri.train.reward import reward_loop
        return reward_loop
    if stage == "ppo":
        from nuri.train.ppo import ppo_loop
        return ppo_loop
    raise ValueError(f"unknown training stage {stage!r}")


def training_stage(stage: str, config_json: str, run_id: str, inputs: dict[str, str], dataset_dir: str,
                   model_dir: str, report_dir: str, *, loop_overrides: dict | None = None) -> dict:
    """Runs one training stage under Ray Train and applies its gate.
    inputs: {"model_dir": ...} or, for PPO, {"policy_dir": ..., "reward_dir": ...}."""
    from nuri.train.metrics import plot_curves
    from nuri.train.runtime import run_stage

    config = DomainConfig.from_json(config_json)
    if config.runtime.mode == "cluster":
        # Submitted to Ray in Kubernetes (a RayJob, or a long-lived RayCluster's Jobs API);
        # the job runs this same function in local mode on its own Ray cluster.
        from nuri.cluster.submit import run_stage_in_cluster

        return run_stage_in_cluster(stage, config, run_id, inputs, dataset_dir, model_dir, report_dir,
                                    loop_overrides=loop_overrides)
    with stage_report(stage, report_dir) as report:
        # "auto" is resolved on the training worker, where the device is (nuri.train.precision).
        loop_config = {"config": config_json, "stage": stage, "data_dir": dataset_dir,
                       "precision": config.runtime.precision,
                       "num_workers": config.runtime.num_workers, **inputs, **(loop_overrides or {})}
        run = run_stage(_loop_for(stage), loop_config, config.runtime, storage_uri=config.storage.uri,
                        run_name=f"{config.name}-{run_id}-{stage}", out_dir=Path(model_dir))
        metrics = dict(run.metrics)
        # Why the stage stopped (max_steps, epochs, early_stopping, target_accuracy, kl_budget).
        report["stop_reason"] = metrics.pop("stop_reason", None)
        report["stop_detail"] = metrics.pop("stop_detail", "")
        report["precision"] = metrics.pop("precision", None)
        report["hardware"] = metrics.pop("hardware", None)
        report["metrics"] = {**metrics, "fit_s": round(run.fit_seconds, 2),
                             "ray_worker_start_s": round(run.worker_start_seconds, 2)}
        report["num_workers"] = config.runtime.num_workers
        report["checkpoint"] = run.checkpoint_uri
        keys = ["loss", "eval_loss", "learning_rate", "tokens_per_second"] if stage != "ppo" else \
            ["objective/scores", "objective/kl", "loss/policy_avg", "lr", "reward", "kl", "loss", "learning_rate"]
        plot_curves(run.log_history, keys, Path(report_dir) / "curves.png", f"{config.name}: {stage}")
        (Path(report_dir) / "log_history.json").write_text(json.dumps(run.log_history))
        _apply_gate(report, stage, config, report["metrics"])
    return report


# --- the safety classifier ----------------------------------------------------------

def safety_stage(config_json: str, raw_dir: str, model_dir: str, report_dir: str) -> dict:
    """Trains the platform's Korean harmful/sensitive-text classifier (nuri/safety) on
    KoSBi's valid split (when evaluation.benchmarks is there), the domain's filtering set
    and data.guard_harmful, scores it on the test splits, and saves it with its card: a model of
    its own, which evaluation uses as a judge and the release carries. raw_dir: ingest's
    output, so the domain's sets are local files wherever the sources were."""
    from nuri.evaluation.benchmarks import benchmark_folder
    from nuri.safety import domain_set, train
    from nuri.safety.card import flat_metrics

    config = DomainConfig.from_json(config_json)
    with stage_report("safety", report_dir) as report:
        folder, why = benchmark_folder(config.evaluation.benchmarks)
        raw = Path(raw_dir)
        if not (raw / "safety.jsonl").exists():  # nothing to learn "harmful" from: no classifier, said so
            Path(model_dir).mkdir(parents=True, exist_ok=True)
            report["skipped"] = "the domain has no filtering set (data.safety)"
            return report
        domain = domain_set(raw / "safety.jsonl", raw / "sft.jsonl", holdout_fraction=config.data.holdout_fraction,
                            preferences=raw / "preferences.jsonl", offdomain=raw / "offdomain.jsonl",
                            feedback=raw / "feedback_safety.jsonl", guard_harmful=raw / "guard_harmful.jsonl")
        clf = train(folder, domain, seed=config.runtime.seed)
        clf.save(Path(model_dir))
        report["metrics"] = flat_metrics(clf.card)
        report["classifier"] = {"version": clf.card.get("version"), "heads": list(clf.kinds)}
        if why:
            report["benchmarks_skipped"] = why
        log.info("safety classifier %s: %s", clf.card.get("version"), report["metrics"])
    return report


# --- the domain service's assets ----------------------------------------------------

def service_assets_stage(config_json: str, dataset_dir: str, safety_dir: str | None, out_dir: str,
                         report_dir: str) -> dict:
    """Builds what the domain service needs beside the model (nuri/serving/assets.py): the
    retrieval passages, the in-domain/off-domain classifier and the guard's messages, and
    measures retrieval hit@k and the guard on held-out prompts."""
    from nuri.serving.assets import build_service_assets

    config = DomainConfig.from_json(config_json)
    with stage_report("service", report_dir) as report:
        safety = Path(safety_dir) if safety_dir and (Path(safety_dir) / "model.skops").is_file() else None
        report["metrics"] = build_service_assets(config, Path(dataset_dir), Path(out_dir), safety)
        _apply_gate(report, "service", config, report["metrics"])
    return report


# --- evaluation ---------------------------------------------------------------------

def _check_models_match_method(config: DomainConfig, step: str, given: set[str], expected: set[str]) -> None:
    """The pipeline's shape is fixed when it is compiled, the config is a run parameter:
    a run whose config names another training method would judge or release a model
    other than the one it says. Refused, in one line."""
    missing, extra = sorted(expected - given), sorted(given - expected)
    if missing or extra:
        said = "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                     f"not made by this method: {', '.join(extra)}" if extra else "") if x)
        raise ValueError(f"{step}: the pipeline was compiled for another training method than the config's "
                         f"training.method {config.training.method} ({said}); compile it again for this config")


def evaluate_stage(config_json: str, dataset_dir: str, models: dict[str, str | None], reward_dir: str | None,
                   report_dir: str, safety_dir: str | None = None) -> tuple[bool, dict]:
    """models: {"base": dir, "pretrain": dir, "sft": dir, "ppo": dir}, None (or absent) for
    a stage the training method does not run; reward_dir: None without a reward model;
    safety_dir: the safety classifier (None: answers are not judged by it). Returns
    (passed, report)."""
    from nuri.training_method import model_chain
    from nuri.evaluation.evaluate import evaluate

    config = DomainConfig.from_json(config_json)
    with stage_report("evaluate", report_dir) as report:
        stages = config.trained_stages()
        chain = model_chain(stages)
        given = {k for k, v in models.items() if v} | ({"reward"} if reward_dir else set())
        _check_models_match_method(config, "evaluate", given, set(chain) | ({"reward"} & set(stages)))
        metrics, samples, extras = evaluate(config, Path(dataset_dir), {k: Path(models[k]) for k in chain},
                                            Path(reward_dir) if reward_dir else None, Path(report_dir),
                                            Path(safety_dir) if safety_dir else None)
        report["metrics"] = metrics
        report["samples"] = samples
        report.update(extras)
        decision = evaluate_gate("release", config.gates.criteria("release"), metrics)
        report["gate"] = decision.to_dict()
        log.info("release gate: %s", decision.summary())
    return decision.passed, report


# --- release ------------------------------------------------------------------------

def register_stage(config_json: str, model_dir: str, report_dirs: dict[str, str], release_dir: str,
                   report_dir: str, safety_dir: str | None = None, service_dir: str | None = None) -> dict:
    """Publishes the evaluated policy as the next release of the domain, with the safety
    classifier it was judged by (safety_classifier/) and the domain service's retrieval
    passages and guard (service/)."""
    from nuri.profile_card import build_card
    from nuri.release import publish_release
    from nuri.storage import open_storage

    config = DomainConfig.from_json(config_json)
    with stage_report("register", report_dir) as report:
        trained = config.trained_stages()
        given = {name for name, d in report_dirs.items() if d and name in TRAINING_STAGES}
        _check_models_match_method(config, "register", given, set(trained))
        reports = {name: read_report(d) for name, d in report_dirs.items() if name != "dataset" and d}
        card = json.loads((Path(report_dirs["dataset"]) / "card.json").read_text()) \
            if (Path(report_dirs["dataset"]) / "card.json").exists() else {}
        lineage = {
            "data_grade": config.data_grade,
            "data": {"dataset_version": reports["prepare"].get("dataset_version"),
                     "dataset_uri": reports["prepare"].get("dataset_uri"),
                     "files_sha256": card.get("files_sha256", {}), "sources": card.get("sources", {})},
            "base_model": reports["base_model"].get("base_model"),
            "training_method": config.training.method,
            "stages": list(trained),
            "checkpoints": {s: reports[s].get("checkpoint") for s in trained},
            "evaluation": reports["evaluate"]["metrics"],
            "gates": {s: reports[s].get("gate") for s in (*trained, "service", "evaluate")},
            "safety_classifier": reports.get("safety", {}).get("classifier"),
            "service": reports.get("service", {}).get("metrics"),
        }
        metrics = {"evaluation": reports["evaluate"]["metrics"], "gate": reports["evaluate"]["gate"]}
        release = publish_release(open_storage(config.storage.uri), config.name, Path(model_dir),
                                  config_json=config_json, metrics=metrics, lineage=lineage,
                                  card=lambda record: build_card(config, reports, record, card),
                                  extra_dirs={name: Path(d) for name, d in
                                              (("safety_classifier", safety_dir), ("service", service_dir)) if d})
        Path(release_dir).mkdir(parents=True, exist_ok=True)
        (Path(release_dir) / "release.json").write_text(json.dumps(
            {"domain": release.domain, "version": release.version, "uri": release.uri}))
        report["release"] = release.name
        report["release_uri"] = release.uri
        report["metrics"] = {"version": int(release.version[1:])}
        log.info("published release %s at %s", release.name, release.uri)
    return report


def selftest_stage(config_json: str, release_dir: str, report_dir: str, dataset_dir: str | None = None) -> dict:
    """Serves the published release on loopback, asks the configured questions, checks
    the answers (with the evaluation's decline/refusal detector, fit on the dataset's
    labelled responses, when the dataset is given), stops the server, and promotes the
    release when every check passes."""
    import tempfile

    from nuri.release import Release, fetch_release, promote
    from nuri.serving.selftest import selftest
    from nuri.storage import open_storage

    config = DomainConfig.from_json(config_json)
    info = json.loads((Path(release_dir) / "release.json").read_text())
    with stage_report("selftest", report_dir) as report, tempfile.TemporaryDirectory() as cache:
        detector = None
        if dataset_dir is not None:
            from nuri.evaluation.evaluate import train_detector

            detector, _ = train_detector(Path(dataset_dir), config.runtime.seed)
        release, local = fetch_release(config.storage.uri, info["domain"], info["version"], Path(cache))
        result = selftest(local, release.name, config.serving, detector)
        report["metrics"] = {k: result[k] for k in ("questions", "mean_latency_s", "completion_tokens",
                                                    "tokens_per_second")}
        report["question"] = result["question"]
        report["answer"] = result["answer"]
        report["asked"] = result["asked"]
        report["services"] = result["services"]
        report["release"] = release.name
        if not result["passed"]:
            report["gate"] = {"stage": "selftest", "passed": False, "failures": result["failures"], "criteria": []}
            raise GateFailed(f"serving self-test of {release.name}: {'; '.join(result['failures'])}")
        report["gate"] = {"stage": "selftest", "passed": True, "failures": [], "criteria": result["checks"]}
        promote(open_storage(config.storage.uri), Release(info["domain"], info["version"], release.uri),
                {k: v for k, v in result.items() if k not in ("answer", "asked", "services")})
    return report
