"""Model serving: KServe in Standard mode (formerly "RawDeployment": plain Deployments
and Services, no Knative or Istio to operate) plus two cluster-wide runtimes: Nuri's own
service (`nuri-service`, what the pipelines' deploy step serves releases with) and the
vLLM-backed one for plain LLMs. Ingress creation is disabled: models are reachable
inside the cluster only, through the agency NetworkPolicies, until a platform team adds
its own gateway.

KServe's storage initializer reads releases with the agency's object-store secret (keys
`accesskey`/`secretkey`, named here; the secret and the service account that lists it
are made per agency by infra/tenants.py), and runs with a `restricted` security context
so predictor pods are admitted in the agencies' namespaces."""
from __future__ import annotations

import pulumi

from . import charts, raw_manifests
from .cluster import Cluster
from .config import PlatformConfig

NAMESPACE = "kserve"
LLM_RUNTIME = "serving/llm-runtime.yaml"
NURI_RUNTIME = "serving/nuri-service-runtime.yaml"
# KServe raw deployments answer at <isvc>-predictor.<agency namespace>.svc.cluster.local
# (the same as nuri.k8s.inference_service.URL_TEMPLATE).
URL_TEMPLATE = "http://{name}-predictor.{namespace}.svc.cluster.local/openai/v1"
COMPONENT_IMAGES = {
    "controller": "docker.io/kserve/kserve-controller",
    "storage": "docker.io/kserve/storage-initializer",
    "agent": "docker.io/kserve/agent",
    "router": "docker.io/kserve/router",
}


STORAGE_SECURITY_CONTEXT = {
    "runAsNonRoot": True, "allowPrivilegeEscalation": False, "privileged": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}


def values(cfg: PlatformConfig) -> dict:
    kserve: dict = {
        "controller": {
            "deploymentMode": "Standard",
            "gateway": {"disableIngressCreation": True, "disableIstioVirtualHost": True},
            "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        },
        "storage": {
            # The key names of the agencies' object-store secrets (infra/tenants.py).
            "s3": {"accessKeyIdName": "accesskey", "secretAccessKeyName": "secretkey"},
            # The injected storage-initializer container must pass Pod Security `restricted`.
            "containerSecurityContext": STORAGE_SECURITY_CONTEXT,
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
    raw_manifests.apply(NURI_RUNTIME, cluster, cfg.image_registry, [controller])
    return controller
