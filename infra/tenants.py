"""One tenant per agency: namespace (Pod Security "restricted"), ResourceQuota with GPUs,
LimitRange, default-deny NetworkPolicy plus only the flows the platform needs, a Role
without wildcards bound to the agency's group, object-store credentials for its own
bucket (the secret `nuri-object-store`, which pipeline steps and RayJobs read and
KServe's storage initializer reads through the `nuri-model-reader` service account),
the `nuri-training` service account RayJob pods run as, the object store's CA when it
serves TLS. Everything here is derived from one config entry;
the names are the ones the pipelines use (nuri/cluster/names.py).

Standalone Kubeflow Pipelines runs every run's pods in `kubeflow` as `pipeline-runner`.
So per agency, also: the same bucket-scoped credentials as a secret in `kubeflow`
(`names.pipeline_object_store_secret`), which that agency's pipeline steps read; a Role in
the agency namespace letting `kubeflow:pipeline-runner` do exactly what the cluster-mode
steps do there (RayJobs, InferenceServices); and ingress from run pods to the Ray head's
dashboard and the predictor. This isolates workloads, not submitters: see infra/README.md,
"Tenancy under standalone Kubeflow Pipelines".
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from nuri.cluster import names

from . import kuberay, minio, pipelines
from .cluster import Cluster
from .config import Agency, PlatformConfig
from .minio import ObjectStore

TENANT_LABEL = "nuri.io/tenant"
AGENCY_LABEL = "nuri.io/agency"
SERVING_CLIENT_LABEL = "nuri.io/serving-client"
CREDENTIALS_SECRET = names.OBJECT_STORE_SECRET
# KubeRay labels a RayCluster's head pod so; the operator polls its dashboard (job status,
# job stop) on this port from its own namespace (KubeRay v1.7 rayjob_controller).
RAY_HEAD_SELECTOR = {"matchLabels": {"ray.io/node-type": "head"}}
RAY_DASHBOARD_PORT = 8265
PREDICTOR_SELECTOR = {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}
PREDICTOR_PORT = 8080  # the server's port behind the predictor Service's 80 (nuri.k8s.inference_service)

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
# What `kubeflow:pipeline-runner` may do in an agency namespace: exactly the cluster-mode
# steps' calls there. nuri/cluster/submit.py: RayJobs create (each stage), get (waiting),
# list by run id and delete (timeout, teardown); nuri/cluster/deploy.py: InferenceServices
# get, create, merge-patch. No pods, logs, secrets, services or RayClusters: the steps
# follow Ray logs through the head's dashboard over HTTP (allow-pipeline-runs-ray-dashboard).
PIPELINE_RUNNER_RULES = [
    {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get", "list", "delete"]},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["create", "get", "patch"]},
]
# Pods of a standalone KFP run: namespace `kubeflow`, KFP's run-pod label.
PIPELINE_RUN_PODS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": names.PIPELINES_NAMESPACE}},
                     "podSelector": {"matchLabels": dict(names.PIPELINE_RUN_POD_LABELS)}}


# KServe's storage initializer reads a release from the object store with the secrets
# of the InferenceService's service account (nuri.config.DeployConfig.service_account):
# this one lists only the agency's object-store secret, has no RBAC and mounts no API
# token. The secret's annotations tell KServe where the object store is.
MODEL_READER_SERVICE_ACCOUNT = names.MODEL_READER_SERVICE_ACCOUNT
# RayJob pods (nuri.config.RayClusterConfig.service_account): no RBAC, no API token; they
# read the object store with the secret by env reference, which needs no permission.
TRAINING_SERVICE_ACCOUNT = names.TRAINING_SERVICE_ACCOUNT


def kserve_s3_annotations(store: ObjectStore) -> dict[str, str]:
    return {"serving.kserve.io/s3-endpoint": store.endpoint,
            "serving.kserve.io/s3-usehttps": "1" if store.secure else "0"}


def namespace_labels(agency: Agency) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": "nuri",
        TENANT_LABEL: "true",
        AGENCY_LABEL: agency.name,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


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
        "allow-pipelines-api": {  # clients (notebooks, the KFP SDK) submit and watch runs over HTTP
            # Only the API port: standalone KFP runs no driver or launcher here, and its
            # gRPC API and ML Metadata (8887, 8080) have no authentication.
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": _ns_selector(pipelines.NAMESPACE)}],
                        "ports": [{"protocol": "TCP", "port": 8888}]}]},
        "allow-serving-clients": {  # model endpoints, only from namespaces labelled as serving clients
            "podSelector": PREDICTOR_SELECTOR,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {SERVING_CLIENT_LABEL: "true"}}}],
                         "ports": [{"protocol": "TCP", "port": PREDICTOR_PORT}]}]},
        # Standalone KFP runs the agency's steps in `kubeflow`: the training steps follow
        # their RayJob's driver log (or a long-lived cluster's Jobs API) on the head's
        # dashboard, the deploy step asks the new service one question.
        "allow-pipeline-runs-ray-dashboard": {
            "podSelector": RAY_HEAD_SELECTOR, "policyTypes": ["Ingress"],
            "ingress": [{"from": [PIPELINE_RUN_PODS], "ports": [{"protocol": "TCP", "port": RAY_DASHBOARD_PORT}]}]},
        "allow-pipeline-runs-predictor": {
            "podSelector": PREDICTOR_SELECTOR, "policyTypes": ["Ingress"],
            "ingress": [{"from": [PIPELINE_RUN_PODS], "ports": [{"protocol": "TCP", "port": PREDICTOR_PORT}]}]},
        "allow-kuberay-operator": {  # without it the operator cannot see a RayJob finish and marks it failed
            "podSelector": RAY_HEAD_SELECTOR, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": _ns_selector(kuberay.NAMESPACE),
                                   "podSelector": {"matchLabels": kuberay.OPERATOR_POD_LABELS}}],
                         "ports": [{"protocol": "TCP", "port": RAY_DASHBOARD_PORT}]}]},
    }
    if api_server_cidrs:
        policies["allow-kube-api"] = {  # the Ray autoscaler calls the API server (KFP's drivers run in kubeflow)
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in api_server_cidrs],
                        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}]}
    return policies


def create_tenant(agency: Agency, cfg: PlatformConfig, cluster: Cluster, store: ObjectStore,
                  kfp: pulumi.Resource | None = None) -> k8s.core.v1.Namespace:
    """kfp: what the Kubeflow Pipelines install returns (its namespace must exist before
    the agency's pipeline secret is put there)."""
    name = agency.namespace
    base = pulumi.ResourceOptions(provider=cluster.provider)
    annotations = {"owner": agency.owner} if agency.owner else {}
    ns = k8s.core.v1.Namespace(
        name, metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels=namespace_labels(agency), annotations=annotations),
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

    creds = store.agencies[agency.name]
    credentials = {names.ACCESS_KEY_KEY: creds.access_key, names.SECRET_KEY_KEY: creds.secret_key,
                   "endpoint": store.url, "bucket": agency.bucket}
    k8s.core.v1.Secret(
        f"{name}-{CREDENTIALS_SECRET}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=CREDENTIALS_SECRET, namespace=name, labels={AGENCY_LABEL: agency.name},
                                            annotations=kserve_s3_annotations(store)),
        type="Opaque",
        string_data=pulumi.Output.secret(dict(credentials)),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns],
                                    additional_secret_outputs=["data", "stringData"]))
    # The same credentials in `kubeflow`, where standalone KFP runs this agency's steps.
    pipeline_secret = names.pipeline_object_store_secret(agency.name)
    k8s.core.v1.Secret(
        f"{names.PIPELINES_NAMESPACE}-{pipeline_secret}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=pipeline_secret, namespace=names.PIPELINES_NAMESPACE,
                                            labels={AGENCY_LABEL: agency.name}),
        type="Opaque",
        string_data=pulumi.Output.secret(dict(credentials)),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[kfp] if kfp is not None else [],
                                    additional_secret_outputs=["data", "stringData"]))
    runner_role = k8s.rbac.v1.Role(f"{name}-{names.PIPELINE_RUNNER_ROLE}", metadata=meta(names.PIPELINE_RUNNER_ROLE),
                                   rules=PIPELINE_RUNNER_RULES, opts=opts)
    k8s.rbac.v1.RoleBinding(
        f"{name}-{names.PIPELINE_RUNNER_ROLE}", metadata=meta(names.PIPELINE_RUNNER_ROLE),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role",
                                         name=names.PIPELINE_RUNNER_ROLE),
        subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=names.PIPELINE_RUNNER_SERVICE_ACCOUNT,
                                          namespace=names.PIPELINES_NAMESPACE)],
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns, runner_role]))
    k8s.core.v1.ServiceAccount(f"{name}-{MODEL_READER_SERVICE_ACCOUNT}", metadata=meta(MODEL_READER_SERVICE_ACCOUNT),
                               secrets=[k8s.core.v1.ObjectReferenceArgs(name=CREDENTIALS_SECRET)],
                               automount_service_account_token=False, opts=opts)
    # The agency's own Role cannot make service accounts; the platform makes this one.
    k8s.core.v1.ServiceAccount(f"{name}-{TRAINING_SERVICE_ACCOUNT}", metadata=meta(TRAINING_SERVICE_ACCOUNT),
                               automount_service_account_token=False, opts=opts)
    minio.ca_bundle(store, name, opts)  # pipeline steps and RayJobs trust a TLS object store with it
    # No kfp-launcher ConfigMap here: standalone KFP runs every pipeline in its own
    # namespace, whose launcher config (infra/kfp_manifests.py) is the only one read; the
    # CA ConfigMap there (infra/pipelines.py) is the one the agency's steps mount.
    return ns


def create_all(cfg: PlatformConfig, cluster: Cluster, store: ObjectStore,
               kfp: pulumi.Resource | None = None) -> dict[str, k8s.core.v1.Namespace]:
    return {a.name: create_tenant(a, cfg, cluster, store, kfp) for a in cfg.agency_list}
