"""Every values key the program gives a Helm chart exists in that chart's defaults at the
pinned version, and every image a chart's values name is mirrored with its upstream path
kept. Checked against the charts' own values.yaml in ../shared/upstream/chart-values/
(MinIO 5.4.0, GPU Operator v25.3.2, device plugin 0.17.3, KubeRay 1.7.0, KServe v0.20.0,
cert-manager v1.18.2, cluster-autoscaler 9.46.6), over the values each release is
really given in several stacks."""
from fnmatch import fnmatchcase

import pytest
import yaml

from infra import charts, gpu, serving
from nuri_infra_mocks import REPO_ROOT, render, unwrap

CHART_VALUES = REPO_ROOT.parent / "shared" / "upstream" / "chart-values"
pytestmark = pytest.mark.skipif(
    not CHART_VALUES.is_dir(),
    reason="../shared/upstream/chart-values is absent: the pinned charts' default values.yaml are needed offline")

REGISTRY = "registry.gov.example/nuri-mirror"
# The chart a release installs -> the name its values file is kept under.
VALUES_FILE_NAME = {"kserve-resources": "kserve"}

# Keys a chart reads although its values.yaml does not list them. (chart, dotted path
# glob) -> why. Lists are not descended (a list replaces the default whole), nor maps
# whose default is empty or null (free-form: nodeSelector, podAnnotations, ...).
ALLOWED_ABSENT = {
    ("minio", "make*Job.containerSecurityContext"):
        "templates/post-job.yaml renders `with .Values.<group>.containerSecurityContext` when "
        "<group>.securityContext.enabled; values.yaml lists only securityContext",
    ("minio", "customCommandJob.containerSecurityContext"): "the same, for the custom-command container",
    ("minio", "postJob.securityContext.runAsNonRoot"):
        "templates/post-job.yaml renders the whole postJob.securityContext map (omit `enabled`) as the pod's",
    ("minio", "postJob.securityContext.seccompProfile"): "the same",
    ("minio", "containerSecurityContext.*"):
        "rendered with toYaml as the server container's securityContext (the default lists one field)",
    ("kuberay-operator", "resources.requests"): "rendered with toYaml as the container's resources",
    ("minio", "resources.*"): "rendered with toYaml as the server container's resources (default: a memory request)",
    ("kserve", "kserve.storage.containerSecurityContext.seccompProfile"):
        "storagecontainer-patch.yaml renders the map with toYaml",
    ("gpu-operator", "node-feature-discovery.image"):
        "values of the node-feature-discovery subchart (its own values.yaml: image.repository)",
    ("nvidia-device-plugin", "nfd.image"): "values of the node-feature-discovery subchart (alias nfd)",
    ("cluster-autoscaler", "extraArgs.*"): "free-form map: each key becomes a --key=value flag",
}


def _defaults(chart_name: str, version: str) -> dict:
    name = VALUES_FILE_NAME.get(chart_name, chart_name)
    return yaml.safe_load((CHART_VALUES / f"{name}-{version}.values.yaml").read_text())


def _chart(inputs: dict) -> str:
    return inputs["chart"].rstrip("/").rsplit("/", 1)[-1]


def absent_keys(values: dict, defaults: dict, path: str = "") -> list[str]:
    """Dotted paths in `values` that `defaults` does not have."""
    found = []
    for key, value in values.items():
        here = f"{path}.{key}" if path else key
        if not isinstance(defaults, dict) or key not in defaults:
            found.append(here)
        elif isinstance(value, dict) and isinstance(defaults[key], dict) and defaults[key]:
            found += absent_keys(value, defaults[key], here)
    return found


def image_references(node, path: str = "") -> dict[str, str]:
    """path -> image for every image a values tree names: `repository` keys, and
    `image`/`...Image` keys holding a path (the GPU Operator's `image` is a bare name)."""
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if isinstance(value, str) and value and (
                    key == "repository" or ((key == "image" or key.endswith("Image")) and "/" in value)):
                found[here] = value
            found.update(image_references(value, here))
    return found


