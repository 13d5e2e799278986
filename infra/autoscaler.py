"""Kubernetes cluster autoscaler for node pools this program manages (eks mode): it moves
each pool between the configured min/max bounds, GPU pool included (scale from zero)."""
from __future__ import annotations

import pulumi

from . import charts
from .cluster import Cluster
from .config import PlatformConfig

NAMESPACE = "kube-system"  # where the IRSA trust policy expects its service account
SERVICE_ACCOUNT = "cluster-autoscaler"


def values(cfg: PlatformConfig, cluster: Cluster) -> dict:
    scaling = cluster.autoscaling
    assert scaling is not None
    result: dict = {
        "cloudProvider": "aws",
        "awsRegion": scaling.region,
        "autoDiscovery": {"clusterName": scaling.cluster_name},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                                    "annotations": {"eks.amazonaws.com/role-arn": scaling.role_arn}}},
        "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-system-pods": False,
                      "expander": "least-waste"},
        "nodeSelector": {"nuri.io/pool": "system"},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "500m", "memory": "600Mi"}},
        # Autoscaler minor version follows the Kubernetes minor version.
        "image": {"tag": f"v{cfg.eks_kubernetes_version}.0"},
    }
    if cfg.image_registry:
        result["image"]["repository"] = charts.mirrored_image(
            "registry.k8s.io/autoscaling/cluster-autoscaler", cfg.image_registry)
    return result


def deploy(cfg: PlatformConfig, cluster: Cluster) -> pulumi.Resource | None:
    if cluster.autoscaling is None:
        return None  # existing clusters bring their own node scaling
    return charts.helm_release("cluster-autoscaler", charts.CLUSTER_AUTOSCALER, cfg.cluster_autoscaler_version,
                               NAMESPACE, values(cfg, cluster), cfg, pulumi.ResourceOptions(provider=cluster.provider))
