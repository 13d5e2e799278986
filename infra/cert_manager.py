"""cert-manager: issues the TLS certificates KServe's webhooks (and optionally MinIO) need."""
from __future__ import annotations

import pulumi

from . import charts
from .cluster import Cluster
from .config import PlatformConfig

NAMESPACE = "cert-manager"
COMPONENT_IMAGES = {
    "image": "quay.io/jetstack/cert-manager-controller",
    "webhook": "quay.io/jetstack/cert-manager-webhook",
    "cainjector": "quay.io/jetstack/cert-manager-cainjector",
    "startupapicheck": "quay.io/jetstack/cert-manager-startupapicheck",
}


def values(cfg: PlatformConfig) -> dict:
    result: dict = {"crds": {"enabled": True, "keep": True}}
    if cfg.image_registry:
        for component, image in COMPONENT_IMAGES.items():
            repo = {"repository": charts.mirrored_image(image, cfg.image_registry)}
            if component == "image":
                result["image"] = repo
            else:
                result[component] = {"image": repo}
        result["acmesolver"] = {"image": {"repository": charts.mirrored_image(
            "quay.io/jetstack/cert-manager-acmesolver", cfg.image_registry)}}
    return result


def deploy(cfg: PlatformConfig, cluster: Cluster) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    ns = charts.namespace(NAMESPACE, "restricted", opts)
    return charts.helm_release("cert-manager", charts.CERT_MANAGER, cfg.cert_manager_version, ns.metadata.name,
                               values(cfg), cfg, pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns]))
