"""Model serving: KServe in Standard mode (formerly "RawDeployment": plain Deployments
and Services, no Knative or Istio to operate) plus two cluster-wide runtimes: Nuri's own
service (`nuri-service`, what the pipelines' deploy step serves releases with) and the
vLLM-backed one for plain LLMs. Ingress creation is disabled: models are reachable
inside the cluster only, through the agency NetworkPolicies, until a platform team adds
its own gateway.

KServe's storage initializer reads releases with the agency's object-store secret (keys
`accesskey`/`secretkey`, named here; the secret and the service account that lists it
are made per agency by infra/tenants.py), and runs with a `restricted` security context
(seccomp included) so predictor pods are admitted in the agencies' namespaces. With
`nuri:minioTls` it trusts the object store's private CA: the ConfigMap here is named in
KServe's config, and KServe copies it into each InferenceService's namespace.

Air-gapped, every image the chart's values name is mirrored with its upstream path kept
(IMAGES; tests/infra/test_infra_chart_values.py checks it covers the chart's values)."""
from __future__ import annotations

import pulumi

from nuri.cluster import names

from . import charts, minio, raw_manifests
from .cluster import Cluster
from .config import PlatformConfig

NAMESPACE = "kserve"
LLM_RUNTIME = "serving/llm-runtime.yaml"
NURI_RUNTIME = "serving/nuri-service-runtime.yaml"
# KServe raw deployments answer at <isvc>-predictor.<agency namespace>.svc.cluster.local
# (the same as nuri.k8s.inference_service.URL_TEMPLATE).
URL_TEMPLATE = "http://{name}-predictor.{namespace}.svc.cluster.local/openai/v1"
# Every image reference in the kserve-resources v0.20.0 values (under `kserve:`), by value
# path, as the chart ships it: Docker Hub names without a host, one with its tag.
IMAGES = {
    "controller.image": "kserve/kserve-controller",
    "controller.rbacProxyImage": "quay.io/brancz/kube-rbac-proxy:v0.18.0",
    "storage.image": "kserve/storage-initializer",
    "agent.image": "kserve/agent",
    "router.image": "kserve/router",
    "servingruntime.art.image": "kserve/art-explainer",
    "localmodel.controller.image": "kserve/kserve-localmodel-controller",
    "localmodel.defaultJobImage": "kserve/storage-initializer",
    "localmodel.agent.image": "kserve/kserve-localmodelnode-agent",
}
# KServe looks for the CA bundle under this key of the ConfigMap in its own namespace.
CA_BUNDLE_KEY = "cabundle.crt"


STORAGE_SECURITY_CONTEXT = {
    "runAsNonRoot": True, "allowPrivilegeEscalation": False, "privileged": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}


def _set(tree: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


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
    if cfg.minio_tls:
        kserve["storage"]["caBundleConfigMapName"] = names.OBJECT_STORE_CA_CONFIGMAP
    if cfg.image_registry:
        for path, image in IMAGES.items():
            _set(kserve, path, charts.mirrored_image(image, cfg.image_registry))
    return {"kserve": kserve}


def deploy(cfg: PlatformConfig, cluster: Cluster, cert_manager: pulumi.Resource,
           store: minio.ObjectStore) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    ns = charts.namespace(NAMESPACE, "restricted", opts)
    in_ns = pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns])
    ca = minio.ca_bundle(store, NAMESPACE, in_ns, key=CA_BUNDLE_KEY)
    crds = charts.helm_release("kserve-crd", charts.KSERVE_CRD, cfg.kserve_version, ns.metadata.name, {}, cfg, in_ns)
    controller = charts.helm_release("kserve", charts.KSERVE, cfg.kserve_version, ns.metadata.name, values(cfg), cfg,
                                     pulumi.ResourceOptions(provider=cluster.provider,
                                                            depends_on=[crds, cert_manager, *([ca] if ca else [])]))
    raw_manifests.apply(LLM_RUNTIME, cluster, cfg.image_registry, [controller])
    raw_manifests.apply(NURI_RUNTIME, cluster, cfg.image_registry, [controller])
    return controller
