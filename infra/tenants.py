"""One tenant per agency: namespace (Pod Security "restricted"), ResourceQuota with GPUs,
LimitRange, default-deny NetworkPolicy plus only the flows the platform needs, a Role
without wildcards bound to the agency's group, object-store credentials for its own
bucket (also read by KServe's storage initializer, through the `nuri-model-reader`
service account), and its pipeline profile. Everything here is derived from one config entry.
"""
from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from . import minio, pipelines
from .cluster import Cluster
from .config import Agency, PlatformConfig
from .minio import ObjectStore

TENANT_LABEL = "nuri.io/tenant"
AGENCY_LABEL = "nuri.io/agency"
SERVING_CLIENT_LABEL = "nuri.io/serving-client"
CREDENTIALS_SECRET = "object-store-credentials"

# Explicit resources and verbs: agencies run pipelines' pods, RayJobs and InferenceServices
# in their namespace, and nothing cluster-wide. No "*", no exec/attach, no RBAC objects.
MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"]
READ = ["get", "list", "watch"]
AGENCY_RULES = [
    {"apiGroups": [""], "resources": ["pods", "pods/log", "events", "resourcequotas", "limitranges"], "verbs": READ},
    {"apiGroups": [""], "resources": ["configmaps", "secrets", "persistentvolumeclaims", "services"], "verbs": MANAGE},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": MANAGE},
    {"apiGroups": ["ray.io"], "resources": ["rayjobs", "rayclusters", "rayservices"], "verbs": MANAGE},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": MANAGE},
]


# What a pipeline step needs when training runs in the cluster (runtime.mode: cluster):
# create and watch its stage's RayJob, read the Ray pods' logs, and delete the RayJob
# at teardown; the deploy step creates or patches the release's InferenceService and
# watches it become ready (it never deletes one: the previous release keeps serving
# until the new one is ready). Bound only to the run service account of KFP multi-user mode.
PIPELINE_RUN_SERVICE_ACCOUNT = "default-editor"
PIPELINE_RUN_RULES = [
    {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["get", "list", "watch", "create", "delete"]},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
     "verbs": ["get", "list", "watch", "create", "patch"]},
    {"apiGroups": [""], "resources": ["pods", "pods/log", "services"], "verbs": READ},
]

# KServe's storage initializer reads a release from the object store with the secrets
# of the InferenceService's service account (nuri.config.DeployConfig.service_account):
# this one lists only the agency's object-store secret, has no RBAC and mounts no API
# token. The secret's annotations tell KServe where the object store is.
MODEL_READER_SERVICE_ACCOUNT = "nuri-model-reader"


def kserve_s3_annotations(store: ObjectStore) -> dict[str, str]:
    return {"serving.kserve.io/s3-endpoint": store.endpoint,
            "serving.kserve.io/s3-usehttps": "1" if store.secure else "0"}


def namespace_labels(agency: Agency, cfg: PlatformConfig) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/part-of": "nuri",
        TENANT_LABEL: "true",
        AGENCY_LABEL: agency.name,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    if cfg.pipelines_mode == "multi-user":
        labels["pipelines.kubeflow.org/enabled"] = "true"  # KFP's profile controller syncs its per-namespace objects
    return labels


def quota_hard(agency: Agency) -> dict[str, str]:
    return {
        "requests.cpu": agency.cpu,
        "limits.cpu": agency.cpu,
        "requests.memory": agency.memory,
        "limits.memory": agency.memory,
        "requests.nvidia.com/gpu": str(agency.gpus),
        "requests.storage": agency.storage,
        "persistentvolumeclaims": "50",
        "pods": str(agency.pods),
        # Nothing in a tenant is exposed outside the cluster.
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


LIMIT_RANGE = [{
    "type": "Container",
    "default": {"cpu": "1", "memory": "2Gi"},
    "defaultRequest": {"cpu": "250m", "memory": "512Mi"},
    "max": {"memory": "1Ti"},
}]


def _ns_selector(name: str) -> dict:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def network_policies(agency: Agency, api_server_cidrs: list) -> dict[str, dict]:
    """name -> NetworkPolicy spec. The first denies everything; the others open one flow each."""
    policies: dict[str, dict] = {
        "default-deny-all": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-same-namespace": {  # Ray head <-> workers, pipeline steps, NCCL
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{"to": [{"podSelector": {}}]}]},
        "allow-dns": {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": _ns_selector("kube-system"),
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]},
        "allow-object-store": {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": _ns_selector(minio.NAMESPACE),
                                "podSelector": {"matchLabels": {"app": "minio"}}}],
                        "ports": [{"protocol": "TCP", "port": minio.PORT}]}]},
        "allow-pipelines-api": {  # KFP driver/launcher report to the API server and ML Metadata
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": _ns_selector(pipelines.NAMESPACE)}],
                        "ports": [{"protocol": "TCP", "port": 8887}, {"protocol": "TCP", "port": 8888},
                                  {"protocol": "TCP", "port": 8080}]}]},
        "allow-serving-clients": {  # model endpoints, only from namespaces labelled as serving clients
            "podSelector": {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {SERVING_CLIENT_LABEL: "true"}}}],
                         "ports": [{"protocol": "TCP", "port": 8080}]}]},
    }
    if api_server_cidrs:
        policies["allow-kube-api"] = {  # pipeline drivers and the Ray autoscaler call the API server
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in api_server_cidrs],
                        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}]}
    return policies


