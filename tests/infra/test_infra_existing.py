"""Existing-cluster mode and the platform layer: charts, pins, values, outputs."""
import pytest

from infra import charts, config, kfp_manifests
from nuri.k8s.policy import is_protected
from nuri_infra_mocks import KUBECONFIG, SHARED_UPSTREAM, render

DEFAULTS = config.PlatformConfig()
PINNED = {
    "cert-manager": ("cert-manager", "https://charts.jetstack.io", DEFAULTS.cert_manager_version),
    "gpu-operator": ("gpu-operator", "https://helm.ngc.nvidia.com/nvidia", DEFAULTS.gpu_operator_version),
    "minio": ("minio", "https://charts.min.io/", DEFAULTS.minio_chart_version),
    "kuberay-operator": ("kuberay-operator", "https://ray-project.github.io/kuberay-helm/", DEFAULTS.kuberay_version),
    "kserve-crd": ("oci://ghcr.io/kserve/charts/kserve-crd", None, DEFAULTS.kserve_version),
    "kserve": ("oci://ghcr.io/kserve/charts/kserve-resources", None, DEFAULTS.kserve_version),
}


def test_only_a_kubernetes_provider_from_the_secret_kubeconfig(minimal):
    providers = minimal.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 1
    assert is_protected(providers[0].inputs["kubeconfig"])
    assert not [r for r in minimal.registered if r.typ.startswith("aws:")]


def test_missing_kubeconfig_is_a_config_error():
    with pytest.raises(config.ConfigError, match=r"^nuri:kubeconfig: is required when clusterMode is existing"):
        render({}, kubeconfig=None)


def test_outputs_are_the_endpoints_and_a_secret_kubeconfig(minimal):
    assert minimal.outputs["pipelinesUiUrl"] == "http://ml-pipeline-ui.kubeflow.svc.cluster.local"
    assert minimal.outputs["pipelinesApiUrl"] == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
    assert minimal.outputs["objectStoreUrl"] == "http://minio.nuri-storage.svc.cluster.local:9000"
    assert "{namespace}" in minimal.outputs["servingUrlTemplate"]
    assert minimal.outputs["kubeconfig"] == KUBECONFIG
    assert minimal.secret_outputs == {"kubeconfig"}


@pytest.mark.parametrize("release", sorted(PINNED))
def test_charts_come_from_upstream_with_pinned_versions(minimal, release):
    chart, repo, version = PINNED[release]
    inputs = minimal.release(release)
    assert inputs["chart"] == chart
    assert inputs["version"] == version
    assert inputs.get("repositoryOpts", {}).get("repo") == repo
    assert inputs["atomic"] is True


def test_pinned_versions_are_exact():
    for field in ("cert_manager_version", "gpu_operator_version", "device_plugin_version", "minio_chart_version",
                  "kuberay_version", "kserve_version", "pipelines_version"):
        version = getattr(DEFAULTS, field).lstrip("v")
        assert all(part.isdigit() for part in version.split(".")) and version.count(".") == 2, field


def test_gpu_operator_by_default_device_plugin_when_drivers_are_preinstalled(minimal, existing_example):
    values = minimal.release("gpu-operator")["values"]
    assert values["driver"]["enabled"] is True and values["toolkit"]["enabled"] is True
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["daemonsets"]["tolerations"]
    assert "nvidia-device-plugin" not in minimal.releases()
    plugin = existing_example.release("nvidia-device-plugin")
    assert plugin["version"] == DEFAULTS.device_plugin_version
    assert "gpu-operator" not in existing_example.releases()


def test_platform_namespaces_enforce_pod_security(minimal):
    levels = {ns["metadata"]["name"]: ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for ns in minimal.k8s("Namespace")}
    assert levels["gpu-operator"] == "privileged"  # driver containers need the host; nothing else does
    assert levels["kubeflow"] == "baseline"
    for name in ("cert-manager", "nuri-storage", "kuberay-system", "kserve", "agency-health", "agency-tax"):
        assert levels[name] == "restricted", name


