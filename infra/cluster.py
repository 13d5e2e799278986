"""What the platform layer needs from a cluster, whichever way it was obtained."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_POOL_LABEL = {"nuri.io/pool": "gpu"}
SYSTEM_POOL_LABEL = {"nuri.io/pool": "system"}


@dataclass(frozen=True)
class Cluster:
    provider: k8s.Provider
    # Always a Pulumi secret: it grants cluster access.
    kubeconfig: pulumi.Output[str]
    # GPU drivers already on the nodes (e.g. the EKS NVIDIA AMI): the GPU Operator must not install them.
    gpu_drivers_preinstalled: bool = False
    # CIDRs of the Kubernetes API server, for tenant NetworkPolicy egress (pipeline drivers, Ray autoscaler).
    api_server_cidrs: list[pulumi.Input[str]] = field(default_factory=list)
    # Managed node pools only: what the cluster autoscaler needs to resize them (None = not managed here).
    autoscaling: "Autoscaling | None" = None
    # What PersistentVolumeClaims wait for (eks: the EBS CSI driver and the default StorageClass);
    # existing clusters bring their own provisioner and default class.
    volume_prerequisites: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class Autoscaling:
    cluster_name: pulumi.Output[str]
    region: str
    role_arn: pulumi.Output[str]  # IAM role the autoscaler's service account assumes (IRSA)
