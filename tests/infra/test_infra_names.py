"""The names the pipelines use are the ones the program creates: one definition
(nuri/cluster/names.py) read by both, checked here against what the Pulumi program
registers, the pipeline's config defaults and the rendered manifests/training/ RayJobs."""
import subprocess

import pytest
import yaml

from nuri.cluster import names
from nuri.config import ClusterConfig, DeployConfig, RayClusterConfig
from infra import pipelines
from nuri.k8s.policy import is_protected
from nuri_infra_mocks import MINIMAL, REPO_ROOT, render

AGENCIES = [entry.split()[0] for entry in MINIMAL["agencies"]]
TRAINING = sorted((REPO_ROOT / "manifests" / "training").glob("rayjob-*.yaml"))
# Names that were used on one side only, before names.py; none may come back. (A bare
# "nuri-system" stays legal: tests use it as any namespace a teacher model may live in.)
RETIRED = ["minio.nuri-system", "object-store-credentials", "s3://nuri-runs"]


def test_pipeline_config_defaults_are_the_shared_names():
    cluster, ray, deploy = ClusterConfig(), RayClusterConfig(), DeployConfig()
    # Steps (in kubeflow, standalone KFP) read the agency's pipeline secret; RayJob pods
    # (in the agency namespace) its own.
    assert cluster.object_store_secret is None
    assert cluster.step_secret("welfare") == names.pipeline_object_store_secret("welfare")
    assert ray.object_store_secret == names.OBJECT_STORE_SECRET
    assert ray.namespace is None and deploy.namespace is None  # the agency's: DomainConfig.cluster_namespace
    assert cluster.object_store_endpoint == names.object_store_url(secure=False)
    assert ray.service_account == names.TRAINING_SERVICE_ACCOUNT
    assert ray.priority_class == names.TRAINING_PRIORITY_CLASS
    assert deploy.service_account == names.MODEL_READER_SERVICE_ACCOUNT
    assert deploy.feedback_db_secret == names.FEEDBACK_DB_SECRET
    assert deploy.priority_class == names.SERVING_PRIORITY_CLASS


@pytest.mark.parametrize("agency", AGENCIES)
def test_the_program_creates_what_the_pipeline_refers_to(minimal, agency):
    namespace = names.agency_namespace(agency)
    secret = minimal.one("Secret", names.OBJECT_STORE_SECRET, namespace)
    assert is_protected(secret["stringData"])
    data = secret["stringData"]["value"]
    assert {names.ACCESS_KEY_KEY, names.SECRET_KEY_KEY} <= set(data)  # the keys the steps map to AWS_* env
    assert data["bucket"] == names.agency_bucket(agency)
    assert data["endpoint"] == ClusterConfig().object_store_endpoint
    minimal.one("ServiceAccount", names.TRAINING_SERVICE_ACCOUNT, namespace)
    minimal.one("ServiceAccount", names.MODEL_READER_SERVICE_ACCOUNT, namespace)
    minimal.one("Secret", names.FEEDBACK_DB_SECRET, namespace)
    # Standalone KFP: the steps run in kubeflow and read the agency's secret there.
    assert names.PIPELINES_NAMESPACE == pipelines.NAMESPACE
    steps = minimal.one("Secret", names.pipeline_object_store_secret(agency), names.PIPELINES_NAMESPACE)
    assert steps["stringData"]["value"] == data
    binding = minimal.one("RoleBinding", names.PIPELINE_RUNNER_ROLE, namespace)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": names.PIPELINE_RUNNER_SERVICE_ACCOUNT,
                                    "namespace": names.PIPELINES_NAMESPACE}]
    # The bucket exists, and the agency's MinIO user may use it and nothing else.
    values = minimal.release("minio")["values"]
    assert names.agency_bucket(agency) in [b["name"] for b in values["buckets"]]
    user = next(u for u in values["users"] if u["accessKey"] == data[names.ACCESS_KEY_KEY])
    policy = next(p for p in values["policies"] if p["name"] == user["policy"])
    assert {r.split(":::")[1].split("/")[0] for s in policy["statements"] for r in s["resources"]} == \
           {names.agency_bucket(agency)}


def test_the_object_store_answers_at_the_shared_address(minimal):
    release = minimal.release("minio")
    assert release["namespace"] == names.OBJECT_STORE_NAMESPACE
    assert release["values"]["fullnameOverride"] == names.OBJECT_STORE_SERVICE
    assert int(release["values"]["service"]["port"]) == names.OBJECT_STORE_PORT
    assert minimal.outputs["objectStoreUrl"] == names.object_store_url(secure=False)


