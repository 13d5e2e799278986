"""Kubeflow Pipelines as the platform applies it (infra/kfp_manifests.py, infra/pipelines.py),
checked against upstream's rendering of the pinned release in ../shared/upstream (nothing
from upstream is in the repository: the tests that need it skip when it is absent)."""
import dataclasses
import json

import pytest
import yaml

from infra import config, kfp_manifests as kfp, pod_security
from nuri.k8s import policy
from nuri.k8s.policy import is_protected
from nuri.cluster import names
from nuri_infra_mocks import MINIMAL, REPO_ROOT, SHARED_UPSTREAM, render, stack_config, unwrap

VERSION = config.PlatformConfig().pipelines_version
SHARED = SHARED_UPSTREAM / f"kfp-{VERSION}"
ABSENT = f"../shared/upstream/kfp-{VERSION} is absent (the upstream KFP renderings)"
needs_upstream = pytest.mark.skipif(not SHARED.is_dir(), reason=ABSENT)
STORE = kfp.Target(store_host="minio.nuri-storage.svc.cluster.local", store_port=9000, secure=False,
                   bucket="pipeline-artifacts")
MIRROR = "registry.gov.example/nuri-mirror"


def _read(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def upstream():
    """{file: objects} of upstream's rendering at the pinned tag."""
    if not SHARED.is_dir():
        pytest.skip(ABSENT)
    return {f: _read(SHARED / f) for f in kfp.KUSTOMIZE_DIRS}


def _applied(upstream, target=STORE):
    crds = kfp.crd_resources(upstream[kfp.CLUSTER_FILE])
    return kfp.patch(upstream[kfp.CLUSTER_FILE], target, crds), kfp.patch(upstream[kfp.ENV_FILE], target, crds)


def _by_key(objects):
    return {kfp.key(o): o for o in objects}


def _container(objects, deployment, name):
    spec = _by_key(objects)[("Deployment", deployment)]["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == name)


def _without_nulls(node):
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(v) for v in node]
    return node


def _env(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_the_crd_table_is_what_the_pinned_release_installs(upstream):
    assert kfp.crd_resources(upstream[kfp.CLUSTER_FILE]) == kfp.CRD_RESOURCES
    assert kfp.crd_resources(upstream[kfp.ENV_FILE]) == {}


def test_every_object_the_program_drops_or_patches_exists_upstream(upstream):
    present = set(_by_key(upstream[kfp.ENV_FILE] + upstream[kfp.CLUSTER_FILE]))
    assert kfp.DROPPED - present == set()
    assert kfp.PATCHED - present == set()


def test_each_patch_by_name_changes_its_object(upstream):
    before = _by_key(upstream[kfp.ENV_FILE])
    after = _by_key(_applied(upstream)[1])
    for obj in kfp.PATCHED:
        assert after[obj] != before[obj], obj


def test_the_store_bucket_and_pipeline_root_are_the_platforms(upstream):
    _, env = _applied(upstream)
    objects = _by_key(env)
    # KFP 2.5's launcher falls back to minio://mlpipeline/v2/artifacts when this is empty.
    launcher = objects[("ConfigMap", "kfp-launcher")]["data"]
    assert launcher["defaultPipelineRoot"] == "minio://pipeline-artifacts/v2/artifacts"
    minio = yaml.safe_load(launcher["providers"])["minio"]["default"]
    assert minio["endpoint"] == "minio.nuri-storage.svc.cluster.local:9000" and minio["disableSSL"] is True
    assert minio["credentials"] == {"fromEnv": False, "secretRef": {
        "secretName": kfp.ARTIFACT_SECRET, "accessKeyKey": "accesskey", "secretKeyKey": "secretkey"}}
    install = objects[("ConfigMap", "pipeline-install-config")]["data"]
    assert (install["bucketName"], install["defaultPipelineRoot"]) == ("pipeline-artifacts", launcher["defaultPipelineRoot"])
    repo = yaml.safe_load(objects[("ConfigMap", "workflow-controller-configmap")]["data"]["artifactRepository"])
    assert repo["s3"]["bucket"] == "pipeline-artifacts" and repo["s3"]["insecure"] is True
    assert repo["s3"]["endpoint"] == "minio.nuri-storage.svc.cluster.local:9000" and "caSecret" not in repo["s3"]
    # Every client names the store itself; the alias serves only what is left on KFP's default.
    assert objects[("Service", "minio-service")]["spec"]["externalName"] == STORE.store_host
    api = _env(_container(env, "ml-pipeline", "ml-pipeline-api-server"))
    assert (api["OBJECTSTORECONFIG_HOST"], api["OBJECTSTORECONFIG_PORT"]) == (STORE.store_host, "9000")
    ui = _env(_container(env, "ml-pipeline-ui", "ml-pipeline-ui"))
    assert (ui["MINIO_HOST"], ui["MINIO_NAMESPACE"], ui["MINIO_PORT"]) == (STORE.store_host, "", "9000")
    assert ui["ARGO_ARCHIVE_BUCKETNAME"] == "pipeline-artifacts" and ui["MINIO_SSL"] == "false"
    text = json.dumps(env)  # upstream's bucket appears nowhere (its database of that name stays)
    assert "minio://mlpipeline" not in text and 'bucket: \\"mlpipeline\\"' not in text


CA = kfp.CaBundle(configmap="nuri-object-store-ca", key="ca.crt", mount="/etc/nuri/object-store-ca",
                  secret="nuri-object-store-ca")


def _mounts_ca(objects, deployment, container):
    spec = _by_key(objects)[("Deployment", deployment)]["spec"]["template"]["spec"]
    volume = next(v["name"] for v in spec["volumes"] if v.get("configMap", {}).get("name") == CA.configmap)
    return {"name": volume, "mountPath": CA.mount, "readOnly": True} in _container(objects, deployment,
                                                                                   container)["volumeMounts"]


def test_a_tls_store_is_reached_over_tls_and_its_ca_trusted_everywhere(upstream):
    _, env = _applied(upstream, dataclasses.replace(STORE, secure=True, ca=CA))
    objects = _by_key(env)
    assert yaml.safe_load(objects[("ConfigMap", "kfp-launcher")]["data"]["providers"])["minio"]["default"]["disableSSL"] is False
    repo = yaml.safe_load(objects[("ConfigMap", "workflow-controller-configmap")]["data"]["artifactRepository"])
    assert repo["s3"]["insecure"] is False and repo["s3"]["caSecret"] == {"name": CA.secret, "key": CA.key}
    api = _env(_container(env, "ml-pipeline", "ml-pipeline-api-server"))
    assert api["OBJECTSTORECONFIG_SECURE"] == "true" and api["SSL_CERT_FILE"] == CA.file
    # What KFP 2.5's Argo compiler reads to give every pipeline step the CA.
    assert (api["EXECUTOR_CABUNDLE_CONFIGMAP_NAME"], api["EXECUTOR_CABUNDLE_CONFIGMAP_KEY"],
            api["EXECUTOR_CABUNDLE_MOUNTPATH"]) == (CA.configmap, CA.key, CA.mount)
    ui = _env(_container(env, "ml-pipeline-ui", "ml-pipeline-ui"))
    assert ui["MINIO_SSL"] == "true" and ui["NODE_EXTRA_CA_CERTS"] == CA.file
    assert _mounts_ca(env, "ml-pipeline", "ml-pipeline-api-server") and _mounts_ca(env, "ml-pipeline-ui", "ml-pipeline-ui")
    assert pod_security.check(env, {kfp.NAMESPACE: "restricted"}) == []  # a ConfigMap volume is allowed


def test_crds_and_nothing_else_cluster_wide(upstream):
    cluster_scoped, env = _applied(upstream)
    crds = {o["metadata"]["name"] for o in cluster_scoped if o["kind"] == "CustomResourceDefinition"}
    assert {"workflows.argoproj.io", "scheduledworkflows.kubeflow.org", "viewers.kubeflow.org",
            "applications.app.k8s.io"} <= crds
    assert {o["kind"] for o in cluster_scoped} == {"CustomResourceDefinition"}
    # In the namespaced rendering only the workflow controller's PriorityClass is cluster-wide.
    assert [kfp.key(o) for o in env if "namespace" not in o["metadata"]] == [("PriorityClass", "workflow-controller")]


def test_every_kfp_pod_passes_restricted_and_so_its_baseline_namespace(upstream):
    cluster_scoped, env = _applied(upstream)
    pods = [o for o in env if pod_security.pod_template(o)]
    assert len(pods) == 12  # upstream's 14 Deployments less MinIO and the cache deployer
    assert pod_security.check(env, {kfp.NAMESPACE: "baseline"}) == []
    assert pod_security.check(env, {kfp.NAMESPACE: "restricted"}) == []


def test_upstream_as_is_fails_where_the_issue_says(upstream):
    """The checker sees the cache deployer: no securityContext at all."""
    violations = pod_security.check(upstream[kfp.ENV_FILE], {kfp.NAMESPACE: "restricted"})
    assert violations and all(v.startswith("Deployment kubeflow/cache-deployer-deployment:") for v in violations)


def test_hardening_never_forces_a_non_root_user_upstream_did_not_declare(upstream):
    """How the cache deployer broke: runAsNonRoot on an image that runs as root is refused by the kubelet."""
    def declared(objects):
        result = {}
        for obj in objects:
            template = pod_security.pod_template(obj)
            if template:
                pod_ctx = template[1].get("securityContext", {})
                for c in template[1].get("containers", []):
                    result[(obj["metadata"]["name"], c["name"])] = (
                        c.get("securityContext", {}).get("runAsNonRoot", pod_ctx.get("runAsNonRoot")),
                        c.get("securityContext", {}).get("runAsUser", pod_ctx.get("runAsUser")))
        return result
    before, after = declared(upstream[kfp.ENV_FILE]), declared(_applied(upstream)[1])
    assert after == {k: v for k, v in before.items() if k in after}
    bare = {"name": "x"}  # a container without any securityContext, like the cache deployer's
    kfp.harden(bare, {})
    assert bare["securityContext"] == {"allowPrivilegeEscalation": False, "privileged": False,
                                       "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert bare["resources"] == {"limits": kfp.DEFAULT_LIMITS}


def test_the_cache_server_gets_its_certificate_from_cert_manager(upstream):
    cluster_scoped, env = _applied(upstream)
    objects = _by_key(env)
    # No root container, no ClusterRole that creates and approves CSRs.
    assert kfp.CACHE_DEPLOYER <= set(_by_key(upstream[kfp.ENV_FILE] + upstream[kfp.CLUSTER_FILE]))
    assert not kfp.CACHE_DEPLOYER & set(_by_key(cluster_scoped + env))
    issuer, certificate, webhook = kfp.cache_webhook_tls()
    volumes = objects[("Deployment", "cache-server")]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "webhook-tls-certs", "secret": {"secretName": certificate["spec"]["secretName"]}} in volumes
    service = objects[("Service", "cache-server")]
    assert f"cache-server.{kfp.NAMESPACE}.svc" in certificate["spec"]["dnsNames"]
    target = webhook["webhooks"][0]["clientConfig"]["service"]
    assert (target["name"], target["namespace"]) == (service["metadata"]["name"], service["metadata"]["namespace"])
    assert 443 in [p["port"] for p in service["spec"]["ports"]]  # the port a webhook service defaults to
    assert webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == f"{kfp.NAMESPACE}/kfp-cache-cert"
    assert certificate["spec"]["issuerRef"]["name"] == issuer["metadata"]["name"]


def test_mysql_has_a_password_and_every_client_reads_it_from_the_secret(upstream):
    _, env = _applied(upstream)
    mysql = _env(_container(env, "mysql", "mysql"))
    assert "MYSQL_ALLOW_EMPTY_PASSWORD" not in mysql
    assert mysql["MYSQL_ROOT_PASSWORD"] == {"secretKeyRef": {"name": kfp.MYSQL_SECRET, "key": "password"}}
    readers = [(o["metadata"]["name"], c["name"]) for o in env for c in kfp.pod_containers(o)
               if kfp.MYSQL_SECRET in json.dumps(c.get("env", []))]
    assert len(readers) >= 4  # API server, cache server, ML Metadata, mysql itself


def test_rbac_wildcards_become_the_same_grants_spelled_out(upstream):
    cluster_scoped, env = _applied(upstream)
    installed = kfp.crd_resources(upstream[kfp.CLUSTER_FILE])
    assert policy.wildcard_rbac(cluster_scoped + env) == []
    before = {kfp.key(o): o for o in upstream[kfp.ENV_FILE] if o["kind"] == "Role"}

    def grants(rules):
        for rule in rules:
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule.get("verbs", []):
                        yield group, resource, verb

    for role in (o for o in env if o["kind"] == "Role"):
        granted = set(grants(role["rules"]))
        for group, resource, verb in grants(before[kfp.key(role)]["rules"]):
            groups = sorted({kfp.BUILTIN_GROUPS[resource]}) if group == "*" else [group]
            resources = installed.get(group, []) if resource == "*" else [resource]
            verbs = kfp.ALL_VERBS if verb == "*" else [verb]
            assert {(g, r, v) for g in groups for r in resources for v in verbs} <= granted, (role["metadata"]["name"],
                                                                                             group, resource, verb)


def test_air_gapped_every_image_reference_is_mirrored(upstream):
    cluster_scoped, env = _applied(upstream, dataclasses.replace(STORE, image_registry=MIRROR))
    references = [ref for o in env for ref in kfp.image_references(o)]
    assert {"Deployment ml-pipeline container 'ml-pipeline-api-server' env V2_DRIVER_IMAGE",
            "Deployment ml-pipeline container 'ml-pipeline-api-server' env V2_LAUNCHER_IMAGE",
            "Deployment ml-pipeline-ui container 'ml-pipeline-ui' env VIEWER_TENSORBOARD_TF_IMAGE_NAME",
            "Deployment workflow-controller container 'workflow-controller' arg --executor-image",
            "ConfigMap pipeline-install-config cacheImage"} <= {where for where, _ in references}
    assert all(image.startswith(MIRROR + "/") for _, image in references), references
    # Nothing anywhere in the applied objects still names an upstream registry.
    assert kfp.upstream_images(cluster_scoped + env) == []
    # The catch-all does find them without a mirror (so the assertion above can fail).
    assert "quay.io/argoproj/argoexec:v3.5.14" in kfp.upstream_images(_applied(upstream)[1])


def test_the_program_applies_exactly_these_objects(existing_example, upstream):
    """Under Pulumi's mocks: the CRDs, the cache certificate and KFP's objects exactly as
    patched, the namespace at baseline, the two generated secrets and MinIO's CA."""
    applied = existing_example.manifests()
    namespaced = [o for o in applied if (o.get("metadata") or {}).get("namespace") == kfp.NAMESPACE]
    cluster_scoped, env = _applied(upstream, kfp.Target(
        "minio.nuri-storage.svc.cluster.local", 9000, True, "pipeline-artifacts", MIRROR, CA))
    expected = {kfp.key(o) for o in env + kfp.cache_webhook_tls() if "namespace" in o["metadata"]}
    tenants = {("Secret", names.pipeline_object_store_secret(a.split()[0]))  # infra/tenants.py, one per agency
               for a in stack_config("example-existing")["agencies"]}
    assert {kfp.key(o) for o in namespaced} - tenants == expected | {
        ("Secret", kfp.ARTIFACT_SECRET), ("Secret", kfp.MYSQL_SECRET),  # generated
        ("ConfigMap", CA.configmap), ("Secret", CA.secret)}  # MinIO's CA (the example serves TLS)
    ca = existing_example.one("Secret", CA.secret, kfp.NAMESPACE)["stringData"]["value"][CA.key]
    assert ca == existing_example.one("ConfigMap", CA.configmap, kfp.NAMESPACE)["data"][CA.key]
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    registered = {kfp.key(o): unwrap(o) for o in applied}
    for obj in cluster_scoped + env:  # what kfp_manifests computes (Pulumi's inputs leave out status and nulls)
        expected_obj = _without_nulls({k: v for k, v in obj.items() if k != "status"})
        assert registered[kfp.key(obj)] == expected_obj, kfp.key(obj)
    ns = existing_example.one("Namespace", kfp.NAMESPACE)
    assert ns["metadata"]["labels"][pod_security.ENFORCE_LABEL] == "baseline"
    for name, keys in ((kfp.ARTIFACT_SECRET, {"accesskey", "secretkey"}), (kfp.MYSQL_SECRET, {"username", "password"})):
        secret = existing_example.one("Secret", name, kfp.NAMESPACE)
        assert is_protected(secret["stringData"]) and set(secret["stringData"]["value"]) == keys
    assert existing_example.one("Secret", kfp.MYSQL_SECRET, kfp.NAMESPACE)["stringData"]["value"]["password"] != ""
    assert pod_security.check(namespaced, pod_security.namespace_levels(applied)) == []


@needs_upstream
def test_agency_namespaces_hold_no_kfp_launcher_config(minimal):
    """Standalone KFP runs every pipeline in its own namespace and reads only its launcher config."""
    launchers = [c["metadata"].get("namespace") for c in minimal.k8s("ConfigMap") if c["metadata"]["name"] == "kfp-launcher"]
    assert launchers == [kfp.NAMESPACE]
    assert not minimal.k8s("Profile")


def _kustomize_dirs(rendered):
    # Sorted: the provider's two invokes are asynchronous, so their order varies run to run.
    return sorted(args["directory"] for token, args in rendered.invokes if token == "kubernetes:kustomize:directory")


def test_the_manifests_are_fetched_at_the_pinned_tag(minimal, existing_example):
    """Pulumi's git retrieval reads only the URL path: the tag must be a /tree/<tag>/ segment."""
    assert _kustomize_dirs(minimal) == [
        f"https://github.com/kubeflow/pipelines/tree/{VERSION}/manifests/kustomize/cluster-scoped-resources",
        f"https://github.com/kubeflow/pipelines/tree/{VERSION}/manifests/kustomize/env/platform-agnostic"]
    mirrored = _kustomize_dirs(existing_example)  # the air-gapped example names a git mirror
    assert len(mirrored) == 2 and all(f"/tree/{VERSION}/manifests/kustomize/" in url and "?" not in url
                                      and not url.startswith("https://github.com/") for url in mirrored)
    other = _kustomize_dirs(render({"pipelinesVersion": "2.4.1"}))
    assert other and all("/tree/2.4.1/" in url for url in other)


def test_only_release_tags_can_be_pinned():
    for bad in ("master", "v2.5.0", "2.5"):
        with pytest.raises(config.ConfigError, match="is not a Kubeflow Pipelines release tag"):
            render({"pipelinesVersion": bad})
    with pytest.raises(config.ConfigError, match="give the mirror's repository URL only"):
        render({"pipelinesManifests": "https://git.example/kfp/manifests/kustomize/env/platform-agnostic?ref=2.5.0"})


def test_a_local_rendering_is_applied_with_the_same_changes(minimal, upstream):
    """nuri:pipelinesManifests naming a folder (infra/kfp/render.sh output): ConfigGroup files."""
    local = render({**MINIMAL, "pipelinesManifests": str(SHARED)})
    assert _kustomize_dirs(local) == []
    key = lambda r: {kfp.key(o): unwrap(o) for o in r.manifests() if (o.get("metadata") or {}).get("namespace") == kfp.NAMESPACE}
    assert key(local) == key(minimal)
    with pytest.raises(ValueError, match="not found; render Kubeflow Pipelines"):
        render({"pipelinesManifests": str(SHARED / "missing")})


def test_a_rendering_of_another_release_is_refused(upstream):
    env = [dict(o) for o in upstream[kfp.ENV_FILE]]
    with pytest.raises(ValueError, match="not release 2.4.1: ml-pipeline runs 'ghcr.io/kubeflow/kfp-api-server:2.5.0'"):
        kfp.patch(env, STORE, version="2.4.1")
    assert kfp.patch(env, STORE, version=VERSION)


def test_the_readme_names_every_image_an_air_gapped_mirror_needs(upstream):
    readme = (REPO_ROOT / "infra" / "README.md").read_text()
    _, env = _applied(upstream)
    for image in {image for o in env for _, image in kfp.image_references(o)}:
        path = kfp.mirrored_image(image, "m").removeprefix("m/")
        assert f"`{path}`" in readme or f"`{path.partition(':')[0]}`" in readme, path  # tags may be grouped
