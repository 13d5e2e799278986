"""Glue: serve a promoted release in the cluster (the pipeline's `deploy` step).

1. Render the release's KServe InferenceService (nuri.k8s.inference_service) and create
   it, or patch the existing one to the new release, through the Kubernetes API.
2. Wait until KServe reports it Ready for this spec, with a timeout and a progress line
   whenever its Ready condition changes.
3. Ask it one question through its OpenAI route (the endpoint inside the cluster).
4. Record the deployment in storage (releases/<domain>/DEPLOYED.json) and, when
   `deploy.model_registry_url` is set, register the release in the Kubeflow Model
   Registry with its maintained client.

The API key the question is asked with comes from NURI_API_KEY (in the pipeline: the
secret `deploy.api_key_secret`), never from config; it is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Callable

from nuri.cluster.submit import kubernetes_custom_objects
from nuri.config import DomainConfig
from nuri.errors import NuriError
from nuri.k8s import inference_service as isvc_render
from nuri.release import Release, promoted_version, record_deployment
from nuri.storage import Storage, open_storage

log = logging.getLogger("nuri")

REGISTERED_MODEL_PREFIX = "nuri-"


class DeployFailed(NuriError):
    """The InferenceService did not become ready, or did not answer."""


def _status(error: Exception) -> int | None:
    return getattr(error, "status", None)


class InferenceServices:
    """Create-or-update and readiness of InferenceServices in one namespace. `api`: a
    kubernetes CustomObjectsApi (any ApiClient: in-cluster, kubeconfig, or a test's)."""

    def __init__(self, namespace: str, api=None):
        self.namespace = namespace
        self.api = api if api is not None else kubernetes_custom_objects()

    def _args(self) -> tuple[str, str, str, str]:
        return isvc_render.GROUP, isvc_render.VERSION, self.namespace, isvc_render.PLURAL

    def get(self, name: str) -> dict | None:
        try:
            return self.api.get_namespaced_custom_object(*self._args(), name)
        except Exception as e:
            if _status(e) == 404:
                return None
            raise

    def apply(self, isvc: dict) -> str:
        """Creates the service, or merge-patches it when it exists. Returns the action."""
        name = isvc["metadata"]["name"]
        if self.get(name) is None:
            try:
                self.api.create_namespaced_custom_object(*self._args(), isvc)
                return "created"
            except Exception as e:
                if _status(e) != 409:  # created meanwhile by someone else: update it instead
                    raise
        self.api.patch_namespaced_custom_object(*self._args(), name, isvc_render.merge_patch(isvc))
        return "updated"

    def wait_ready(self, name: str, *, timeout_s: float, poll_s: float = 5.0,
                   progress: Callable[[str], None] = log.info) -> float:
        """Seconds until Ready; DeployFailed naming the service and its last condition."""
        t0 = time.monotonic()
        last = None
        while True:
            obj = self.get(name)
            ready, text = isvc_render.ready_condition(obj) if obj else (False, "not found")
            elapsed = time.monotonic() - t0
            if text != last:
                progress(f"inferenceservice {self.namespace}/{name}: {text} ({elapsed:.0f}s)")
                last = text
            if ready:
                return elapsed
            if elapsed > timeout_s:
                raise DeployFailed(f"InferenceService {self.namespace}/{name} not ready after {timeout_s:.0f}s "
                                   f"(deploy.ready_timeout_s); last condition: {text}")
            time.sleep(poll_s)


def ask_once(base_url: str, question: str, *, api_key: str | None, max_tokens: int = 48,
             wait_s: float = 60.0, timeout_s: float = 120.0) -> dict:
    """One chat completion through the service's OpenAI route. Retries for `wait_s` while
    the route is not reachable yet (Service endpoints follow readiness by a few seconds)."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    t0 = time.monotonic()
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s) as client:
        while True:
            try:
                models = client.get("/models")
                if models.status_code < 500:
                    break
                problem = f"HTTP {models.status_code}"
            except httpx.TransportError as e:
                problem = type(e).__name__
            if time.monotonic() - t0 > wait_s:
                raise DeployFailed(f"{base_url}: not reachable after {wait_s:.0f}s ({problem})")
            time.sleep(1.0)
        if models.status_code == 401:
            raise DeployFailed(f"{base_url}: the service refused the API key (set NURI_API_KEY from the secret "
                               f"named by deploy.api_key_secret)")
        if models.status_code != 200:
            raise DeployFailed(f"{base_url}/models: HTTP {models.status_code}: {models.text[:200]}")
        model_id = (models.json().get("data") or [{}])[0].get("id")
        start = time.perf_counter()
        reply = client.post("/chat/completions", json={
            "model": model_id, "messages": [{"role": "user", "content": question}], "max_tokens": max_tokens})
        latency = time.perf_counter() - start
    if reply.status_code != 200:
        raise DeployFailed(f"{base_url}/chat/completions: HTTP {reply.status_code}: {reply.text[:200]}")
    body = reply.json()
    answer = ((body.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
    if not answer.strip():
        raise DeployFailed(f"{base_url}/chat/completions: empty answer to {question!r}")
    return {"model": model_id, "question": question, "answer": answer, "latency_s": round(latency, 3),
            "completion_tokens": (body.get("usage") or {}).get("completion_tokens")}


# --- Kubeflow Model Registry -------------------------------------------------------------

def _registry_metadata(storage: Storage, release: Release, endpoint: str) -> dict:
    """Scalar metadata (the registry's custom properties): lineage and headline metrics."""
    def read(name: str) -> dict:
        key = f"releases/{release.domain}/{release.version}/{name}"
        return json.loads(storage.get_bytes(key)) if storage.exists(key) else {}

    lineage, metrics = read("lineage.json"), read("metrics.json")
    meta: dict = {"release": release.name, "endpoint": endpoint,
                  "git_commit": (lineage.get("platform") or {}).get("git_commit"),
                  "nuri_version": (lineage.get("platform") or {}).get("nuri"),
                  "config_sha256": lineage.get("config_sha256"),
                  "dataset_version": (lineage.get("data") or {}).get("dataset_version"),
                  "gate_passed": (metrics.get("gate") or {}).get("passed")}
    for key, value in (metrics.get("evaluation") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            meta[f"eval.{key}"] = value
    return {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}


def _run_on_own_thread(coro):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def register_release(config: DomainConfig, storage: Storage, release: Release, endpoint: str,
                     *, client_factory: Callable[[str, str], object] | None = None) -> dict:
    """Registers the release (version, artifact URI, metrics, lineage) in the Kubeflow
    Model Registry at `deploy.model_registry_url`; skipped, with the reason, when unset."""
    url = config.deploy.model_registry_url
    if not url:
        return {"status": "skipped", "reason": "deploy.model_registry_url is not set"}
    from model_registry.exceptions import StoreError

    if client_factory is None:
        from model_registry import ModelRegistry

        # In the cluster the client reads the pod's service-account token itself. One event
        # loop per call, on a thread of its own, instead of the client's default, which
        # patches asyncio globally (nest_asyncio); asyncio.run on the calling thread would
        # leave that thread without an event loop afterwards.
        def client_factory(address: str, author: str):
            return ModelRegistry(address, author=author, is_secure=address.startswith("https://"),
                                 async_runner=_run_on_own_thread)

    name = f"{REGISTERED_MODEL_PREFIX}{release.domain}"
    try:
        registry = client_factory(url, config.deploy.model_registry_author)
        model = registry.register_model(
            name, release.uri, version=release.version, model_format_name=isvc_render.MODEL_FORMAT,
            model_format_version="1", version_description=f"{config.display_name} ({release.name})",
            metadata=_registry_metadata(storage, release, endpoint))
    except StoreError as e:
        if "already exists" in str(e):  # a rerun of the same release: registered before
            return {"status": "already registered", "url": url, "model": name, "version": release.version}
        raise DeployFailed(f"model registry {url}: {e}") from None
    except Exception as e:  # unreachable or refused: the deployment stands, the step reports why
        raise DeployFailed(f"model registry {url}: {type(e).__name__}: {str(e)[:200]}") from None
    return {"status": "registered", "url": url, "model": name, "model_id": getattr(model, "id", None),
            "version": release.version}


# --- the step --------------------------------------------------------------------------

def deploy_release(config: DomainConfig, release: Release, *, api=None, namespace: str | None = None,
                   base_url: str | None = None, api_key: str | None = None,
                   registry_factory: Callable[[str, str], object] | None = None,
                   progress: Callable[[str], None] = log.info, ask_wait_s: float = 60.0) -> dict:
    """Serves the promoted `release`, checks it answers, records it. `base_url` overrides
    the in-cluster endpoint (tests; a port-forward)."""
    d = config.deploy
    storage = open_storage(config.storage.uri)
    promoted = promoted_version(storage, release.domain)
    if promoted != release.version:
        raise DeployFailed(f"{release.name} is not the promoted release of {release.domain} "
                           f"(promoted: {promoted or 'none'}); only a self-tested release is served")
    namespace = namespace or d.namespace or config.cluster_namespace()
    isvc = isvc_render.render_inference_service(config, release_name=release.name, storage_uri=release.uri,
                                                namespace=namespace)
    name = isvc["metadata"]["name"]
    services = InferenceServices(namespace, api)
    action = services.apply(isvc)
    progress(f"inferenceservice {namespace}/{name}: {action} for {release.name} ({release.uri})")
    ready_s = services.wait_ready(name, timeout_s=d.ready_timeout_s, poll_s=d.poll_s, progress=progress)
    endpoint = isvc_render.endpoint(name, namespace)
    question = d.question or config.serving.selftest.in_domain[0]
    if api_key is None:
        api_key = os.environ.get("NURI_API_KEY")
    answer = ask_once(base_url or endpoint, question, api_key=api_key, max_tokens=config.serving.max_new_tokens,
                      wait_s=ask_wait_s)
    progress(f"{endpoint}: answered in {answer['latency_s']:.2f}s ({len(answer['answer'])} characters)")
    record = record_deployment(storage, release, {
        "endpoint": endpoint, "namespace": namespace, "service": name, "action": action,
        "runtime": d.runtime, "storage_uri": release.uri, "ready_s": round(ready_s, 1),
        "question": question, "answer": answer["answer"], "served_model": answer["model"]})
    registry = register_release(config, storage, release, endpoint, client_factory=registry_factory)
    progress(f"model registry: {registry['status']}" + (f" ({registry['reason']})" if "reason" in registry else ""))
    return {"release": release.name, "service": f"{namespace}/{name}", "action": action, "endpoint": endpoint,
            "ready_s": record["ready_s"], "answer": answer, "model_registry": registry,
            "deployed_at": record["deployed_at"]}


def deploy_stage(config_json: str, release_dir: str, report_dir: str, **kwargs) -> dict:
    """The KFP step: the release from the register step's artifact, a stage report out."""
    from nuri.stages import stage_report

    config = DomainConfig.from_json(config_json)
    info = json.loads((Path(release_dir) / "release.json").read_text())
    release = Release(info["domain"], info["version"], info["uri"])
    with stage_report("deploy", report_dir) as report:
        result = deploy_release(config, release, **kwargs)
        report.update({k: v for k, v in result.items() if k != "answer"})
        report["question"] = result["answer"]["question"]
        report["answer"] = result["answer"]["answer"]
        report["metrics"] = {"ready_s": result["ready_s"], "answer_latency_s": result["answer"]["latency_s"],
                             "registered": result["model_registry"]["status"] in ("registered", "already registered")}
    return report