def _get(tree: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


@pytest.fixture(scope="module")
def air_gapped_operator():
    return render({"imageRegistry": REGISTRY, "minioTls": True, "minioReplicas": 4, "agencies": ["tax"]})


STACKS = ["minimal", "existing_example", "eks_example", "air_gapped_operator"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_values_key_exists_in_the_pinned_charts_defaults(stack, request):
    unexplained = []
    for name, inputs in request.getfixturevalue(stack).releases().items():
        chart = _chart(inputs)
        if chart == "kserve-crd":
            assert not inputs.get("values"), "kserve-crd takes no values"
            continue
        defaults = _defaults(chart, inputs["version"])
        for path in absent_keys(unwrap(inputs["values"]), defaults):
            if not any(c == VALUES_FILE_NAME.get(chart, chart) and fnmatchcase(path, pattern)
                       for c, pattern in ALLOWED_ABSENT):
                unexplained.append(f"{name}: {path}")
    assert unexplained == [], "values keys the pinned charts do not have"


def test_the_allow_list_has_no_stale_entries(minimal, existing_example, eks_example, air_gapped_operator):
    used = set()
    for rendered in (minimal, existing_example, eks_example, air_gapped_operator):
        for inputs in rendered.releases().values():
            chart = VALUES_FILE_NAME.get(_chart(inputs), _chart(inputs))
            if chart == "kserve-crd":
                continue
            for path in absent_keys(unwrap(inputs["values"]), _defaults(_chart(inputs), inputs["version"])):
                used |= {(c, p) for c, p in ALLOWED_ABSENT if c == chart and fnmatchcase(path, p)}
    assert set(ALLOWED_ABSENT) - used == set()


def test_a_misspelt_key_is_reported():
    defaults = {"postJob": {"securityContext": {"enabled": False}, "nodeSelector": {}}, "buckets": []}
    values = {"postJob": {"securityContex": {"enabled": True}, "nodeSelector": {"a": "b"}}, "buckets": [{"x": 1}],
              "bucket": []}
    assert absent_keys(values, defaults) == ["postJob.securityContex", "bucket"]


@pytest.mark.parametrize("stack", ["existing_example", "air_gapped_operator"])
def test_air_gapped_every_chart_image_is_mirrored_with_its_upstream_path(stack, request):
    problems = []
    for name, inputs in request.getfixturevalue(stack).releases().items():
        chart = _chart(inputs)
        if chart == "kserve-crd":
            continue
        values = unwrap(inputs["values"])
        for path, upstream in image_references(_defaults(chart, inputs["version"])).items():
            got = _get(values, path)
            if got != charts.mirrored_image(upstream, REGISTRY):
                problems.append(f"{name}: {path} is {got!r}, upstream {upstream!r}")
    assert problems == []


def test_gpu_operator_operands_keep_their_own_paths(air_gapped_operator):
    values = unwrap(air_gapped_operator.release("gpu-operator")["values"])
    assert values["toolkit"]["repository"] == f"{REGISTRY}/nvidia/k8s"
    assert values["dcgmExporter"]["repository"] == f"{REGISTRY}/nvidia/k8s"
    assert values["validator"]["repository"] == f"{REGISTRY}/nvidia/cloud-native"
    assert values["migManager"]["repository"] == f"{REGISTRY}/nvidia/cloud-native"
    assert values["driver"]["manager"]["repository"] == f"{REGISTRY}/nvidia/cloud-native"
    assert values["operator"]["repository"] == f"{REGISTRY}/nvidia"
    assert values["node-feature-discovery"]["image"]["repository"] == f"{REGISTRY}/nfd/node-feature-discovery"


def test_mirror_tables_match_the_charts():
    operator = _defaults("gpu-operator", "v25.3.2")
    repositories = {p.removesuffix(".repository"): r for p, r in image_references(operator).items()
                    if p.endswith("repository")}
    assert repositories == gpu.OPERATOR_REPOSITORIES
    kserve = image_references(_defaults("kserve", "v0.20.0"))
    assert {p.removeprefix("kserve."): i for p, i in kserve.items()} == serving.IMAGES


def test_kserve_rbac_proxy_is_mirrored(existing_example):
    controller = existing_example.release("kserve")["values"]["kserve"]["controller"]
    assert controller["rbacProxyImage"] == f"{REGISTRY}/brancz/kube-rbac-proxy:v0.18.0"
