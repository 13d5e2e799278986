"""GPU enablement on clusters nobody has labelled: the device plugin's DaemonSet must be
schedulable, and the discovery that labels GPU nodes must run on the tainted GPU nodes."""
from infra import config, gpu

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def test_device_plugin_uses_the_charts_affinity_and_brings_node_discovery(existing_example):
    values = existing_example.release("nvidia-device-plugin")["values"]
    # No nodeSelector on a label nothing sets: the chart's affinity accepts NFD's or GFD's label.
    assert "nodeSelector" not in values and "affinity" not in values
    assert values["gfd"] == {"enabled": True}  # the chart's NFD subchart follows it (condition nfd.enabled,gfd.enabled)
    assert GPU_TOLERATION in values["nfd"]["worker"]["tolerations"]  # NFD labels the tainted GPU nodes too
    assert GPU_TOLERATION in values["tolerations"]
    assert values["nfd"]["image"]["repository"] == "registry.gov.example/nuri-mirror/nfd/node-feature-discovery"


def test_node_discovery_can_be_left_to_the_cluster():
    cfg = config.parse({"gpuMode": "device-plugin", "devicePluginNodeDiscovery": False})
    values = gpu.device_plugin_values(cfg)
    assert "gfd" not in values and "nfd" not in values and "nodeSelector" not in values


def test_operator_keeps_drivers_off_where_preinstalled_and_tolerates_the_gpu_taint():
    values = gpu.operator_values(config.PlatformConfig(), drivers_preinstalled=True)
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["daemonsets"]["tolerations"] == [GPU_TOLERATION]
    assert "repository" not in values["driver"]  # nothing mirrored without a registry
