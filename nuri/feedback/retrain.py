"""Retraining from people's ratings: when a rate crosses its threshold (or on the
schedule), the promoted release's ratings become a feedback dataset version, and the
reference pipeline runs again from the release's model (not from scratch), with the
domain's gates: the new model is released only if it passes them, as any other.

Locally `nuri retrain --domain X` does it all on this machine; in the cluster the
trigger pipeline's step (pipelines/retrain_trigger.py) calls trigger_in_cluster, which
submits the run to Kubeflow Pipelines."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nuri.config import DomainConfig
from nuri.errors import ConfigError, NuriError
from nuri.feedback import dataset as fb
from nuri.feedback.monitor import RatesReport, rating_rates
from nuri.feedback.store import FeedbackStore
from nuri.release import MARKER, Release, fetch_release, promoted_version
from nuri.storage import Storage, open_storage

log = logging.getLogger("nuri")
KFP_IN_CLUSTER = "http://ml-pipeline.kubeflow.svc.cluster.local:8888"


class NothingToTrainOn(NuriError):
    pass


@dataclass(frozen=True)
class Trigger:
    release: str          # <domain>-<version>, the promoted one
    version: str
    rates: RatesReport
    due: bool
    reason: str


def check(config: DomainConfig, store: FeedbackStore, storage: Storage, *, force: bool = False,
          now: dt.datetime | None = None) -> Trigger:
    """Is a retrain of the promoted release due? force: yes whatever the rates (the
    schedule, or a person asking)."""
    version = promoted_version(storage, config.name)
    if version is None:
        raise NuriError(f"{storage.uri}: domain {config.name!r} has no promoted release to retrain from")
    release = f"{config.name}-{version}"
    now = now or dt.datetime.now(dt.timezone.utc)
    rates = rating_rates(store.ratings(release=release), config.feedback, release=release, now=now)
    crossed = [k for k in rates.kinds if k.kind in rates.crossed]
    if crossed:
        reason = ", ".join(f"{k.kind} {k.rate:.2f} >= {k.threshold:.2f}" for k in crossed)
    elif force:
        reason = "asked (schedule or --force)"
    elif not rates.enough:
        reason = f"{rates.total} ratings in the window, fewer than the {rates.min_ratings} that count"
    else:
        reason = "every rate is under its threshold"
    return Trigger(release, version, rates, bool(crossed) or force, reason)


def _refusal(config: DomainConfig, release_dir: Path) -> str:
    from nuri.serving.assets import SERVICE_FILE

    meta = release_dir / "service" / SERVICE_FILE
    if meta.is_file():
        return json.loads(meta.read_text(encoding="utf-8"))["refusal_message"]
    if config.serving.guard.refusal_message:
        return config.serving.guard.refusal_message
    raise NuriError(f"{release_dir}: no service/{SERVICE_FILE} and no serving.guard.refusal_message: the refusal "
                    f"a harmful request is trained to get is unknown")


def export_dataset(config: DomainConfig, store: FeedbackStore, storage: Storage, trigger: Trigger,
                   release_dir: Path) -> tuple[str, fb.FeedbackDataset]:
    """Publishes the release's ratings as a feedback dataset version; returns its URI."""
    ds = fb.build_feedback_dataset(store.ratings(release=trigger.release), refusal=_refusal(config, release_dir),
                                   releases=[trigger.release])
    if ds.empty:
        raise NothingToTrainOn(f"{trigger.release}: no rating gives anything to train on (a correction, a harmful "
                               f"request, or a bad answer to a question that also got a good one)")
    version = ds.card["version"]
    prefix = f"feedback/{config.name}/{version}"
    uri = f"{storage.uri}/{prefix}"
    if storage.exists(f"{prefix}/{fb.CARD_FILE}"):
        return uri, ds  # the same ratings made this version before: it is content-addressed
    ds.card.update({"domain": config.name, "trigger": trigger.reason,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, rows in ((fb.SFT_FILE, ds.sft), (fb.PREFERENCES_FILE, ds.preferences),
                           (fb.SAFETY_FILE, ds.safety)):
            if rows:
                (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
        card = json.dumps(ds.card, ensure_ascii=False, indent=2).encode()
        storage.publish_dir(prefix, folder, fb.CARD_FILE, card)  # appears whole or not at all
    log.info("feedback dataset %s: %d SFT pairs, %d preference pairs, %d filtering items from %s",
             version, len(ds.sft), len(ds.preferences), len(ds.safety), trigger.release)
    return uri, ds


def ensure_retrainable(config: DomainConfig) -> None:
    """A domain that trains nothing cannot learn from its ratings: said before any work
    (a retrain, or a schedule whose every run would fail)."""
    if config.training.method == "foundation":
        raise ConfigError(f"{config.name}: training.method foundation serves the base model as it is, so ratings "
                          f"cannot retrain it; choose sft or full to learn from them")


def retrain_config(config: DomainConfig, release_uri: str, feedback_uri: str) -> DomainConfig:
    """The domain's config for a run from its release: the release's model as the base
    (retrain.start_from), the retrain's stage settings and stage gates over the domain's,
    the feedback dataset in data. Release gates are the domain's own, unchanged."""
    retrain = config.feedback.retrain
    raw = json.loads(config.to_json())
    if retrain.start_from == "release":
        raw["base_model"] = {**raw["base_model"], "source": "pretrained", "path": f"{release_uri}/model"}
    if config.training.method != "foundation":
        # The same stages as the domain's own runs: a base model now pretrained must not
        # change whether continued pretraining runs (training.continued_pretraining's default).
        raw["training"]["continued_pretraining"] = "pretrain" in config.trained_stages()
    for stage, settings in retrain.stages.items():
        raw["stages"][stage] = {**raw["stages"][stage], **settings}
    for stage, gates in retrain.gates.items():
        raw["gates"][stage] = gates
    raw["data"]["feedback"] = feedback_uri
    return DomainConfig.model_validate(raw)


@dataclass
class RetrainOutcome:
    trigger: Trigger
    dataset_uri: str | None = None
    dataset: fb.FeedbackDataset | None = None
    config: DomainConfig | None = None
    result: object | None = None   # local_run.RunResult, or the KFP run when submitted

    def summary(self) -> dict:
        t = self.trigger
        return {"release": t.release, "due": t.due, "reason": t.reason, "ratings": t.rates.total,
                "dataset_uri": self.dataset_uri, "dataset": self.dataset.card if self.dataset else None,
                "run": getattr(self.result, "run_id", None)}


def prepare_retrain(config: DomainConfig, store: FeedbackStore, *, force: bool = False,
                    now: dt.datetime | None = None, cache: Path | None = None) -> RetrainOutcome:
    """Check, and when due export the dataset and make the run's config."""
    ensure_retrainable(config)
    storage = open_storage(config.storage.uri)
    trigger = check(config, store, storage, force=force, now=now)
    out = RetrainOutcome(trigger)
    if not trigger.due:
        return out
    release, release_dir = fetch_release(config.storage.uri, config.name, trigger.version,
                                         cache or Path(tempfile.mkdtemp(prefix="nuri-retrain-")))
    out.dataset_uri, out.dataset = export_dataset(config, store, storage, trigger, release_dir)
    out.config = retrain_config(config, release.uri, out.dataset_uri)
    return out


def retrain_local(config: DomainConfig, store: FeedbackStore, *, root: Path, run_id: str | None = None,
                  force: bool = False) -> RetrainOutcome:
    from nuri.local_run import run_local

    out = prepare_retrain(config, store, force=force)
    if out.config is not None:
        out.result = run_local(out.config, root=root, run_id=run_id)
    return out


def trigger_in_cluster(config: DomainConfig, *, run_id: str, force: bool) -> RetrainOutcome:
    """The trigger pipeline's step: the retrain schedule's runs retrain (force), the
    threshold check's only when a rate is crossed. Submits the reference pipeline for the
    retrain's config to the KFP API (in-cluster address, or NURI_KFP_HOST)."""
    from nuri.cluster.retrain_schedule import submit_retrain
    from nuri.compile import compile_pipeline

    store = FeedbackStore.for_domain(config)
    out = prepare_retrain(config, store, force=force)
    log.info("retrain of %s: %s (%s)", out.trigger.release, "due" if out.trigger.due else "not due",
             out.trigger.reason)
    if out.config is None:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(out.config, Path(tmp) / "retrain.yaml")
        out.result = submit_retrain(package, os.environ.get("NURI_KFP_HOST", KFP_IN_CLUSTER), run_id=run_id,
                                    config=out.config, namespace=os.environ.get("NURI_KFP_NAMESPACE"))
    return out


__all__ = ["MARKER", "NothingToTrainOn", "Release", "RetrainOutcome", "Trigger", "check", "export_dataset",
           "prepare_retrain", "retrain_config", "retrain_local", "trigger_in_cluster"]
