"""Kubeflow Pipelines (standalone or multi-user), wired to the platform's MinIO.

KFP publishes kustomize manifests, not a Helm chart, so they are rendered by the
Kubernetes provider (`kustomize.Directory`, pinned by git ref or pointed at an internal
mirror) and adjusted by transformations: the bundled MinIO is dropped, the name KFP's
components already use (`minio-service`) becomes an alias of the platform store, and
artifacts go to the `pipeline-artifacts` bucket with credentials scoped to it.
"""
from __future__ import annotations

from typing import Callable

import pulumi
import pulumi_kubernetes as k8s

from . import charts
from .cluster import Cluster
from .config import PlatformConfig
from .minio import PIPELINES_BUCKET, PORT, ObjectStore

NAMESPACE = "kubeflow"
UPSTREAM = "https://github.com/kubeflow/pipelines/manifests/kustomize/env/{env}?ref={version}"
ENVIRONMENTS = {"standalone": "platform-agnostic", "multi-user": "platform-agnostic-multi-user"}
ARTIFACT_SECRET = "mlpipeline-minio-artifact"
UPSTREAM_BUCKET = "mlpipeline"
# Objects the platform replaces: KFP's own MinIO, its storage and credentials, and its namespace.
DROPPED = {("Deployment", "minio"), ("PersistentVolumeClaim", "minio-pvc"), ("Secret", ARTIFACT_SECRET),
           ("Namespace", NAMESPACE)}
DEFAULT_LIMITS = {"cpu": "2", "memory": "4Gi"}
UI_URL = f"http://ml-pipeline-ui.{NAMESPACE}.svc.cluster.local"
API_URL = f"http://ml-pipeline.{NAMESPACE}.svc.cluster.local:8888"


def manifests_source(cfg: PlatformConfig) -> str:
    """Kustomize directory or URL; `nuri:pipelinesManifests` points air-gapped stacks at a mirror."""
    return cfg.pipelines_manifests or UPSTREAM.format(env=ENVIRONMENTS[cfg.pipelines_mode], version=cfg.pipelines_version)


def _drop(obj: dict) -> None:
    # The Pulumi way to remove an object in a transformation: turn it into an empty List.
    obj.clear()
    obj.update({"apiVersion": "v1", "kind": "List", "items": []})


def _containers(obj: dict) -> list[dict]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def use_platform_store(store: ObjectStore, image_registry: str) -> Callable[[dict, pulumi.ResourceOptions], None]:
    """Transformation applied to every rendered KFP object (pure dict edits, unit-testable)."""
    def transform(obj: dict, opts: pulumi.ResourceOptions) -> None:
        kind, name = obj.get("kind"), obj.get("metadata", {}).get("name")
        if (kind, name) in DROPPED:
            return _drop(obj)
        if kind == "Service" and name == "minio-service":
            obj["spec"] = {"type": "ExternalName", "externalName": store.host,
                           "ports": [{"name": "http", "port": PORT, "protocol": "TCP"}]}
        elif kind == "Service" and obj.get("spec", {}).get("type") in ("LoadBalancer", "NodePort"):
            obj["spec"]["type"] = "ClusterIP"  # nothing in KFP is exposed outside the cluster
            for port in obj["spec"].get("ports", []):
                port.pop("nodePort", None)
        elif kind == "ConfigMap" and name == "pipeline-install-config":
            obj.setdefault("data", {})["bucketName"] = PIPELINES_BUCKET
        elif kind == "ConfigMap" and name == "workflow-controller-configmap" and \
                "artifactRepository" in obj.get("data", {}):
            repo = obj["data"]["artifactRepository"]
            repo = repo.replace(f'bucket: "{UPSTREAM_BUCKET}"', f'bucket: "{PIPELINES_BUCKET}"')
            if store.secure:
                repo = repo.replace("insecure: true", "insecure: false")
            obj["data"]["artifactRepository"] = repo
        if kind == "Deployment" and name == "ml-pipeline":
            for container in _containers(obj):
                env = [e for e in container.get("env", []) if e.get("name") != "OBJECTSTORECONFIG_SECURE"]
                container["env"] = env + [{"name": "OBJECTSTORECONFIG_SECURE", "value": str(store.secure).lower()}]
        for container in _containers(obj):
            harden(container)
            if image_registry:
                container["image"] = charts.mirrored_image(container["image"], image_registry)
    return transform


def harden(container: dict) -> None:
    """Platform policy for every KFP container: no root, no escalation, no extra
    capabilities, bounded resources. Upstream settings win where they are stricter."""
    ctx = container.setdefault("securityContext", {})
    ctx.setdefault("runAsNonRoot", True)
    ctx["allowPrivilegeEscalation"] = False
    ctx["privileged"] = False
    ctx["capabilities"] = {"drop": ["ALL"]}
    ctx.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    limits = container.setdefault("resources", {}).setdefault("limits", {})
    limits.setdefault("cpu", DEFAULT_LIMITS["cpu"])
    limits.setdefault("memory", DEFAULT_LIMITS["memory"])


def deploy(cfg: PlatformConfig, cluster: Cluster, store: ObjectStore) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    # KFP's system pods do not all meet "restricted"; "baseline" still forbids privileged/host access.
    ns = charts.namespace(NAMESPACE, "baseline", opts)
    credentials = k8s.core.v1.Secret(
        f"{NAMESPACE}-{ARTIFACT_SECRET}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ARTIFACT_SECRET, namespace=NAMESPACE),
        type="Opaque",
        string_data=pulumi.Output.secret({"accesskey": store.pipelines.access_key, "secretkey": store.pipelines.secret_key}),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns],
                                    additional_secret_outputs=["data", "stringData"]),
    )
    return k8s.kustomize.Directory(
        "kubeflow-pipelines",
        directory=manifests_source(cfg),
        transformations=[use_platform_store(store, cfg.image_registry)],
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns, credentials, store.release]),
    )
