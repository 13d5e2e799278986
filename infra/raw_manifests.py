"""Applies the raw manifests under `manifests/platform/` (validated offline by tests)."""
from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from . import charts
from .cluster import Cluster

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests" / "platform"


def mirror_images(registry: str):
    def transform(obj: dict, opts: pulumi.ResourceOptions) -> None:
        if not registry:
            return
        spec = obj.get("spec", {})
        pod_specs = [spec, spec.get("template", {}).get("spec", {})]
        for pod in pod_specs:
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                if "image" in container:
                    container["image"] = charts.mirrored_image(container["image"], registry)
    return transform


def apply(relative_path: str, cluster: Cluster, registry: str, depends_on: list[pulumi.Resource]) -> k8s.yaml.ConfigFile:
    path = MANIFESTS / relative_path
    return k8s.yaml.ConfigFile(
        f"manifest-{relative_path.replace('/', '-').removesuffix('.yaml')}",
        file=str(path),
        transformations=[mirror_images(registry)],
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=depends_on),
    )
