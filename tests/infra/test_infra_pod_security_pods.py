"""Every pod the platform's charts and workloads create passes the Pod Security level of
its namespace (infra/pod_security.py).

Helm cannot run here, so for each chart the pod's security fields are assembled from the
values the program gives it merged over the chart's defaults (../shared/upstream/
chart-values), the way that chart's templates at the pinned version map them (named per
case). Platform-rendered workloads (the feedback database, RayJobs) are checked as
rendered."""
import copy

import pytest
import yaml

from infra import feedback_db, minio, pod_security
from nuri.cluster import names, rayjob
from nuri.config import DomainConfig
from nuri_infra_mocks import REPO_ROOT, unwrap

CHART_VALUES = REPO_ROOT.parent / "shared" / "upstream" / "chart-values"
needs_charts = pytest.mark.skipif(
    not CHART_VALUES.is_dir(),
    reason="../shared/upstream/chart-values is absent: the pinned charts' default values.yaml are needed offline")


def _defaults(name: str) -> dict:
    return yaml.safe_load((CHART_VALUES / f"{name}.values.yaml").read_text())


def helm_merge(defaults: dict, values: dict) -> dict:
    """Helm's coalescing: maps merge key by key, anything else (lists too) replaces."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _omit_enabled(ctx: dict) -> dict:
    return {k: v for k, v in ctx.items() if k != "enabled"}


def minio_post_job_pod(values: dict) -> dict:
    """The bucket/user/policy hook's pod, as minio 5.4.0 templates/post-job.yaml builds it."""
    v = helm_merge(_defaults("minio-5.4.0"), values)
    spec: dict = {"restartPolicy": "OnFailure", "initContainers": [], "containers": [],
                  "volumes": [{"name": "etc-path", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}},
                              {"name": "minio-configuration", "projected": {"sources": []}}]}
    if v["postJob"]["securityContext"]["enabled"]:
        spec["securityContext"] = _omit_enabled(v["postJob"]["securityContext"])
    if v["tls"]["enabled"]:
        spec["volumes"].append({"name": "cert-secret-volume-mc", "secret": {"secretName": v["tls"]["certSecret"]}})

    def container(name: str, group: str) -> dict:
        c = {"name": name, "image": f"{v['mcImage']['repository']}:{v['mcImage']['tag']}"}
        if v[group]["securityContext"]["enabled"] and v[group].get("containerSecurityContext"):
            c["securityContext"] = v[group]["containerSecurityContext"]
        return c

    if v["policies"]:
        spec["initContainers"].append(container("minio-make-policy", "makePolicyJob"))
    for key, name, group in (("buckets", "minio-make-bucket", "makeBucketJob"), ("users", "minio-make-user", "makeUserJob"),
                             ("customCommands", "minio-custom-command", "customCommandJob"),
                             ("svcaccts", "minio-make-svcacct", "makeServiceAccountJob")):
        if v.get(key):
            spec["containers"].append(container(name, group))
    return spec


def minio_server_pod(values: dict) -> dict:
    """The server pod, as templates/statefulset.yaml (and deployment.yaml) build it."""
    v = helm_merge(_defaults("minio-5.4.0"), values)
    container = {"name": "minio", "image": f"{v['image']['repository']}:{v['image']['tag']}"}
    spec: dict = {"containers": [container], "volumes": [{"name": "export", "persistentVolumeClaim": {"claimName": "x"}},
                                                        {"name": "minio-user", "secret": {"secretName": "x"}}]}
    if v["securityContext"]["enabled"] and v["persistence"]["enabled"]:
        spec["securityContext"] = _omit_enabled(v["securityContext"])
        container["securityContext"] = v["containerSecurityContext"]
    return spec


@needs_charts
@pytest.mark.parametrize("stack", ["minimal", "existing_example"])
def test_minio_post_install_job_passes_restricted(stack, request):
    values = unwrap(request.getfixturevalue(stack).release("minio")["values"])
    pod = minio_post_job_pod(values)
    assert {c["name"] for c in pod["initContainers"] + pod["containers"]} == {
        "minio-make-policy", "minio-make-bucket", "minio-make-user"}
    assert pod_security.pod_violations(pod, "restricted") == []


@needs_charts
def test_minio_post_install_job_with_the_chart_defaults_is_refused(minimal):
    """What failed on a real cluster: without the job security values the hook's pod is refused."""
    values = unwrap(minimal.release("minio")["values"])
    bare = {k: v for k, v in values.items() if k != "postJob" and k not in minio.JOB_GROUPS}
    violations = pod_security.pod_violations(minio_post_job_pod(bare), "restricted")
    assert any("minio-make-bucket" in v for v in violations)
    assert any("seccomp" in v.lower() for v in violations)