def test_minio_is_private_with_platform_and_agency_buckets(minimal):
    values = minimal.release("minio")["values"]
    assert values["service"]["type"] == "ClusterIP" and values["consoleService"]["type"] == "ClusterIP"
    assert not values["ingress"]["enabled"] and not values["consoleIngress"]["enabled"]
    buckets = {b["name"]: b["policy"] for b in values["buckets"]}
    assert buckets == {"datasets": "none", "checkpoints": "none", "releases": "none", "pipeline-artifacts": "none",
                       "agency-health": "none", "agency-tax": "none"}
    assert values["existingSecret"] == "minio-root"
    assert values["tls"] == {"enabled": False}
    assert values["containerSecurityContext"]["runAsNonRoot"] is True


def test_minio_credentials_are_generated_and_kept_secret(minimal):
    passwords = {r.name: r.inputs for r in minimal.of_type("random:index/randomPassword:RandomPassword")
                 if r.name.startswith("minio-")}  # the feedback database's: test_infra_feedback_db.py
    assert set(passwords) == {"minio-root-user", "minio-root-password", "minio-kubeflow-pipelines",
                              "minio-agency-health", "minio-agency-tax"}
    assert all(p["length"] >= 20 for p in passwords.values())
    root = minimal.one("Secret", "minio-root", "nuri-storage")
    assert is_protected(root["stringData"])
    assert set(root["stringData"]["value"]) == {"rootUser", "rootPassword"}
    for user in ("kubeflow-pipelines", "agency-health", "agency-tax"):
        assert is_protected(minimal.one("Secret", f"minio-user-{user}", "nuri-storage")["stringData"])


def test_minio_tls_issues_a_certificate_from_a_private_ca(existing_example):
    values = existing_example.release("minio")["values"]
    assert values["tls"] == {"enabled": True, "certSecret": "minio-tls", "publicCrt": "tls.crt", "privateKey": "tls.key"}
    certificate = existing_example.one("Certificate", "minio-tls", "nuri-storage")
    assert certificate["spec"]["issuerRef"] == {"name": "minio-ca", "kind": "Issuer"}
    assert "minio.nuri-storage.svc.cluster.local" in certificate["spec"]["dnsNames"]
    assert existing_example.outputs["objectStoreUrl"].startswith("https://")
    assert values["mode"] == "distributed" and values["replicas"] == 4


def test_kuberay_and_kserve_values(minimal):
    assert minimal.release("kuberay-operator")["values"]["singleNamespaceInstall"] is False
    controller = minimal.release("kserve")["values"]["kserve"]["controller"]
    assert controller["deploymentMode"] == "Standard"
    assert controller["gateway"]["disableIngressCreation"] is True
    runtime = minimal.one("ClusterServingRuntime", "nuri-llm-vllm")
    assert "--backend=vllm" in runtime["spec"]["containers"][0]["args"]


