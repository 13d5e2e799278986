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
                             "allow-pipelines-api", "allow-serving-clients", "allow-kuberay-operator",
                             "allow-pipeline-runs-ray-dashboard", "allow-pipeline-runs-predictor",
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
    secret = minimal.one("Secret", "nuri-object-store", NS)
    assert is_protected(secret["stringData"])
    assert secret["stringData"]["value"]["accesskey"] == "agency-health"
    assert secret["stringData"]["value"]["bucket"] == "agency-health"


def test_kserve_reads_releases_with_the_agency_secret_only(minimal):
    secret = minimal.one("Secret", "nuri-object-store", NS)
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"].endswith(":9000")
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] in ("0", "1")
    account = minimal.one("ServiceAccount", "nuri-model-reader", NS)
    assert account["secrets"] == [{"name": "nuri-object-store"}]
    assert account["automountServiceAccountToken"] is False
    bound = [b["subjects"] for b in minimal.k8s("RoleBinding", NS)]
    assert not any(s.get("name") == "nuri-model-reader" for subjects in bound for s in subjects)  # no RBAC
    storage = minimal.release("kserve")["values"]["kserve"]["storage"]
    assert storage["s3"] == {"accessKeyIdName": "accesskey", "secretAccessKeyName": "secretkey"}
    assert storage["containerSecurityContext"]["allowPrivilegeEscalation"] is False


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
                            "ServiceAccount", "ServiceAccount", "RandomPassword"] + ["NetworkPolicy"] * 9
                           # standalone KFP: its pipeline secret in kubeflow, the pipeline-runner's Role
                           + ["Secret", "Role", "RoleBinding"]
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


def test_kuberay_operator_alone_may_reach_the_ray_heads_dashboard(minimal):
    spec = minimal.one("NetworkPolicy", "allow-kuberay-operator", NS)["spec"]
    assert spec["podSelector"] == {"matchLabels": {"ray.io/node-type": "head"}}  # heads only, not workers
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    # One peer with both selectors: the operator's pods in the operator's namespace, nothing else.
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kuberay-system"}},
                             "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8265}]
    # The namespace it names is the one the operator is installed in.
    assert minimal.release("kuberay-operator")["namespace"] == "kuberay-system"


def test_training_service_account_exists_without_rights_or_token(minimal):
    account = minimal.one("ServiceAccount", "nuri-training", NS)
    assert account["automountServiceAccountToken"] is False
    assert "secrets" not in account  # it needs none: env references need no permission
    bound = [s for b in minimal.k8s("RoleBinding", NS) for s in b["subjects"]]
    assert not any(s.get("name") == "nuri-training" for s in bound)
    # The agency's own Role cannot create service accounts; that is why the platform does.
    assert "serviceaccounts" not in json.dumps(tenants.AGENCY_RULES)


def test_with_tls_every_agency_gets_the_object_store_ca(existing_example, minimal):
    for agency in ("health", "finance", "education"):
        ca = existing_example.one("ConfigMap", "nuri-object-store-ca", f"agency-{agency}")
        assert ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
        secret = existing_example.one("Secret", "nuri-object-store", f"agency-{agency}")
        assert secret["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] == "1"
        assert secret["stringData"]["value"]["endpoint"] == "https://minio.nuri-storage.svc.cluster.local:9000"
    assert not [c for c in minimal.k8s("ConfigMap") if c["metadata"]["name"] == "nuri-object-store-ca"]
    # Standalone KFP runs every agency's steps in kubeflow: the CA is there too, where they mount it.
    ca = existing_example.one("ConfigMap", "nuri-object-store-ca", "kubeflow")
    assert ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    for agency in ("health", "finance", "education"):
        secret = existing_example.one("Secret", f"nuri-object-store-agency-{agency}", "kubeflow")
        assert secret["stringData"]["value"]["endpoint"] == "https://minio.nuri-storage.svc.cluster.local:9000"


AGENCIES = [entry.split()[0] for entry in MINIMAL["agencies"]]


@pytest.mark.parametrize("agency", AGENCIES)
def test_standalone_kfp_gets_each_agencys_bucket_credentials_in_kubeflow(minimal, agency):
    ours = minimal.one("Secret", "nuri-object-store", f"agency-{agency}")
    theirs = minimal.one("Secret", f"nuri-object-store-agency-{agency}", "kubeflow")
    assert is_protected(theirs["stringData"])
    assert theirs["stringData"]["value"] == ours["stringData"]["value"]  # same keys, same bucket-scoped user
    assert theirs["stringData"]["value"]["bucket"] == f"agency-{agency}"
    assert theirs["metadata"]["labels"] == {"nuri.io/agency": agency}
    assert "annotations" not in theirs["metadata"]  # KServe never reads this one


@pytest.mark.parametrize("agency", AGENCIES)
def test_kfp_pipeline_runner_may_do_exactly_what_cluster_mode_steps_do(minimal, agency):
    ns = f"agency-{agency}"
    role = minimal.one("Role", "nuri-pipeline-runner", ns)
    assert role["rules"] == [
        {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get", "list", "delete"]},
        {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["create", "get", "patch"]},
    ]
    binding = minimal.one("RoleBinding", "nuri-pipeline-runner", ns)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "nuri-pipeline-runner"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pipeline-runner", "namespace": "kubeflow"}]
    # Outside KFP's own namespace, nothing else is bound to it.
    bound = [(b["metadata"]["namespace"], b["metadata"]["name"]) for b in minimal.k8s("RoleBinding")
             if b["metadata"]["namespace"] != "kubeflow" and any(s.get("name") == "pipeline-runner" for s in b["subjects"])]
    assert sorted(bound) == sorted((f"agency-{a}", "nuri-pipeline-runner") for a in AGENCIES)


def test_only_kfp_run_pods_reach_the_ray_dashboard_and_the_predictor(minimal):
    policies = {p["metadata"]["name"]: p["spec"] for p in minimal.k8s("NetworkPolicy", NS)}
    run_pods = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kubeflow"}},
                 "podSelector": {"matchLabels": {"pipelines.kubeflow.org/v2_component": "true"}}}]
    ray = policies["allow-pipeline-runs-ray-dashboard"]
    assert ray["podSelector"] == {"matchLabels": {"ray.io/node-type": "head"}} and ray["policyTypes"] == ["Ingress"]
    assert ray["ingress"] == [{"from": run_pods, "ports": [{"protocol": "TCP", "port": 8265}]}]
    predictor = policies["allow-pipeline-runs-predictor"]
    assert predictor["podSelector"] == policies["allow-serving-clients"]["podSelector"]
    assert predictor["ingress"] == [{"from": run_pods, "ports": [{"protocol": "TCP", "port": 8080}]}]
