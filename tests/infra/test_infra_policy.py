"""nuri.k8s.policy: each check fails on its violation, passes on the compliant form,
and the whole platform (every mode, every raw manifest) is compliant."""
import copy

import pytest
import yaml

from nuri.k8s import policy
from nuri_infra_mocks import REPO_ROOT

SECRET_ENVELOPE = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": {"k": "v"}}
SAFE_CONTEXT = {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]}}
LIMITS = {"limits": {"cpu": "1", "memory": "1Gi"}}


def deployment(**container):
    base = {"name": "app", "image": "app:1", "securityContext": dict(SAFE_CONTEXT), "resources": copy.deepcopy(LIMITS)}
    base.update(container)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "t"},
            "spec": {"template": {"spec": {"containers": [base]}}}}


def test_compliant_deployment_passes_every_check():
    assert policy.check_all([deployment()]) == []


@pytest.mark.parametrize("context, expected", [
    ({**SAFE_CONTEXT, "privileged": True}, "runs privileged"),
    ({**SAFE_CONTEXT, "runAsUser": 0}, "may run as root"),
    ({k: v for k, v in SAFE_CONTEXT.items() if k != "runAsNonRoot"}, "may run as root"),
    ({**SAFE_CONTEXT, "allowPrivilegeEscalation": True}, "allows privilege escalation"),
    ({**SAFE_CONTEXT, "capabilities": {"add": ["SYS_ADMIN"]}}, "adds capabilities"),
])
def test_privileged_or_root_container_fails(context, expected):
    violations = policy.privileged_or_root_containers([deployment(securityContext=context)])
    assert len(violations) == 1 and expected in violations[0]
    assert violations[0].startswith("Deployment t/web: container 'app'")


def test_pod_level_run_as_non_root_counts():
    obj = deployment(securityContext={"allowPrivilegeEscalation": False})
    obj["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True}
    assert policy.privileged_or_root_containers([obj]) == []


def test_root_containers_are_found_in_custom_resources():
    rayjob = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "train"}, "spec": {"rayClusterSpec": {
        "workerGroupSpecs": [{"template": {"spec": {"containers": [{"name": "worker", "image": "ray"}]}}}]}}}
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "m"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}}}}}
    assert "container 'worker' may run as root" in policy.privileged_or_root_containers([rayjob])[-1]
    assert any("container 'model'" in v for v in policy.missing_resource_limits([isvc]))


@pytest.mark.parametrize("resources, missing", [
    ({}, "cpu, memory"),
    ({"limits": {"cpu": "1"}}, "memory"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"nvidia.com/gpu": "1"}}, "nvidia.com/gpu"),
])
def test_missing_resource_limit_fails(resources, missing):
    violations = policy.missing_resource_limits([deployment(resources=resources)])
    assert violations == [f"Deployment t/web: container 'app' has no limit for {missing}"]


@pytest.mark.parametrize("field", ["apiGroups", "resources", "verbs"])
def test_wildcard_rbac_fails(field):
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
            "rules": [rule]}
    assert policy.wildcard_rbac([role]) == []
    rule[field] = ["*"]
    assert policy.wildcard_rbac([role]) == [f"ClusterRole r: rules[0].{field} contains a wildcard"]


def _tenant(*policies):
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "agency-x", "labels": {"nuri.io/tenant": "true"}}}
    return [ns] + [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"p{i}", "namespace": "agency-x"}, "spec": spec} for i, spec in enumerate(policies)]


def test_tenant_namespace_without_default_deny_fails():
    deny_all = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert policy.tenant_namespaces_without_default_deny(_tenant(deny_all)) == []
    for not_deny in ({"podSelector": {}, "policyTypes": ["Ingress"]},
                     {"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Ingress", "Egress"]},
                     {**deny_all, "egress": [{}]}):
        assert policy.tenant_namespaces_without_default_deny(_tenant(not_deny)) == [
            "Namespace agency-x: tenant namespace has no default-deny NetworkPolicy"]
    assert policy.tenant_namespaces_without_default_deny(_tenant())


@pytest.mark.parametrize("obj, expected", [
    ({"kind": "Service", "metadata": {"name": "minio"}, "spec": {"type": "LoadBalancer"}}, "exposed outside"),
    ({"kind": "Service", "metadata": {"name": "s3", "labels": {"nuri.io/object-store": "true"}},
      "spec": {"externalIPs": ["1.2.3.4"]}}, "exposed outside"),
    ({"kind": "Ingress", "metadata": {"name": "i"}, "spec": {"rules": [{"http": {"paths": [
        {"backend": {"service": {"name": "minio", "port": {"number": 9000}}}}]}}]}}, "routes to the object store"),
    ({"kind": "Release", "name": "minio", "chart": "minio", "values": {"buckets": [{"name": "b", "policy": "download"}]}},
     "allows anonymous download"),
    ({"kind": "Release", "name": "minio", "chart": "minio", "values": {"consoleIngress": {"enabled": True}}},
     "values.consoleIngress exposes"),
    ({"kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"policy.json": {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}}]}}}, "any principal"),
])
def test_public_object_store_fails(obj, expected):
    violations = policy.public_object_store([obj])
    assert len(violations) == 1 and expected in violations[0]


def test_private_object_store_passes():
    assert policy.public_object_store([
        {"kind": "Service", "metadata": {"name": "minio"}, "spec": {"type": "ClusterIP"}},
        {"kind": "Release", "chart": "minio", "values": {"buckets": [{"name": "b", "policy": "none"}],
                                                        "service": {"type": "ClusterIP"}}}]) == []


@pytest.mark.parametrize("obj, expected", [
    ({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}, "plaintext values ['password']"),
    ({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "aHVudGVyMg=="}}, "plaintext values ['k']"),
    ({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"db_password": "x"}}, "looks like a secret"),
    ({"kind": "Release", "name": "r", "values": {"auth": {"rootPassword": "x"}}}, "values.auth.rootPassword is a literal"),
])
def test_plaintext_secret_fails(obj, expected):
    violations = policy.plaintext_secrets([obj])
    assert len(violations) == 1 and expected in violations[0]


def test_literal_secret_in_container_env_fails():
    obj = deployment(env=[{"name": "HF_TOKEN", "value": "hf_abc"}])
    assert "env HF_TOKEN is a literal secret" in policy.plaintext_secrets([obj])[0]
    obj = deployment(env=[{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}])
    assert policy.plaintext_secrets([obj]) == []


def test_pulumi_secrets_and_secret_references_pass():
    assert policy.plaintext_secrets([
        {"kind": "Secret", "metadata": {"name": "s"}, "stringData": SECRET_ENVELOPE},
        {"kind": "Release", "values": {"existingSecret": "root", "users": [{"existingSecretKey": "secretKey"}]}},
    ]) == []


@pytest.mark.parametrize("fixture", ["minimal", "existing_example", "eks_example"])
def test_the_rendered_platform_is_compliant_in_every_mode(fixture, request):
    assert policy.check_all(request.getfixturevalue(fixture).manifests()) == []


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "manifests").rglob("*.y*ml")),
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_raw_manifest_is_compliant(path):
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert policy.check_all(documents) == []