def test_priority_classes_the_pods_name_exist():
    docs = list(yaml.safe_load_all((REPO_ROOT / "manifests/platform/cluster/priority-classes.yaml").read_text()))
    assert {d["metadata"]["name"] for d in docs if d} == {names.TRAINING_PRIORITY_CLASS, names.SERVING_PRIORITY_CLASS}


def _pods(job):
    cluster = job["spec"]["rayClusterSpec"]
    return [job["spec"]["submitterPodTemplate"]["spec"], cluster["headGroupSpec"]["template"]["spec"],
            *(group["template"]["spec"] for group in cluster["workerGroupSpecs"])]


@pytest.mark.parametrize("path", TRAINING, ids=lambda p: p.name)
def test_training_manifests_use_the_names_the_program_creates(path):
    job = yaml.safe_load(path.read_text())
    assert job["metadata"]["namespace"] == names.agency_namespace("welfare")
    work_uri = job["spec"]["entrypoint"].split("--work-uri ", 1)[1]
    assert work_uri.startswith(f"s3://{names.agency_bucket('welfare')}/")
    for pod in _pods(job):
        assert pod["serviceAccountName"] == names.TRAINING_SERVICE_ACCOUNT
        assert pod["priorityClassName"] == names.TRAINING_PRIORITY_CLASS
        for container in pod["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env.values() if "valueFrom" in e}
            assert refs <= {names.OBJECT_STORE_SECRET}
            if "NURI_S3_ENDPOINT" in env:
                assert env["NURI_S3_ENDPOINT"]["value"] == names.object_store_url(secure=False)


def test_retired_names_are_gone_from_the_repository():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    here = "tests/infra/test_infra_names.py"
    found = []
    for name in files:
        path = REPO_ROOT / name
        if name == here or path.suffix not in {".py", ".md", ".yaml", ".yml", ".ipynb", ".txt", ".toml"} \
                or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {old}" for old in RETIRED if old in text]
    assert found == []


def test_the_compiled_welfare_pipeline_reads_the_secret_the_program_makes_in_kubeflow(tmp_path):
    """Cluster mode, as an agency runs it: every step's secretAsEnv names welfare's secret in
    kubeflow (where standalone KFP runs it), and the program creates exactly that secret."""
    from kfp import compiler

    from nuri.config import load_domain_config
    from pipelines.reference import build_pipeline_for

    base = load_domain_config(REPO_ROOT / "domains" / "welfare.yaml")
    raw = base.model_dump()
    raw["storage"] = {"uri": names.agency_storage_uri("welfare")}
    raw["runtime"]["mode"] = "cluster"
    config = type(base).model_validate(raw)
    out = tmp_path / "welfare.yaml"
    compiler.Compiler().compile(build_pipeline_for(config), str(out))
    docs = list(yaml.safe_load_all(out.read_text()))
    executors = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    store_secrets = {s["secretName"] for cfg in executors.values() for s in cfg.get("secretAsEnv", [])
                     if {m["envVar"] for m in s["keyToEnv"]} == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}
    assert store_secrets == {names.pipeline_object_store_secret("welfare")}
    assert all(any(s["secretName"] in store_secrets for s in cfg.get("secretAsEnv", [])) for cfg in executors.values())
    # The program makes it where the steps run, for welfare's bucket only.
    secret = render({"agencies": ["welfare"]}).one("Secret", names.pipeline_object_store_secret("welfare"), names.PIPELINES_NAMESPACE)
    assert secret["stringData"]["value"]["bucket"] == names.agency_bucket("welfare")
    # The config the steps get keeps the default (None), and RayJobs/InferenceServices go to
    # the agency's namespace.
    assert config.cluster.object_store_secret is None
    assert config.cluster_namespace() == names.agency_namespace("welfare")


def test_every_sample_domain_has_its_tenant_in_the_reference_stack():
    """A domain runs in the tenant named after it; the on-premise example stack has one
    for each domain the repository ships (docs/onboarding.md, step 8)."""
    from nuri_infra_mocks import stack_config

    from infra import config as infra_config

    agencies = {a.name for a in infra_config.parse(stack_config("example-existing")).agency_list}
    domains = {yaml.safe_load(p.read_text(encoding="utf-8"))["name"] for p in (REPO_ROOT / "domains").glob("*.yaml")}
    assert domains == {"welfare", "law"} and domains <= agencies
