"""The KFP SDK the project compiles with, against the backend the platform installs
(infra/kfp_ir.py): the IR's schema and SDK versions against the recorded pairing, and every
key of the Kubernetes platform spec against the fields backend 2.5.0 declares."""
import copy

import kfp
import pytest
import yaml
from kfp import compiler, dsl, kubernetes

from infra import config, kfp_ir

BACKEND = config.PlatformConfig().pipelines_version


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def step(x: int) -> int:
    return x


def _compile(tmp_path, pipeline) -> list[dict]:
    out = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(out))
    return list(yaml.safe_load_all(out.read_text()))


def _labelled_pipeline(optional):
    """One task that reads a secret as env and carries a pod label (the retrain trigger's shape)."""
    @dsl.pipeline(name="pairing")
    def pairing(x: int = 1):
        task = step(x=x)
        if optional == "default":
            kubernetes.use_secret_as_env(task, secret_name="s", secret_key_to_env={"k": "K"})
        else:
            kubernetes.use_secret_as_env(task, secret_name="s", secret_key_to_env={"k": "K"}, optional=optional)
        kubernetes.add_pod_label(task, label_key="nuri.io/feedback-db-client", label_value="true")
    return pairing


def test_the_pinned_backend_has_a_recorded_pairing_with_the_installed_sdk():
    backend = kfp_ir.BACKENDS[BACKEND]
    assert kfp.__version__ in backend.checked_sdks
    assert backend.released_with_sdk != kfp.__version__  # not a released pair: hence the checks below


# What kfp-kubernetes 2.17's proto declares beyond backend 2.5.0's (the allow-list).
NEWER_THAN_2_5_0 = {"securityContext": None, "secretAsEnv": {"optional"}, "configMapAsEnv": {"optional"},
                    "pvcMount": {"subPath"}, "nodeAffinity": {"nodeAffinityJson"}}


def _fields(message) -> set[str]:
    return {f.json_name for f in message.DESCRIPTOR.fields}


def test_the_allow_list_is_the_installed_kfp_kubernetes_less_what_came_after_2_5_0():
    """Every field the allow-list names exists in kfp-kubernetes 2.17's proto; what 2.17 has
    beyond it is what is known to be newer than backend 2.5.0."""
    from kfp.kubernetes import kubernetes_executor_config_pb2 as pb

    installed = _fields(pb.KubernetesExecutorConfig)
    assert installed - set(kfp_ir.EXECUTOR_FIELDS) == {f for f in NEWER_THAN_2_5_0 if f not in kfp_ir.EXECUTOR_FIELDS}
    assert set(kfp_ir.EXECUTOR_FIELDS) <= installed
    for field, allowed in kfp_ir.EXECUTOR_FIELDS.items():
        entry = pb.KubernetesExecutorConfig.DESCRIPTOR.fields_by_name[
            next(f.name for f in pb.KubernetesExecutorConfig.DESCRIPTOR.fields if f.json_name == field)].message_type
        if allowed is None:
            assert entry is None, field
            continue
        newer = {f.json_name for f in entry.fields} - allowed
        assert allowed <= {f.json_name for f in entry.fields}, field
        assert newer == NEWER_THAN_2_5_0.get(field, set()), field
    assert _fields(pb.SecretAsEnv.SecretKeyToEnvMap) == kfp_ir.NESTED_FIELDS[("secretAsEnv", "keyToEnv")]


def test_a_plain_pipeline_from_this_sdk_is_accepted(tmp_path):
    @dsl.pipeline(name="plain")
    def plain(x: int = 1):
        with dsl.If(step(x=x).output == 1):
            step(x=x).set_caching_options(False).set_cpu_limit("1").set_memory_limit("1G")

    assert kfp_ir.rejections(_compile(tmp_path, plain), BACKEND) == []


def test_secret_env_with_the_sdks_default_loses_the_tasks_pod_labels(tmp_path):
    """kfp-kubernetes 2.17 writes `optional: false`, unknown to backend 2.5.0: its Argo
    compiler then drops the task's pod labels (the driver still sets the secret)."""
    rejected = kfp_ir.rejections(_compile(tmp_path, _labelled_pipeline("default")), BACKEND)
    assert rejected == [f"kubernetes config of exec-step: secretAsEnv.optional is unknown to backend {BACKEND} "
                        f"({kfp_ir.CONSEQUENCES[('secretAsEnv', 'optional')]})"]
    documents = _compile(tmp_path, _labelled_pipeline(None))
    executor = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-step"]
    assert "optional" not in executor["secretAsEnv"][0]
    assert kfp_ir.rejections(documents, BACKEND) == []


def test_schema_sdk_and_unknown_fields_are_refused(tmp_path):
    documents = _compile(tmp_path, _labelled_pipeline(None))
    newer = copy.deepcopy(documents)
    newer[0]["schemaVersion"] = "2.2.0"
    executor = newer[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-step"]
    executor["securityContext"] = {"runAsUser": 1000}  # kfp-kubernetes 2.17's add_security_context (hypothetical use)
    executor["secretAsEnv"][0]["keyToEnv"][0]["extra"] = 1
    executor["podMetadata"]["labels"]["anything"] = "goes"  # a map: free-form
    assert kfp_ir.rejections(newer, BACKEND) == [
        f"schemaVersion 2.2.0 (backend {BACKEND} accepts only 2.1.0)",
        f"kubernetes config of exec-step: secretAsEnv.keyToEnv.extra is unknown to backend {BACKEND}",
        f"kubernetes config of exec-step: securityContext is unknown to backend {BACKEND}"]
    other_sdk = copy.deepcopy(documents)
    other_sdk[0]["sdkVersion"] = "kfp-2.99.0"
    assert kfp_ir.rejections(other_sdk, BACKEND)[0].startswith(f"sdkVersion kfp-2.99.0 is not checked against backend {BACKEND}")
    assert kfp_ir.rejections(documents, "9.9.9") == [
        "no SDK pairing is recorded for Kubeflow Pipelines 9.9.9 (infra/kfp_ir.py BACKENDS)"]


@pytest.fixture(scope="module")
def project_pipelines(tmp_path_factory):
    """The project's own pipelines, compiled for the cluster with every optional step."""
    from nuri.config import load_domain_config
    from nuri_testing import TINY_OVERRIDES, deep_merge, write_domain
    from pipelines.reference import build_pipeline_for
    from pipelines.retrain_trigger import build_trigger_pipeline

    tmp = tmp_path_factory.mktemp("kfp-pairing")
    overrides = {"runtime": {"mode": "cluster"}, "deploy": {"enabled": True, "feedback_db_secret": "nuri-feedback-db"}}
    domain = load_domain_config(write_domain(tmp, deep_merge(TINY_OVERRIDES, overrides)))
    return {"reference": _compile(tmp, build_pipeline_for(domain)),
            "retrain-trigger": _compile(tmp_path_factory.mktemp("trigger"), build_trigger_pipeline(domain))}


@pytest.mark.parametrize("name", ["reference", "retrain-trigger"])
def test_the_projects_pipelines_run_on_the_pinned_backend_as_compiled(project_pipelines, name):
    assert kfp_ir.rejections(project_pipelines[name], BACKEND) == []
    executors = project_pipelines[name][1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert any("secretAsEnv" in e for e in executors.values())  # the check has something to see