def test_kubeflow_pipelines_pinned_and_wired_to_the_platform_store(minimal):
    # The mocks answer the kustomize git URLs with ../shared/upstream (tests/infra/test_infra_kfp.py has the rest).
    if not (SHARED_UPSTREAM / f"kfp-{DEFAULTS.pipelines_version}").is_dir():
        pytest.skip("../shared/upstream is absent (the upstream KFP renderings)")
    api_image = minimal.one("Deployment", "ml-pipeline", "kubeflow")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert api_image == f"ghcr.io/kubeflow/kfp-api-server:{DEFAULTS.pipelines_version}"
    assert minimal.one("CustomResourceDefinition", "workflows.argoproj.io")
    # Bundled MinIO, its volume and its demo credentials are gone; the platform's take their place.
    assert not [d for d in minimal.k8s("Deployment") if d["metadata"]["name"] == "minio"]
    assert [c["metadata"]["name"] for c in minimal.k8s("PersistentVolumeClaim", "kubeflow")] == ["mysql-pv-claim"]
    alias = minimal.one("Service", "minio-service", "kubeflow")["spec"]
    assert alias == {"type": "ExternalName", "externalName": "minio.nuri-storage.svc.cluster.local",
                     "ports": [{"name": "http", "port": 9000, "protocol": "TCP"}]}
    artifact = minimal.one("Secret", "mlpipeline-minio-artifact", "kubeflow")
    assert is_protected(artifact["stringData"]) and artifact["stringData"]["value"]["accesskey"] == "kubeflow-pipelines"
    assert minimal.one("ConfigMap", "pipeline-install-config", "kubeflow")["data"]["bucketName"] == "pipeline-artifacts"
    repo = minimal.one("ConfigMap", "workflow-controller-configmap", "kubeflow")["data"]["artifactRepository"]
    assert "bucket: pipeline-artifacts\n" in repo and "mlpipeline\n" not in repo
    assert minimal.one("Service", "ml-pipeline-ui", "kubeflow")["spec"].get("type", "ClusterIP") == "ClusterIP"
    api = minimal.one("Deployment", "ml-pipeline", "kubeflow")["spec"]["template"]["spec"]["containers"][0]
    assert api["securityContext"]["allowPrivilegeEscalation"] is False
    assert api["resources"]["limits"] == kfp_manifests.DEFAULT_LIMITS


def test_air_gapped_stack_takes_every_chart_and_image_from_the_mirror(existing_example):
    for name, inputs in existing_example.releases().items():
        assert inputs["chart"].startswith("oci://registry.gov.example/nuri-charts/"), name
        assert "repositoryOpts" not in inputs or not inputs["repositoryOpts"], name
    registry = "registry.gov.example/nuri-mirror/"
    values = existing_example.releases()
    assert values["minio"]["values"]["image"]["repository"] == registry + "minio/minio"
    assert values["kuberay-operator"]["values"]["image"]["repository"] == registry + "kuberay/operator"
    assert values["cert-manager"]["values"]["webhook"]["image"]["repository"] == registry + "jetstack/cert-manager-webhook"
    assert values["kserve"]["values"]["kserve"]["controller"]["image"] == registry + "kserve/kserve-controller"
    assert values["nvidia-device-plugin"]["values"]["image"]["repository"] == registry + "nvidia/k8s-device-plugin"
    images = [c["image"] for d in existing_example.k8s("Deployment") for c in d["spec"]["template"]["spec"]["containers"]]
    images += [c["image"] for c in existing_example.one("ClusterServingRuntime", "nuri-llm-vllm")["spec"]["containers"]]
    assert images and all(i.startswith(registry) for i in images), images


@pytest.mark.parametrize("mirror, expected", [
    ("", ("minio", "https://charts.min.io/")),
    ("https://charts.gov.example/nuri", ("minio", "https://charts.gov.example/nuri")),
    ("oci://registry.gov.example/charts/", ("oci://registry.gov.example/charts/minio", None)),
])
def test_chart_source_honours_the_mirror(mirror, expected):
    chart, opts = charts.release_source(charts.MINIO, config.PlatformConfig(chart_mirror=mirror))
    assert (chart, opts.repo if opts else None) == expected


@pytest.mark.parametrize("upstream, mirrored", [
    ("quay.io/minio/minio", "reg.gov/m/minio/minio"),
    ("docker.io/kserve/agent:v1", "reg.gov/m/kserve/agent:v1"),
    ("localhost:5000/x/y", "reg.gov/m/x/y"),
    ("kserve/agent", "reg.gov/m/kserve/agent"),
])
def test_image_mirroring_keeps_the_path(upstream, mirrored):
    assert charts.mirrored_image(upstream, "reg.gov/m/") == mirrored
    assert charts.mirrored_image(upstream, "") == upstream


def test_minio_accepts_connections_only_from_tenants_pipelines_and_itself(minimal):
    spec = minimal.one("NetworkPolicy", "minio-ingress", "nuri-storage")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "minio"}} and spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"nuri.io/tenant": "true"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kubeflow"}}}]
    assert spec["ingress"][1] == {"from": [{"podSelector": {}}]}
