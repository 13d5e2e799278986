"""Model serving: KServe in Standard mode (formerly "RawDeployment": plain Deployments
and Services, no Knative or Istio to operate) plus the platform's vLLM-backed runtime for LLMs.
Ingress creation is disabled: models are reachable inside the cluster only, through
the agency NetworkPolicies, until a platform team adds its own gateway."""
from __future__ import annotations

import pulumi

from . import charts, raw_manifests
from .cluster import Cluster
from .config import PlatformConfig

NAMESPACE = "kserve"
LLM_RUNTIME = "serving/llm-runtime.yaml"
# KServe raw deployments answer at <isvc>-predictor.<agency namespace>.svc.cluster.local.
URL_TEMPLATE = "http://{name}-predictor.{namespace}.svc.cluster.local/openai/v1"
COMPONENT_IMAGES = {
    "controller": "docker.io/kserve/kserve-controller",
    "storage": "docker.io/kserve/storage-initializer",
    "agent": "docker.io/kserve/agent",
    "router": "docker.io/kserve/router",
}


def values(cfg: PlatformConfig) -> dict:
    kserve: dict = {
        "controller": {
            "deploymentMode": "Standard",
            "gateway": {"disableIngressCreation": True, "disableIstioVirtualHost": True},
            "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        },
    }
    if cfg.image_registry:
        for component, image in COMPONENT_IMAGES.items():
            kserve.setdefault(component, {})["image"] = charts.mirrored_image(image, cfg.image_registry)
    return {"kserve": kserve}


def deploy(cfg: PlatformConfig, cluster: Cluster, cert_manager: pulumi.Resource) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    ns = charts.namespace(NAMESPACE, "restricted", opts)
    crds = charts.helm_release("kserve-crd", charts.KSERVE_CRD, cfg.kserve_version, ns.metadata.name, {}, cfg,
                               pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns]))
    controller = charts.helm_release("kserve", charts.KSERVE, cfg.kserve_version, ns.metadata.name, values(cfg), cfg,
                                     pulumi.ResourceOptions(provider=cluster.provider, depends_on=[crds, cert_manager]))
    raw_manifests.apply(LLM_RUNTIME, cluster, cfg.image_registry, [controller])
    return controller
