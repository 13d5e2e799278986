"""Glue: submit a training stage to Ray in the cluster, stream its logs into the pipeline
step's log, wait with a timeout, fetch the results, and tear down.

Two ways in, chosen by `runtime.ray_cluster.existing_cluster_address`:
- unset (default): one KubeRay `RayJob` per stage (nuri.cluster.rayjob renders it),
  created with the Kubernetes API; KubeRay builds a Ray cluster for the job and deletes
  it when the job ends.
- set: the job goes to a long-lived RayCluster through the Ray Jobs API
  (`ray.job_submission.JobSubmissionClient`).

`cleanup_run` (the pipeline's exit handler) deletes every RayJob of a run and stops its
Jobs-API jobs, so a cancelled or failed run leaves no Ray cluster behind.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nuri.cluster import rayjob, staging
from nuri.config import DomainConfig
from nuri.errors import GateFailed, NuriError

log = logging.getLogger("nuri")

SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
TERMINAL_JOB = {"SUCCEEDED", "FAILED", "STOPPED"}


class ClusterJobFailed(NuriError):
    """The training job in the cluster failed, timed out or was stopped."""


@dataclass
class JobOutcome:
    job_id: str
    status: str            # SUCCEEDED | FAILED | STOPPED | TIMEOUT
    seconds: float
    message: str = ""


def _print_sink(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# --- Ray Jobs API (a long-lived RayCluster, or any Ray head with a dashboard) ----------

class JobsApiRunner:
    """Submits entrypoints to a Ray head's Jobs API and waits for them."""

    def __init__(self, address: str, *, runtime_env: dict | None = None, client=None,
                 auth_token: str | None = None):
        if client is None:
            client = _jobs_client(address, auth_token)
        self.client = client
        self.address = address
        self.runtime_env = runtime_env

    def submit(self, entrypoint: str, submission_id: str, metadata: dict[str, str], *,
               agent_wait_s: float = 60.0) -> str:
        """Retries while the head's job agent is still starting (a fresh head answers
        "No available agent" for a few seconds)."""
        t0 = time.monotonic()
        while True:
            try:
                return self.client.submit_job(entrypoint=entrypoint, submission_id=submission_id,
                                              metadata=metadata, runtime_env=self.runtime_env)
            except RuntimeError as e:
                if "No available agent" not in str(e) or time.monotonic() - t0 > agent_wait_s:
                    raise
                time.sleep(1.0)

    def wait(self, job_id: str, *, timeout_s: float, poll_s: float = 2.0,
             sink: Callable[[str], None] = _print_sink) -> JobOutcome:
        """Streams new log lines to `sink` while waiting; stops the job on timeout."""
        t0 = time.monotonic()
        shown = 0
        while True:
            status = str(self.client.get_job_status(job_id)).split(".")[-1]
            logs = self.client.get_job_logs(job_id) or ""
            if len(logs) > shown:
                sink(logs[shown:])
                shown = len(logs)
            if status in TERMINAL_JOB:
                info = self.client.get_job_info(job_id)
                return JobOutcome(job_id, status, time.monotonic() - t0, getattr(info, "message", "") or "")
            if time.monotonic() - t0 > timeout_s:
                self.client.stop_job(job_id)
                return JobOutcome(job_id, "TIMEOUT", time.monotonic() - t0, f"no result after {timeout_s:.0f}s")
            time.sleep(poll_s)

    def stop_run(self, run_id: str) -> list[str]:
        """Stops this run's unfinished jobs (by the run-id in their metadata)."""
        stopped = []
        for job in self.client.list_jobs():
            meta = getattr(job, "metadata", None) or {}
            status = str(job.status).split(".")[-1]
            if meta.get(rayjob.LABEL_RUN) == rayjob.label_value(run_id) and status not in TERMINAL_JOB:
                self.client.stop_job(job.submission_id)
                stopped.append(job.submission_id)
        return stopped


# --- KubeRay RayJob through the Kubernetes API ----------------------------------------

def pod_namespace(default: str = "default") -> str:
    path = Path(SA_NAMESPACE_FILE)
    return path.read_text().strip() if path.exists() else default


