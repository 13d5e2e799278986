"""Render the KServe `InferenceService` that serves a promoted release. Pure logic: config
and release in, a dict out; no Kubernetes client.

    isvc = render_inference_service(config, release_name="welfare-v0003",
                                    storage_uri="s3://agency-welfare/nuri/releases/welfare/v0003")

The predictor selects the platform's `nuri-service` ClusterServingRuntime (Nuri's own
server, manifests/platform/serving/nuri-service-runtime.yaml) and runs the domain's
`cluster.image`, so the cluster serves the code the pipeline's self-test exercised.
KServe's storage initializer copies `storageUri` to /mnt/models with the credentials of
`deploy.service_account` (its secret, annotated for KServe, is the agency's object-store
secret; the model server itself gets no storage credentials). The server logs completions
and ratings into the agency's feedback database: its URL comes from the
`deploy.feedback_db_secret` secret (made by infra/feedback_db.py) by reference, and the
pods carry the label that database's NetworkPolicy admits. Every rendered object
validates against the KServe v0.20 CRD and passes the namespace's `restricted` Pod
Security level (tests/cluster/test_deploy.py).
"""

from __future__ import annotations

import re

from nuri.config import DomainConfig
from nuri.k8s.labels import LABEL_DOMAIN, LABEL_MANAGED, MANAGED_BY  # noqa: F401 (re-exported)

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
MODEL_FORMAT = "nuri"

LABEL_RELEASE = "nuri.io/release"
# Pods that may reach the feedback database (infra/feedback_db.py CLIENT_LABEL: a test keeps them equal).
LABEL_FEEDBACK_CLIENT = "nuri.io/feedback-db-client"
ANNOTATION_MODE = "serving.kserve.io/deploymentMode"
ANNOTATION_URI = "nuri.io/release-uri"

SERVER_UID = 1000          # the non-root user of the platform image
MAX_NAME = 53              # KServe derives "<name>-predictor" (a DNS label, 63 at most)
# KServe Standard mode: the predictor's Service, port 80 -> the server's 8080. Same as
# infra/serving.URL_TEMPLATE (a test keeps them equal).
URL_TEMPLATE = "http://{name}-predictor.{namespace}.svc.cluster.local/openai/v1"
STORAGE_SCHEMES = ("s3://", "gs://", "pvc://", "hf://", "oci://")
# Fields a merge patch must clear when a new render leaves them out.
OPTIONAL_PREDICTOR_FIELDS = ("canaryTrafficPercent", "nodeSelector", "tolerations", "priorityClassName",
                             "serviceAccountName", "deploymentStrategy", "labels")

_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def service_name(config: DomainConfig) -> str:
    name = config.deploy.service_name.replace("{domain}", config.name)
    if not _NAME.match(name) or len(name) > MAX_NAME:
        raise ValueError(f"deploy.service_name: {name!r} is not a valid InferenceService name "
                         f"(lowercase DNS label, {MAX_NAME} characters at most)")
    return name


def endpoint(name: str, namespace: str) -> str:
    """The OpenAI base URL of the service inside the cluster."""
    return URL_TEMPLATE.format(name=name, namespace=namespace)


