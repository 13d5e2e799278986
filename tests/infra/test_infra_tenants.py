"""One tenant per agency, derived entirely from its config entry."""
import json

import pytest

from infra import tenants
from nuri.k8s.policy import is_protected
from nuri_infra_mocks import MINIMAL, render

NS = "agency-health"


def test_namespace_is_labelled_restricted_and_as_a_tenant(minimal):
    labels = minimal.one("Namespace", NS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["nuri.io/tenant"] == "true" and labels["nuri.io/agency"] == "health"


def test_resource_quota_caps_gpus_compute_and_exposure(minimal):
    hard = minimal.one("ResourceQuota", "agency-quota", NS)["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "4"
    assert hard["limits.cpu"] == "64" and hard["limits.memory"] == "256Gi"
    assert hard["services.loadbalancers"] == "0" and hard["services.nodeports"] == "0"
    assert minimal.one("ResourceQuota", "agency-quota", "agency-tax")["spec"]["hard"]["requests.nvidia.com/gpu"] == "2"


def test_limit_range_gives_every_container_default_limits(minimal):
    limits = minimal.one("LimitRange", "agency-limits", NS)["spec"]["limits"][0]
    assert limits["type"] == "Container"
    assert set(limits["default"]) == {"cpu", "memory"} and set(limits["defaultRequest"]) == {"cpu", "memory"}


def test_default_deny_then_only_platform_flows(minimal):
    policies = {p["metadata"]["name"]: p["spec"] for p in minimal.k8s("NetworkPolicy", NS)}
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert set(policies) == {"default-deny-all", "allow-same-namespace", "allow-dns", "allow-object-store",
                             "allow-pipelines-api", "allow-serving-clients",
                             "allow-feedback-db"}  # no API CIDRs configured; the last from infra/feedback_db.py
    store = policies["allow-object-store"]["egress"][0]
    assert store["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "nuri-storage"}}
    assert store["ports"] == [{"protocol": "TCP", "port": 9000}]
    serving = policies["allow-serving-clients"]["ingress"][0]["from"]
    assert serving == [{"namespaceSelector": {"matchLabels": {"nuri.io/serving-client": "true"}}}]
    # No rule anywhere opens the namespace to the world.
    for spec in policies.values():
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            peers = rule.get("from", []) + rule.get("to", [])
            assert peers and all(peer for peer in peers), spec
            assert "0.0.0.0/0" not in json.dumps(peers)


def test_role_has_no_wildcards_and_is_bound_to_the_agency_group(minimal):
    role = minimal.one("Role", "agency-member", NS)
    assert role["rules"] == tenants.AGENCY_RULES
    flat = json.dumps(role["rules"])
    assert "*" not in flat and "pods/exec" not in flat and "rbac.authorization.k8s.io" not in flat
    binding = minimal.one("RoleBinding", "agency-member", NS)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "agency-member"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "nuri-agency-health"}]
    assert not minimal.k8s("ClusterRole") and not minimal.k8s("ClusterRoleBinding")


def test_object_store_policy_reaches_only_the_agencys_bucket(minimal):
    values = minimal.release("minio")["values"]
    policy = next(p for p in values["policies"] if p["name"] == "agency-health-rw")
    resources = [r for statement in policy["statements"] for r in statement["resources"]]
    assert resources == ["arn:aws:s3:::agency-health", "arn:aws:s3:::agency-health/*"]
    actions = {a for statement in policy["statements"] for a in statement["actions"]}
    assert not any("*" in a or a.startswith("s3:PutBucketPolicy") or a.startswith("admin:") for a in actions)
    user = next(u for u in values["users"] if u["accessKey"] == "agency-health")
    assert user == {"accessKey": "agency-health", "existingSecret": "minio-user-agency-health",
                    "existingSecretKey": "secretKey", "policy": "agency-health-rw"}


def test_agency_gets_its_credentials_as_a_secret(minimal):
    secret = minimal.one("Secret", "object-store-credentials", NS)
    assert is_protected(secret["stringData"])
    assert secret["stringData"]["value"]["accesskey"] == "agency-health"
    assert secret["stringData"]["value"]["bucket"] == "agency-health"


def test_kserve_reads_releases_with_the_agency_secret_only(minimal):
    secret = minimal.one("Secret", "object-store-credentials", NS)
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"].endswith(":9000")
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] in ("0", "1")
    account = minimal.one("ServiceAccount", "nuri-model-reader", NS)
    assert account["secrets"] == [{"name": "object-store-credentials"}]
    assert account["automountServiceAccountToken"] is False
    bound = [b["subjects"] for b in minimal.k8s("RoleBinding", NS)]
    assert not any(s.get("name") == "nuri-model-reader" for subjects in bound for s in subjects)  # no RBAC
    storage = minimal.release("kserve")["values"]["kserve"]["storage"]
    assert storage["s3"] == {"accessKeyIdName": "accesskey", "secretAccessKeyName": "secretkey"}
    assert storage["containerSecurityContext"]["allowPrivilegeEscalation"] is False


def test_pipeline_profile_points_at_the_agency_bucket(minimal):
    data = minimal.one("ConfigMap", "kfp-launcher", NS)["data"]
    assert data["defaultPipelineRoot"] == "minio://agency-health/pipelines"
    provider = json.loads(data["providers"])["minio"]["default"]
    assert provider["credentials"]["secretRef"]["secretName"] == "object-store-credentials"
    assert not minimal.k8s("Profile")  # standalone mode: no Kubeflow Profiles


def _snapshot(rendered):
    return {(r.typ, r.name): json.dumps(r.inputs, sort_keys=True) for r in rendered.registered}


def test_a_new_agency_entry_adds_its_full_tenant_and_changes_nothing_else(minimal):
    grown = render({"agencies": [*MINIMAL["agencies"], "justice gpus=1"]})
    before, after = _snapshot(minimal), _snapshot(grown)
    assert set(before) <= set(after)
    added = set(after) - set(before)
    assert all("justice" in name for _, name in added), added
    kinds = sorted(typ.rsplit(":", 1)[-1] for typ, _ in added)
    assert kinds == sorted(["Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "Secret", "Secret",
                            "ServiceAccount", "ConfigMap", "RandomPassword"] + ["NetworkPolicy"] * 6
                           # its feedback database: role password, setup Job, URL secret, egress flow
                           + ["RandomPassword", "Secret", "Job", "Secret", "NetworkPolicy"])
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("kubernetes:helm.sh/v3:Release", "minio")}  # it gains the bucket, policy and user
    old, new = minimal.release("minio")["values"], grown.release("minio")["values"]
    for field in ("buckets", "policies", "users"):
        extra = [item for item in new[field] if item not in old[field]]
        assert len(extra) == 1 and "agency-justice" in json.dumps(extra), field
        assert [item for item in new[field] if item in old[field]] == old[field]
    assert {k: v for k, v in new.items() if k not in ("buckets", "policies", "users")} == \
           {k: v for k, v in old.items() if k not in ("buckets", "policies", "users")}


@pytest.mark.parametrize("entry, group", [("culture", "nuri-agency-culture"), ("culture group=oidc:culture", "oidc:culture")])
def test_group_defaults_to_the_prefix(entry, group):
    rendered = render({"agencies": [entry]})
    assert rendered.one("RoleBinding", "agency-member", "agency-culture")["subjects"][0]["name"] == group