def launcher_config(agency: Agency, store: ObjectStore) -> dict[str, str]:
    """KFP's per-namespace launcher settings: artifacts under the agency's own bucket,
    read with the agency's own credentials."""
    providers = {"minio": {"default": {
        "endpoint": store.endpoint, "disableSSL": not store.secure, "region": "minio",
        "credentials": {"fromEnv": False, "secretRef": {
            "secretName": CREDENTIALS_SECRET, "accessKeyKey": "accesskey", "secretKeyKey": "secretkey"}}}}}
    return {"defaultPipelineRoot": f"minio://{agency.bucket}/pipelines", "providers": json.dumps(providers)}


def create_tenant(agency: Agency, cfg: PlatformConfig, cluster: Cluster, store: ObjectStore,
                  depends_on: list[pulumi.Resource]) -> k8s.core.v1.Namespace:
    name = agency.namespace
    base = pulumi.ResourceOptions(provider=cluster.provider)
    annotations = {"owner": agency.owner} if agency.owner else {}
    ns = k8s.core.v1.Namespace(
        name, metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels=namespace_labels(agency, cfg), annotations=annotations),
        opts=base)
    opts = pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns])

    def meta(resource: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=resource, namespace=name, labels={AGENCY_LABEL: agency.name})

    k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=meta("agency-quota"),
                              spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota_hard(agency)), opts=opts)
    k8s.core.v1.LimitRange(f"{name}-limits", metadata=meta("agency-limits"),
                           spec=k8s.core.v1.LimitRangeSpecArgs(limits=LIMIT_RANGE), opts=opts)
    for policy_name, spec in network_policies(agency, cluster.api_server_cidrs).items():
        k8s.networking.v1.NetworkPolicy(f"{name}-{policy_name}", metadata=meta(policy_name), spec=spec, opts=opts)

    role = k8s.rbac.v1.Role(f"{name}-member", metadata=meta("agency-member"), rules=AGENCY_RULES, opts=opts)
    k8s.rbac.v1.RoleBinding(
        f"{name}-member", metadata=meta("agency-member"),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="agency-member"),
        subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=agency.group)],
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns, role]))

    if cfg.pipelines_mode == "multi-user":
        runs = k8s.rbac.v1.Role(f"{name}-pipeline-runs", metadata=meta("pipeline-runs"),
                                rules=PIPELINE_RUN_RULES, opts=opts)
        k8s.rbac.v1.RoleBinding(
            f"{name}-pipeline-runs", metadata=meta("pipeline-runs"),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="pipeline-runs"),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=PIPELINE_RUN_SERVICE_ACCOUNT, namespace=name)],
            opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns, runs]))

    creds = store.agencies[agency.name]
    k8s.core.v1.Secret(
        f"{name}-{CREDENTIALS_SECRET}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=CREDENTIALS_SECRET, namespace=name, labels={AGENCY_LABEL: agency.name},
                                            annotations=kserve_s3_annotations(store)),
        type="Opaque",
        string_data=pulumi.Output.secret({"accesskey": creds.access_key, "secretkey": creds.secret_key,
                                          "endpoint": store.url, "bucket": agency.bucket}),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns],
                                    additional_secret_outputs=["data", "stringData"]))
    k8s.core.v1.ServiceAccount(f"{name}-{MODEL_READER_SERVICE_ACCOUNT}", metadata=meta(MODEL_READER_SERVICE_ACCOUNT),
                               secrets=[k8s.core.v1.ObjectReferenceArgs(name=CREDENTIALS_SECRET)],
                               automount_service_account_token=False, opts=opts)
    k8s.core.v1.ConfigMap(f"{name}-kfp-launcher", metadata=meta("kfp-launcher"),
                          data=launcher_config(agency, store), opts=opts)
    if cfg.pipelines_mode == "multi-user":
        # The Kubeflow Profile adopts the namespace (its "owner" annotation matches) for KFP multi-user.
        k8s.apiextensions.CustomResource(
            f"{name}-profile", api_version="kubeflow.org/v1", kind="Profile",
            metadata={"name": name, "labels": {AGENCY_LABEL: agency.name}},
            spec={"owner": {"kind": "User", "name": agency.owner}},
            opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns, *depends_on]))
    return ns


def create_all(cfg: PlatformConfig, cluster: Cluster, store: ObjectStore,
               depends_on: list[pulumi.Resource]) -> dict[str, k8s.core.v1.Namespace]:
    return {a.name: create_tenant(a, cfg, cluster, store, depends_on) for a in cfg.agency_list}