def _pod_security_context() -> dict:
    # Pod level: also covers the storage-initializer init container that KServe injects.
    return {"runAsNonRoot": True, "runAsUser": SERVER_UID, "runAsGroup": SERVER_UID, "fsGroup": SERVER_UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _container_security_context() -> dict:
    return {"runAsNonRoot": True, "runAsUser": SERVER_UID, "allowPrivilegeEscalation": False,
            "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _resources(config: DomainConfig) -> dict:
    d = config.deploy
    requests: dict = {"cpu": d.cpu_request, "memory": d.memory_request}
    limits: dict = {"cpu": d.cpu_limit, "memory": d.memory_limit}
    if d.gpus:
        requests[config.cluster.gpu_resource] = str(d.gpus)
        limits[config.cluster.gpu_resource] = str(d.gpus)
    return {"requests": requests, "limits": limits}


def _placement(config: DomainConfig) -> dict:
    """Node selector and tolerations: the deploy section's, else the cluster's GPU ones
    when the service asks for GPUs."""
    d, c = config.deploy, config.cluster
    selector = d.node_selector if d.node_selector is not None else (dict(c.gpu_node_selector) if d.gpus else {})
    tolerations = d.tolerations if d.tolerations is not None else (list(c.gpu_tolerations) if d.gpus else [])
    out: dict = {}
    if selector:
        out["nodeSelector"] = dict(selector)
    if tolerations:
        out["tolerations"] = [{k: v for k, v in t.model_dump().items() if v is not None} for t in tolerations]
    return out


def _feedback_env(config: DomainConfig) -> list[dict]:
    """The feedback database's URL, by reference from the agency's secret (it holds a password)."""
    secret = config.deploy.feedback_db_secret
    if not (secret and config.feedback.enabled):
        return []
    return [{"name": config.feedback.database_url_env,
             "valueFrom": {"secretKeyRef": {"name": secret, "key": "url", "optional": False}}}]


def render_inference_service(config: DomainConfig, *, release_name: str, storage_uri: str,
                             namespace: str | None = None) -> dict:
    """The InferenceService for one release of the domain."""
    if not storage_uri.startswith(STORAGE_SCHEMES):
        raise ValueError(f"storage.uri: the release {release_name} is at {storage_uri!r}, which pods in the "
                         f"cluster cannot read (use an s3:// storage.uri in cluster mode)")
    d = config.deploy
    name = service_name(config)
    model = {
        "modelFormat": {"name": MODEL_FORMAT},
        "runtime": d.runtime,
        "storageUri": storage_uri,
        "image": config.cluster.image,
        # By reference only; overrides the runtime's default secret name.
        "env": [{"name": "NURI_API_KEY", "valueFrom": {"secretKeyRef": {"name": d.api_key_secret, "key": "apikey"}}},
                *_feedback_env(config)],
        "resources": _resources(config),
        "securityContext": _container_security_context(),
    }
    predictor: dict = {
        "minReplicas": d.min_replicas,
        "maxReplicas": d.max_replicas,
        "automountServiceAccountToken": False,   # the server never calls the Kubernetes API
        "securityContext": _pod_security_context(),
        "model": model,
        **_placement(config),
    }
    if d.service_account:
        predictor["serviceAccountName"] = d.service_account
    if _feedback_env(config):
        # The feedback database admits only labelled pods (its NetworkPolicy and the agency's egress).
        predictor["labels"] = {LABEL_FEEDBACK_CLIENT: "true"}
    if d.priority_class:
        predictor["priorityClassName"] = d.priority_class
    if d.canary_traffic_percent is not None:
        predictor["canaryTrafficPercent"] = d.canary_traffic_percent
    if d.deployment_mode == "Standard":
        # The new release's pods must be ready before an old one goes: no gap in service.
        predictor["deploymentStrategy"] = {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    metadata: dict = {
        "name": name,
        "labels": {LABEL_MANAGED: MANAGED_BY, LABEL_DOMAIN: config.name, LABEL_RELEASE: release_name},
        "annotations": {ANNOTATION_MODE: d.deployment_mode, ANNOTATION_URI: storage_uri},
    }
    namespace = namespace or d.namespace
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": {"predictor": predictor}}


def merge_patch(isvc: dict) -> dict:
    """The body that updates an existing InferenceService to `isvc` with a JSON merge
    patch: optional predictor fields this render leaves out are set to null (removed)."""
    body = {"metadata": {k: isvc["metadata"][k] for k in ("labels", "annotations")}, "spec": isvc["spec"]}
    predictor = dict(body["spec"]["predictor"])
    for field in OPTIONAL_PREDICTOR_FIELDS:
        predictor.setdefault(field, None)
    return {**body, "spec": {**body["spec"], "predictor": predictor}}


def ready_condition(isvc: dict) -> tuple[bool, str]:
    """(ready, "Ready=<status>: <reason/message>") from the service's status. Ready counts
    only once KServe has seen the latest spec (observedGeneration), so a stale Ready of
    the previous release does not pass."""
    status = isvc.get("status") or {}
    generation = (isvc.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if condition is None:
        return False, "no Ready condition yet"
    why = condition.get("message") or condition.get("reason") or ""
    text = f"Ready={condition.get('status', 'Unknown')}" + (f": {why}" if why else "")
    if generation is not None and observed is not None and observed < generation:
        return False, f"{text} (generation {generation} not yet observed)"
    return condition.get("status") == "True", text