@needs_charts
@pytest.mark.parametrize("stack", ["minimal", "existing_example"])
def test_minio_servers_pass_restricted(stack, request):
    values = unwrap(request.getfixturevalue(stack).release("minio")["values"])
    assert pod_security.pod_violations(minio_server_pod(values), "restricted") == []


@needs_charts
def test_operator_pods_of_the_other_restricted_namespaces_pass(minimal):
    """KubeRay (templates/deployment.yaml: podSecurityContext, securityContext), KServe's
    controller (manager + kube-rbac-proxy), cert-manager's four pods (securityContext,
    containerSecurityContext each): chart defaults merged with the program's values."""
    kuberay = helm_merge(_defaults("kuberay-operator-1.7.0"), unwrap(minimal.release("kuberay-operator")["values"]))
    pods = {"kuberay-operator": {"securityContext": kuberay["podSecurityContext"],
                                 "containers": [{"name": "kuberay-operator", "securityContext": kuberay["securityContext"]}]}}
    kserve = helm_merge(_defaults("kserve-v0.20.0"), unwrap(minimal.release("kserve")["values"]))["kserve"]["controller"]
    pods["kserve-controller"] = {"securityContext": kserve["securityContext"], "containers": [
        {"name": "manager", "securityContext": kserve["containerSecurityContext"]},
        {"name": "kube-rbac-proxy", "securityContext": kserve["rbacProxy"]["securityContext"]}]}
    cm = helm_merge(_defaults("cert-manager-v1.18.2"), unwrap(minimal.release("cert-manager")["values"]))
    for component, v in {"controller": cm, "webhook": cm["webhook"], "cainjector": cm["cainjector"],
                         "startupapicheck": cm["startupapicheck"]}.items():
        pods[f"cert-manager-{component}"] = {"securityContext": v["securityContext"],
                                             "containers": [{"name": component, "securityContext": v["containerSecurityContext"]}]}
    levels = {ns["metadata"]["name"]: ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for ns in minimal.k8s("Namespace")}
    assert levels["kuberay-system"] == levels["kserve"] == levels["cert-manager"] == "restricted"
    assert {name: pod_security.pod_violations(pod, "restricted") for name, pod in pods.items()} == \
           {name: [] for name in pods}


def test_the_kserve_storage_initializer_passes_restricted_on_its_own(minimal):
    """KServe injects it into every predictor pod; it must pass even where the pod sets no seccomp."""
    ctx = unwrap(minimal.release("kserve")["values"])["kserve"]["storage"]["containerSecurityContext"]
    pod = {"initContainers": [{"name": "storage-initializer", "securityContext": ctx}],
           "containers": [{"name": "kserve-container", "securityContext": ctx}]}
    assert pod_security.pod_violations(pod, "restricted") == []


@pytest.mark.parametrize("stack", ["minimal", "existing_example"])
def test_feedback_database_and_its_setup_jobs_pass_their_namespace(stack, request):
    rendered = request.getfixturevalue(stack)
    objects = [o for o in rendered.manifests() if (o.get("metadata") or {}).get("namespace") == feedback_db.NAMESPACE]
    assert [o for o in objects if o["kind"] in ("StatefulSet", "Job")] or stack == "existing_example"
    levels = pod_security.namespace_levels(rendered.manifests())
    assert levels[feedback_db.NAMESPACE] == "restricted"
    assert pod_security.check(objects, levels) == []


def _rayjob_pods(job: dict) -> dict[str, dict]:
    cluster = job["spec"]["rayClusterSpec"]
    return {"submitter": job["spec"]["submitterPodTemplate"]["spec"],
            "head": cluster["headGroupSpec"]["template"]["spec"],
            "worker": cluster["workerGroupSpecs"][0]["template"]["spec"]}


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu"])
@pytest.mark.parametrize("endpoint", ["http", "https"])
def test_rayjob_pods_pass_restricted_in_the_agency_namespace(gpu, endpoint, minimal):
    config = rayjob.example_config(gpu)
    if endpoint == "https":
        raw = config.model_dump()
        raw["cluster"]["object_store_endpoint"] = names.object_store_url(secure=True)
        config = DomainConfig.model_validate(raw)
    job = rayjob.render_rayjob(config, stage="sft", run_id="r1", work_uri="s3://agency-welfare/nuri/jobs/x")
    assert minimal.one("Namespace", "agency-health")["metadata"]["labels"][pod_security.ENFORCE_LABEL] == "restricted"
    assert {role: pod_security.pod_violations(pod, "restricted") for role, pod in _rayjob_pods(job).items()} == \
           {"submitter": [], "head": [], "worker": []}
