"""The same pipeline definition compiles to KFP IR YAML for the cluster with GPU
requests, node selectors, tolerations, object-store secrets and the platform image;
the test reads the YAML back."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from nuri.cluster import names
from nuri_testing import REPO, WELFARE

TRAINING = {"pretrain", "sft", "reward-model", "ppo"}


# Credentials in the compiling user's environment, as on a platform engineer's laptop:
# none of them may travel into the package.
SECRETS = {"AWS_ACCESS_KEY_ID": "nuri-compile-access-7f3a", "AWS_SECRET_ACCESS_KEY": "nuri-compile-secret-9c1e",
           "NURI_API_KEY": "nuri-compile-api-key-2b8d", "NURI_OPEN_DATA_KEY": "nuri-compile-open-data-5e4f"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled") / "pipeline.yaml"
    proc = subprocess.run([sys.executable, "-m", "nuri", "compile", "--domain", str(WELFARE), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, **SECRETS})
    assert proc.returncode == 0, proc.stderr
    assert "local paths" in proc.stdout  # the sample's data is on local disk: the user is told
    note = next(line for line in proc.stdout.splitlines() if "local paths" in line)
    assert "data.corpus," in note and "storage.uri" in note
    assert "corpus_licence" not in note and "on_bad_input" not in note  # settings, not locations
    docs = list(yaml.safe_load_all(out.read_text()))
    return docs[0], (docs[1] if len(docs) > 1 else {})


def _executor(spec, task):
    comp = spec["root"]["dag"]["tasks"].get(task) or \
        spec["components"]["comp-condition-1"]["dag"]["tasks"][task]
    return spec["deploymentSpec"]["executors"][spec["components"][comp["componentRef"]["name"]]["executorLabel"]]


def test_every_stage_is_a_task(compiled):
    spec, _ = compiled
    root = set(spec["root"]["dag"]["tasks"])
    assert {"ingest", "prepare", "base-model", "evaluate", "condition-1"} | TRAINING <= root
    gated = spec["components"]["comp-condition-1"]["dag"]["tasks"]
    assert set(gated) == {"register", "selftest"}


def test_release_is_gated_on_evaluation(compiled):
    spec, _ = compiled
    cond = spec["root"]["dag"]["tasks"]["condition-1"]["triggerPolicy"]["condition"]
    assert "evaluate" in cond and "Output" in cond and "true" in cond.lower()


def test_training_tasks_request_gpus_and_platform_image(compiled):
    spec, _ = compiled
    for task in TRAINING:
        container = _executor(spec, task)["container"]
        assert container["image"] == "registry.nuri.local/nuri/platform:0.1.0"
        acc = container["resources"]["accelerator"]
        assert acc["resourceType"] == "nvidia.com/gpu" and int(acc["resourceCount"]) == 1
        assert container["resources"]["resourceMemoryLimit"] == "64Gi"
    assert "accelerator" not in _executor(spec, "ingest")["container"].get("resources", {})


def test_kubernetes_settings_carry_selectors_tolerations_and_secrets(compiled):
    _, platform = compiled
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert len(executors) == 12  # ten recipe steps, the safety classifier and the service assets
    for name, cfg in executors.items():
        secret = cfg["secretAsEnv"][0]
        # what infra/tenants.py creates per agency in kubeflow, where standalone KFP runs the steps
        assert secret["secretName"] == names.pipeline_object_store_secret("welfare")
        envs = {m["envVar"] for m in secret["keyToEnv"]}
        assert envs == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    training = [cfg for name, cfg in executors.items() if any(t.replace("-", "") in name.replace("-", "")
                                                              for t in ("pretrain", "sft", "rewardmodel", "ppo"))]
    assert len(training) == 4
    for cfg in training:
        assert cfg["nodeSelector"]["labels"] == {"nuri.io/pool": "gpu"}
        assert cfg["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_no_secret_values_in_the_package(compiled):
    spec, platform = compiled
    text = json.dumps([spec, platform])
    assert "AWS_SECRET_ACCESS_KEY" in text  # the variable name, mapped from the secret
    assert "secretkey" in text
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert not leaked, f"values of {leaked} from the compiling environment are in the package"


def test_domain_config_is_the_default_parameter(compiled):
    spec, _ = compiled
    default = spec["root"]["inputDefinitions"]["parameters"]["domain_config"]["defaultValue"]
    assert json.loads(default)["name"] == "welfare"
    assert spec["root"]["inputDefinitions"]["parameters"]["run_id"]["parameterType"] == "STRING"


def test_cluster_image_from_config(tmp_path):
    from nuri_testing import write_domain
    from nuri.compile import compile_pipeline
    from nuri.config import load_domain_config

    config = load_domain_config(write_domain(tmp_path, {"cluster": {"image": "harbor.gov.local/nuri/platform:1.2"}}))
    out = compile_pipeline(config, tmp_path / "p.yaml")
    spec = next(yaml.safe_load_all(out.read_text()))
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {"harbor.gov.local/nuri/platform:1.2"}


def test_only_location_fields_are_listed_as_local_paths():
    from nuri.compile import local_paths
    from nuri.config import load_domain_config

    config = load_domain_config(WELFARE)
    listed = local_paths(config)
    assert {"data.corpus", "data.sft", "data.preferences", "storage.uri"} <= set(listed)
    assert not {"data.corpus_licence", "data.on_bad_input"} & set(listed)
    assert all(not p.startswith("data.") or p.split(".")[1].split("[")[0] in
               {"corpus", "sft", "preferences", "safety", "offdomain", "guard_harmful", "knowledge_eval", "feedback",
                "sources", "bootstrap"} for p in listed), listed
    # In the cluster every location is an object-store URI: nothing to warn about.
    raw = config.model_dump()
    for key in ("corpus", "sft", "preferences", "safety", "offdomain", "guard_harmful", "knowledge_eval"):
        if raw["data"].get(key):
            raw["data"][key] = f"s3://agency-welfare/nuri/data/{key}"
    raw["storage"]["uri"] = names.agency_storage_uri("welfare")
    raw["evaluation"]["benchmarks"] = None
    assert local_paths(type(config).model_validate(raw)) == []
