"""Existing-cluster mode: a kubeconfig (Pulumi secret) for an on-premise or cloud cluster
the government already runs. Nothing outside Kubernetes is created."""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from . import config
from .cluster import Cluster


def create(cfg: config.PlatformConfig) -> Cluster:
    kubeconfig = config.kubeconfig_secret()
    if kubeconfig is None:
        raise config.ConfigError(
            "nuri:kubeconfig: is required when clusterMode is existing "
            "(pulumi config set --secret nuri:kubeconfig < path/to/kubeconfig)"
        )
    provider = k8s.Provider("cluster", kubeconfig=kubeconfig, enable_server_side_apply=True)
    return Cluster(
        provider=provider,
        kubeconfig=pulumi.Output.secret(kubeconfig),
        gpu_drivers_preinstalled=cfg.gpu_mode == "device-plugin",
        api_server_cidrs=list(cfg.api_server_cidrs),
    )
