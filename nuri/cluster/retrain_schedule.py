"""Retraining in the cluster through the Kubeflow Pipelines API (`kfp.Client`).

    submit_retrain(package, host, run_id="retrain-20270105", config=config)   # one run
    schedule_retrain(config, host, namespace="agency-welfare")                 # the schedule

`submit_retrain` submits a compiled reference pipeline as a run (what the trigger does
once the ratings call for retraining). `schedule_retrain` makes the KFP recurring run
that starts the retrain trigger pipeline (pipelines/retrain_trigger.py) on
`feedback.retrain.schedule`. It is idempotent by replacement: a recurring run of the same
name in the experiment is deleted and created anew, so a changed schedule or config
takes effect and calling it twice leaves one. The auth token, when needed, comes from
KF_PIPELINES_SA_TOKEN_PATH or the in-cluster service account, never from arguments.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from nuri.config import DomainConfig
from nuri.errors import ConfigError

log = logging.getLogger("nuri")


def recurring_run_name(config: DomainConfig) -> str:
    return f"nuri-retrain-{config.name}"


def submit_retrain(package: Path, host: str, *, run_id: str, config: DomainConfig, namespace: str | None = None,
                   experiment: str = "nuri-retrain"):
    """Submits the compiled reference pipeline with this domain config as its parameter."""
    from nuri.compile import submit

    return submit(package, host, run_id=run_id, experiment=experiment, namespace=namespace, config=config)


def compile_trigger(config: DomainConfig, out: Path) -> Path:
    """Writes the retrain trigger pipeline with this domain's config as the default parameter."""
    from nuri.compile import compile_with_config
    from pipelines.retrain_trigger import build_trigger_pipeline

    return compile_with_config(build_trigger_pipeline(config), config, out)


def _cron(value: str | None, field: str, purpose: str) -> str:
    cron = (value or "").strip()
    if not cron:
        raise ConfigError(f"feedback.retrain.{field}: not set; give a six-field cron, seconds first "
                          f"(e.g. '0 0 3 * * 1'), to {purpose}")
    if not cron.startswith("@") and len(cron.split()) != 6:
        raise ConfigError(f"feedback.retrain.{field}: {cron!r} is not a six-field cron (KFP counts seconds "
                          f"first, e.g. '0 0 3 * * 1')")
    return cron


def _replace_recurring_run(config: DomainConfig, host: str, *, name: str, cron: str, force: bool,
                           namespace: str | None, experiment: str, description: str):
    """Creates (or replaces) one recurring run of the trigger pipeline: one run at a time,
    missed runs not caught up. Returns the kfp_server_api recurring run."""
    import kfp

    client = kfp.Client(host=host, namespace=namespace)
    experiment_id = client.create_experiment(experiment, namespace=namespace).experiment_id
    same_name = json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})
    existing = client.list_recurring_runs(experiment_id=experiment_id, filter=same_name, page_size=100)
    for old in existing.recurring_runs or []:
        log.info("replacing recurring run %s (%s)", name, old.recurring_run_id)
        client.delete_recurring_run(old.recurring_run_id)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_trigger(config, Path(tmp) / "retrain-trigger.yaml")
        return client.create_recurring_run(
            experiment_id=experiment_id, job_name=name, cron_expression=cron, max_concurrency=1, no_catchup=True,
            params={"domain_config": config.to_json(), "force": force}, pipeline_package_path=str(package),
            description=description)


def schedule_retrain(config: DomainConfig, host: str, *, namespace: str | None = None,
                     experiment: str = "nuri-retrain"):
    """The recurring run that retrains on `feedback.retrain.schedule`, whatever the rates."""
    from nuri.feedback.retrain import ensure_retrainable  # lazy: the feedback store's imports

    ensure_retrainable(config)
    cron = _cron(config.feedback.retrain.schedule, "schedule", "schedule retraining")
    return _replace_recurring_run(config, host, name=recurring_run_name(config), cron=cron, force=True,
                                  namespace=namespace, experiment=experiment,
                                  description=f"Nuri retrain of {config.name} on {cron!r}")


def schedule_threshold_check(config: DomainConfig, host: str, *, namespace: str | None = None,
                             experiment: str = "nuri-retrain"):
    """The recurring run that checks the rates on `feedback.retrain.check_schedule` and
    retrains only when a threshold is crossed."""
    from nuri.feedback.retrain import ensure_retrainable

    ensure_retrainable(config)
    cron = _cron(config.feedback.retrain.check_schedule, "check_schedule", "check the rates in the cluster")
    return _replace_recurring_run(config, host, name=f"{recurring_run_name(config)}-check", cron=cron, force=False,
                                  namespace=namespace, experiment=experiment,
                                  description=f"Nuri threshold check for {config.name} on {cron!r}: retrains "
                                              f"when a rating rate crosses its threshold")