def kubernetes_custom_objects():
    """The CustomObjectsApi of the cluster this step runs in (in-cluster service account,
    or a kubeconfig outside the cluster)."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


class KubeRayRunner:
    """Creates RayJobs and follows their status. `api`: a kubernetes CustomObjectsApi (or a
    stand-in with the same four methods in tests)."""

    def __init__(self, namespace: str, api=None, *, jobs_client_factory: Callable[[str], object] | None = None):
        self.namespace = namespace
        self.api = api if api is not None else kubernetes_custom_objects()
        self.jobs_client_factory = jobs_client_factory

    def submit(self, job: dict) -> str:
        self.api.create_namespaced_custom_object(rayjob.GROUP, rayjob.VERSION, self.namespace, rayjob.PLURAL, job)
        return job["metadata"]["name"]

    def get(self, name: str) -> dict:
        return self.api.get_namespaced_custom_object(rayjob.GROUP, rayjob.VERSION, self.namespace,
                                                     rayjob.PLURAL, name)

    def delete(self, name: str) -> None:
        try:
            self.api.delete_namespaced_custom_object(rayjob.GROUP, rayjob.VERSION, self.namespace,
                                                     rayjob.PLURAL, name)
        except Exception as e:  # already gone is fine
            if getattr(e, "status", None) != 404:
                raise

    def _logs(self, status: dict, shown: int, sink) -> int:
        """Best effort: the job's driver log from the Ray dashboard of the job's cluster."""
        url, job_id = status.get("dashboardURL"), status.get("jobId")
        if not (url and job_id and self.jobs_client_factory):
            return shown
        try:
            logs = self.jobs_client_factory(url if "://" in url else f"http://{url}").get_job_logs(job_id) or ""
        except Exception:  # dashboard not up yet or unreachable: try again next poll
            return shown
        if len(logs) > shown:
            sink(logs[shown:])
        return max(shown, len(logs))

    def wait(self, name: str, *, timeout_s: float, poll_s: float = 10.0,
             sink: Callable[[str], None] = _print_sink) -> JobOutcome:
        t0 = time.monotonic()
        shown, last = 0, None
        while True:
            status = self.get(name).get("status") or {}
            deployment, job_status = status.get("jobDeploymentStatus", ""), status.get("jobStatus", "")
            if (deployment, job_status) != last:
                log.info("rayjob %s: %s %s", name, deployment or "-", job_status or "-")
                last = (deployment, job_status)
            shown = self._logs(status, shown, sink)
            if deployment in ("Complete", "Failed") or job_status in TERMINAL_JOB:
                if job_status == "SUCCEEDED":
                    return JobOutcome(name, "SUCCEEDED", time.monotonic() - t0)
                if deployment in ("Complete", "Failed"):
                    return JobOutcome(name, job_status or "FAILED", time.monotonic() - t0,
                                      status.get("message", "") or status.get("reason", ""))
            if time.monotonic() - t0 > timeout_s:
                self.delete(name)
                return JobOutcome(name, "TIMEOUT", time.monotonic() - t0, f"no result after {timeout_s:.0f}s")
            time.sleep(poll_s)

    def delete_run(self, run_id: str) -> list[str]:
        listed = self.api.list_namespaced_custom_object(rayjob.GROUP, rayjob.VERSION, self.namespace,
                                                        rayjob.PLURAL, label_selector=rayjob.run_selector(run_id))
        names = [item["metadata"]["name"] for item in listed.get("items", [])]
        for name in names:
            self.delete(name)
        return names


# --- the pipeline step's side ----------------------------------------------------------

def _owner_reference() -> dict | None:
    """The step's own pod as owner (KFP sets KFP_POD_NAME/KFP_POD_UID), so Kubernetes
    deletes the RayJob with the pod even if the exit handler never runs. Only when both
    are in one namespace: the exit handler is what tears down RayJobs in another."""
    name, uid = os.environ.get("KFP_POD_NAME"), os.environ.get("KFP_POD_UID")
    if not (name and uid):
        return None
    return {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid, "blockOwnerDeletion": False}


def run_stage_in_cluster(stage: str, config: DomainConfig, run_id: str, inputs: dict[str, str], dataset_dir: str,
                         model_dir: str, report_dir: str, *, loop_overrides: dict | None = None,
                         kube_api=None, jobs_runner: JobsApiRunner | None = None,
                         sink: Callable[[str], None] = _print_sink) -> dict:
    """Stages inputs, submits the stage, streams its logs, waits, fetches model and report.
    Returns the stage report; raises GateFailed or ClusterJobFailed like a local run."""
    import json

    rc = config.runtime.ray_cluster
    name = rayjob.job_name(config.name, run_id, stage)
    work = staging.work_uri(config.storage.uri, name)
    staging.stage_job(work, stage=stage, run_id=run_id, config_json=config.to_json(), inputs=inputs,
                      dataset_dir=dataset_dir, loop_overrides=loop_overrides)
    if rc.existing_cluster_address or jobs_runner is not None:
        runner = jobs_runner or JobsApiRunner(rc.existing_cluster_address)
        submission_id = f"{name}-{int(time.time())}"
        job_id = runner.submit(rayjob.entrypoint(work), submission_id,
                               {rayjob.LABEL_RUN: rayjob.label_value(run_id), rayjob.LABEL_STAGE: stage,
                                rayjob.LABEL_DOMAIN: config.name})
        log.info("%s: submitted job %s to %s", stage, job_id, runner.address)
        outcome = runner.wait(job_id, timeout_s=rc.wait_timeout_seconds, poll_s=min(rc.poll_seconds, 2.0), sink=sink)
    else:
        namespace = rc.namespace or config.cluster_namespace()
        # An owner must share the RayJob's namespace, or the garbage collector deletes the
        # RayJob at once; under standalone KFP the step's pod is in kubeflow, so mostly none.
        owner = _owner_reference() if namespace == pod_namespace(default="") else None
        job = rayjob.render_rayjob(config, stage=stage, run_id=run_id, work_uri=work, owner=owner)
        job["metadata"].setdefault("namespace", namespace)
        runner = KubeRayRunner(namespace, kube_api, jobs_client_factory=_jobs_client)
        runner.submit(job)
        log.info("%s: created RayJob %s/%s", stage, namespace, name)
        outcome = runner.wait(name, timeout_s=rc.wait_timeout_seconds, poll_s=rc.poll_seconds, sink=sink)
    log.info("%s: job %s %s after %.0fs", stage, outcome.job_id, outcome.status, outcome.seconds)

    done = staging.read_done(work)
    staging.fetch_outputs(work, Path(model_dir), Path(report_dir))
    report_file = Path(report_dir) / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    report.setdefault("cluster", {}).update({"job": outcome.job_id, "status": outcome.status,
                                             "seconds": round(outcome.seconds, 1), "work_uri": work})
    if report_file.exists():
        report_file.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    if done and done["status"] == "gate_failed":
        raise GateFailed(done["error"])
    if outcome.status != "SUCCEEDED" or not done or done["status"] != "ok":
        why = (done or {}).get("error") or outcome.message or "no result written"
        raise ClusterJobFailed(f"{stage}: cluster job {outcome.job_id} {outcome.status}: {why}")
    return report


def _jobs_client(address: str, auth_token: str | None = None):
    """A Jobs API client. Ray token authentication: the token comes from RAY_AUTH_TOKEN
    (in the cluster: the secret named by ray_cluster.auth_token_secret), never from config."""
    from ray.job_submission import JobSubmissionClient

    token = auth_token or os.environ.get("RAY_AUTH_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return JobSubmissionClient(address, headers=headers)


def cleanup_run(config: DomainConfig, run_id: str, *, kube_api=None, jobs_runner: JobsApiRunner | None = None) -> dict:
    """Exit handler: removes every Ray resource this run created. Safe to run twice."""
    rc = config.runtime.ray_cluster
    removed: dict[str, list[str]] = {}
    if config.runtime.mode != "cluster":
        return removed
    if rc.existing_cluster_address or jobs_runner is not None:
        runner = jobs_runner or JobsApiRunner(rc.existing_cluster_address)
        removed["stopped_jobs"] = runner.stop_run(run_id)
    else:
        runner = KubeRayRunner(rc.namespace or config.cluster_namespace(), kube_api)
        removed["deleted_rayjobs"] = runner.delete_run(run_id)
    log.info("teardown of run %s: %s", run_id, removed)
    return removed
