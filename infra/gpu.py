"""GPU enablement: the NVIDIA GPU Operator, or only the device plugin when the nodes
already carry drivers and the container toolkit (e.g. the EKS NVIDIA AMI)."""
from __future__ import annotations

import pulumi

from . import charts
from .cluster import GPU_TAINT_KEY, Cluster
from .config import PlatformConfig

NAMESPACE = "gpu-operator"
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}


def operator_values(cfg: PlatformConfig, drivers_preinstalled: bool) -> dict:
    registry = cfg.image_registry
    values: dict = {
        # Drivers and toolkit come with the node image where they are preinstalled.
        "driver": {"enabled": not drivers_preinstalled},
        "toolkit": {"enabled": not drivers_preinstalled},
        "daemonsets": {"tolerations": [GPU_TOLERATION]},
        "dcgmExporter": {"enabled": True},
    }
    if registry:
        for component in ("operator", "driver", "toolkit", "devicePlugin", "dcgmExporter", "gfd",
                          "migManager", "nodeStatusExporter", "validator"):
            values.setdefault(component, {})["repository"] = charts.mirrored_image("nvcr.io/nvidia", registry)
        values["node-feature-discovery"] = {
            "image": {"repository": charts.mirrored_image("registry.k8s.io/nfd/node-feature-discovery", registry)}}
    return values


def device_plugin_values(cfg: PlatformConfig) -> dict:
    values: dict = {"tolerations": [GPU_TOLERATION], "nodeSelector": {"nvidia.com/gpu.present": "true"}}
    if cfg.image_registry:
        values["image"] = {"repository": charts.mirrored_image("nvcr.io/nvidia/k8s-device-plugin", cfg.image_registry)}
    return values


def deploy(cfg: PlatformConfig, cluster: Cluster) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    # Driver/toolkit containers need host access: this namespace alone is "privileged".
    ns = charts.namespace(NAMESPACE, "privileged", opts)
    child = pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns])
    if cfg.gpu_mode == "device-plugin":
        return charts.helm_release("nvidia-device-plugin", charts.DEVICE_PLUGIN, cfg.device_plugin_version,
                                   ns.metadata.name, device_plugin_values(cfg), cfg, child)
    return charts.helm_release("gpu-operator", charts.GPU_OPERATOR, cfg.gpu_operator_version, ns.metadata.name,
                               operator_values(cfg, cluster.gpu_drivers_preinstalled), cfg, child)
