"""Every raw manifest under manifests/ validates offline: core kinds with
kubernetes-validate (strict), custom resources against the CRDs in ../shared/crds."""
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from nuri.k8s import crd_schema
from nuri_infra_mocks import REPO_ROOT

CRDS_DIR = crd_schema.find_crds_dir()
needs_crds = pytest.mark.skipif(CRDS_DIR is None, reason="../shared/crds is absent: CRD schemas unavailable offline")
# Not Kubernetes objects even though they carry apiVersion/kind.
TOOLING_KINDS = {"Kustomization", "Component"}


def _load(path):
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except yaml.YAMLError as error:  # reported by the test, not as a collection error
        return [{"__unparsable__": " ".join(str(error).split())}]


def _is_core(api_version: str) -> bool:
    group = api_version.split("/")[0] if "/" in api_version else ""
    return "." not in group or group.endswith(".k8s.io")


DOCUMENTS = [(path.relative_to(REPO_ROOT), index, doc)
             for path in sorted((REPO_ROOT / "manifests").rglob("*.y*ml"))
             for index, doc in enumerate(_load(path))
             if doc.get("kind") not in TOOLING_KINDS]
CORE = [d for d in DOCUMENTS if _is_core(d[2].get("apiVersion", ""))]
CUSTOM = [d for d in DOCUMENTS if d not in CORE]


def _id(item):
    path, index, doc = item
    return f"{path}#{index}:{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def test_manifests_exist_for_both_validators():
    assert CORE and CUSTOM


@pytest.mark.parametrize("item", CORE, ids=[_id(d) for d in CORE])
def test_core_manifest_is_valid_in_strict_mode(item):
    path, index, doc = item
    assert "__unparsable__" not in doc, f"{path}: not YAML: {doc.get('__unparsable__')}"
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


@needs_crds
@pytest.mark.parametrize("item", CUSTOM, ids=[_id(d) for d in CUSTOM])
def test_custom_resource_matches_its_crd(item):
    path, index, doc = item
    try:
        crd_schema.load_crd(doc["apiVersion"], doc["kind"], CRDS_DIR)
    except ValueError as missing:
        pytest.skip(f"{path}: {missing} (only the CRDs in shared/crds can be checked offline)")
    crd_schema.validate_custom_resource(doc)


def test_strict_core_validation_rejects_unknown_fields():
    path, index, doc = CORE[0]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**doc, "unexpected": 1}, kubernetes_validate.latest_version(), strict=True)


@needs_crds
@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["spec"]["containers"][0].update(resourcez={}),
     "spec.containers[0]: Additional properties are not allowed ('resourcez' was unexpected)"),
    (lambda d: d["spec"]["containers"][0]["ports"][0].update(containerPort="http"),
     "spec.containers[0].ports[0].containerPort: 'http' is not of type 'integer'"),
    (lambda d: d["spec"].update(supportedModelFormats=[{"version": "1"}]),
     "spec.supportedModelFormats[0]: 'name' is a required property"),
])
def test_custom_resource_errors_name_the_field_path(mutate, message):
    doc = yaml.safe_load((REPO_ROOT / "manifests/platform/serving/llm-runtime.yaml").read_text())
    mutate(doc)
    with pytest.raises(ValueError) as error:
        crd_schema.validate_custom_resource(doc)
    assert str(error.value) == f"ClusterServingRuntime nuri-llm-vllm: {message}"


@needs_crds
def test_int_or_string_and_unknown_kinds():
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "m"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": "s3://agency-x/m",
                                             "resources": {"limits": {"cpu": 2, "memory": "8Gi", "nvidia.com/gpu": "1"}}}}}}
    crd_schema.validate_custom_resource(isvc)
    with pytest.raises(ValueError, match=r"^Widget w: no CRD for example.com/v1"):
        crd_schema.validate_custom_resource({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_conversion_rules_on_a_small_schema():
    schema = crd_schema.to_json_schema({
        "type": "object",
        "required": ["size", "mode"],
        "properties": {
            "metadata": {"type": "object"},
            "size": {"x-kubernetes-int-or-string": True},
            "mode": {"type": "string", "default": "fast"},
            "note": {"type": "string", "nullable": True},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    })
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["size"]  # "mode" has a default the API server fills in
    assert schema["properties"]["size"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert schema["properties"]["note"]["type"] == ["string", "null"]
    assert "additionalProperties" not in schema["properties"]["free"]
    assert schema["properties"]["labels"]["additionalProperties"] == {"type": "string"}


def test_find_crds_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(crd_schema.CRDS_DIR_ENV, str(tmp_path))
    assert crd_schema.find_crds_dir() == Path(tmp_path)
    with pytest.raises(ValueError, match="no CRD for ray.io/v1"):
        crd_schema.validate_custom_resource({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j"}},
                                            crds_dir=tmp_path)


def test_crds_bundled_in_one_file_are_found(tmp_path):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "spec": {"group": "example.com", "names": {"kind": "Widget"}, "versions": [{"name": "v1", "schema": {
               "openAPIV3Schema": {"type": "object", "properties": {
                   "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                   "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}}
    other = {**crd, "spec": {**crd["spec"], "names": {"kind": "Gadget"}}}
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump_all([crd, other]))
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    crd_schema.validate_custom_resource(widget, crds_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^Gadget g: spec.size: 'big' is not of type 'integer'$"):
        crd_schema.validate_custom_resource({**widget, "kind": "Gadget", "metadata": {"name": "g"},
                                             "spec": {"size": "big"}}, crds_dir=tmp_path)
