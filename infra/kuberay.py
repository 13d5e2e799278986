"""KubeRay operator: runs the agencies' RayJobs (training) across GPU nodes."""
from __future__ import annotations

import pulumi

from . import charts
from .cluster import Cluster
from .config import PlatformConfig

NAMESPACE = "kuberay-system"
# The chart's pod labels for the operator (nameOverride kuberay-operator); agency
# NetworkPolicies admit it to the Ray heads' dashboards (infra/tenants.py).
OPERATOR_POD_LABELS = {"app.kubernetes.io/name": "kuberay-operator"}


def values(cfg: PlatformConfig) -> dict:
    result: dict = {
        # Watch every namespace: RayJobs live in the agency namespaces.
        "singleNamespaceInstall": False,
        "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    if cfg.image_registry:
        result["image"] = {"repository": charts.mirrored_image("quay.io/kuberay/operator", cfg.image_registry)}
    return result


def deploy(cfg: PlatformConfig, cluster: Cluster) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    ns = charts.namespace(NAMESPACE, "restricted", opts)
    return charts.helm_release("kuberay-operator", charts.KUBERAY_OPERATOR, cfg.kuberay_version, ns.metadata.name,
                               values(cfg), cfg, pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns]))
