"""Where charts and images come from: upstream by default, or the government's
internal chart mirror and image registry when the stack runs air-gapped.

Every chart is a `helm.v3.Release` (not `helm.v4.Chart`) so that the chart name,
pinned version and values are plain resource inputs that unit tests can assert.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s

from .config import PlatformConfig


@dataclass(frozen=True)
class ChartSource:
    """A chart as published upstream: `repo` is an HTTP Helm repository or, for OCI
    charts, empty with `chart` holding the full ``oci://`` reference."""

    chart: str
    repo: str = ""

    @property
    def short_name(self) -> str:
        return self.chart.rstrip("/").rsplit("/", 1)[-1]


CERT_MANAGER = ChartSource("cert-manager", "https://charts.jetstack.io")
GPU_OPERATOR = ChartSource("gpu-operator", "https://helm.ngc.nvidia.com/nvidia")
DEVICE_PLUGIN = ChartSource("nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin")
MINIO = ChartSource("minio", "https://charts.min.io/")
KUBERAY_OPERATOR = ChartSource("kuberay-operator", "https://ray-project.github.io/kuberay-helm/")
CLUSTER_AUTOSCALER = ChartSource("cluster-autoscaler", "https://kubernetes.github.io/autoscaler")
KSERVE_CRD = ChartSource("oci://ghcr.io/kserve/charts/kserve-crd")
# Since v0.17 the controller chart is published as kserve-resources.
KSERVE = ChartSource("oci://ghcr.io/kserve/charts/kserve-resources")


def mirrored_image(upstream: str, registry: str) -> str:
    """``quay.io/minio/minio`` -> ``<registry>/minio/minio`` when a registry is set.
    The upstream host is dropped, its path kept, so one mirror serves every source."""
    if not registry:
        return upstream
    first, _, rest = upstream.partition("/")
    path = rest if ("." in first or ":" in first or first == "localhost") and rest else upstream
    return f"{registry.rstrip('/')}/{path}"


def release_source(source: ChartSource, cfg: PlatformConfig) -> tuple[str, k8s.helm.v3.RepositoryOptsArgs | None]:
    """(chart, repository options) for a Release, honouring `nuri:chartMirror`."""
    mirror = cfg.chart_mirror.rstrip("/")
    if mirror.startswith("oci://"):
        return f"{mirror}/{source.short_name}", None
    if mirror:
        return source.short_name, k8s.helm.v3.RepositoryOptsArgs(repo=mirror)
    if source.repo:
        return source.chart, k8s.helm.v3.RepositoryOptsArgs(repo=source.repo)
    return source.chart, None


def helm_release(
    name: str,
    source: ChartSource,
    version: str,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    cfg: PlatformConfig,
    opts: pulumi.ResourceOptions,
    **extra: Any,
) -> k8s.helm.v3.Release:
    """A pinned Helm release. `atomic` rolls back a failed upgrade instead of leaving it half-applied."""
    chart, repository_opts = release_source(source, cfg)
    return k8s.helm.v3.Release(
        name,
        name=name,
        chart=chart,
        version=version,
        repository_opts=repository_opts,
        namespace=namespace,
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        opts=opts,
        **extra,
    )


def namespace(name: str, pod_security: str, opts: pulumi.ResourceOptions, labels: Mapping[str, str] | None = None) -> k8s.core.v1.Namespace:
    """A platform namespace with its Pod Security level enforced, audited and warned."""
    return k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            labels={
                "app.kubernetes.io/part-of": "nuri",
                "pod-security.kubernetes.io/enforce": pod_security,
                "pod-security.kubernetes.io/audit": pod_security,
                "pod-security.kubernetes.io/warn": pod_security,
                **(labels or {}),
            },
        ),
        opts=opts,
    )
