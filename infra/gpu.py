"""GPU enablement: the NVIDIA GPU Operator, or only the device plugin when the nodes
already carry drivers and the container toolkit (e.g. the EKS NVIDIA AMI).

Air-gapped (`nuri:imageRegistry`): each image keeps its upstream path under the mirror.
The GPU Operator's operands do not share one path (`nvidia`, `nvidia/k8s`,
`nvidia/cloud-native`), so every operand's mirrored repository is derived from its own
default in the pinned chart (OPERATOR_REPOSITORIES, checked against the chart's values
by tests/infra/test_infra_chart_values.py).

The device plugin chart schedules its DaemonSet by node affinity on labels that only Node
Feature Discovery (`feature.node.kubernetes.io/pci-10de.present`) or GPU Feature Discovery
(`nvidia.com/gpu.present`) set; on an existing cluster nothing else sets them. So GFD is
on by default (the chart then installs NFD as well, tolerating the GPU taint); set
`nuri:devicePluginNodeDiscovery: false` when the cluster already runs NFD and labels its
GPU nodes.
"""
from __future__ import annotations

import pulumi

from . import charts
from .cluster import GPU_TAINT_KEY, Cluster
from .config import PlatformConfig

NAMESPACE = "gpu-operator"
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
# Every `repository` in the GPU Operator v25.3.2 chart's values, by value path, as the
# chart ships it. (vgpuManager has none by default: the vGPU driver is licensed, built by
# its owner.)
OPERATOR_REPOSITORIES = {
    "operator": "nvcr.io/nvidia",
    "operator.initContainer": "nvcr.io/nvidia",
    "validator": "nvcr.io/nvidia/cloud-native",
    "driver": "nvcr.io/nvidia",
    "driver.manager": "nvcr.io/nvidia/cloud-native",
    "toolkit": "nvcr.io/nvidia/k8s",
    "devicePlugin": "nvcr.io/nvidia",
    "dcgm": "nvcr.io/nvidia/cloud-native",
    "dcgmExporter": "nvcr.io/nvidia/k8s",
    "gfd": "nvcr.io/nvidia",
    "migManager": "nvcr.io/nvidia/cloud-native",
    "nodeStatusExporter": "nvcr.io/nvidia/cloud-native",
    "gds": "nvcr.io/nvidia/cloud-native",
    "gdrcopy": "nvcr.io/nvidia/cloud-native",
    "vgpuManager.driverManager": "nvcr.io/nvidia/cloud-native",
    "vgpuDeviceManager": "nvcr.io/nvidia/cloud-native",
    "vfioManager": "nvcr.io/nvidia",
    "vfioManager.driverManager": "nvcr.io/nvidia/cloud-native",
    "kataManager": "nvcr.io/nvidia/cloud-native",
    "sandboxDevicePlugin": "nvcr.io/nvidia",
    "ccManager": "nvcr.io/nvidia/cloud-native",
}
# Node Feature Discovery, a subchart of both charts (its own values: image.repository).
NFD_IMAGE = "registry.k8s.io/nfd/node-feature-discovery"
DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin"  # GFD runs the same image


def _set(values: dict, dotted: str, key: str, value) -> None:
    node = values
    for part in dotted.split("."):
        node = node.setdefault(part, {})
    node[key] = value


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
        for path, upstream in OPERATOR_REPOSITORIES.items():
            _set(values, path, "repository", charts.mirrored_image(upstream, registry))
        values["node-feature-discovery"] = {"image": {"repository": charts.mirrored_image(NFD_IMAGE, registry)}}
    return values


def device_plugin_values(cfg: PlatformConfig) -> dict:
    # No nodeSelector: the chart's own node affinity accepts the NFD or GFD label.
    values: dict = {"tolerations": [GPU_TOLERATION]}
    if cfg.device_plugin_node_discovery:
        values["gfd"] = {"enabled": True}  # the chart's NFD subchart follows gfd.enabled
        # NFD's workers must run on the tainted GPU nodes to label them (the chart's default
        # toleration expects the value "present"; the platform's taint is nvidia.com/gpu=true).
        values["nfd"] = {"worker": {"tolerations": [GPU_TOLERATION]}}
    if cfg.image_registry:
        values["image"] = {"repository": charts.mirrored_image(DEVICE_PLUGIN_IMAGE, cfg.image_registry)}
        if cfg.device_plugin_node_discovery:
            values["nfd"]["image"] = {"repository": charts.mirrored_image(NFD_IMAGE, cfg.image_registry)}
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
