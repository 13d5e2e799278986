"""The deploy step: the release's KServe InferenceService (CRD schema, `restricted` Pod
Security), its submission through a real `kubernetes` ApiClient to a STAND-IN for the
Kubernetes API served over HTTP on 127.0.0.1 (no API server can run here: it stores
InferenceServices, applies merge patches and plays KServe's Ready condition), the one
question through the OpenAI route to a STAND-IN predictor on loopback, the deployment
record, registration with the real Kubeflow Model Registry client against a STAND-IN
registry REST API on loopback, and the compiled cluster-mode pipeline. Fast: seconds."""

import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from nuri.cluster.deploy import DeployFailed, InferenceServices, deploy_release, deploy_stage
from nuri.config import load_domain_config
from nuri.k8s import crd_schema, inference_service, policy
from nuri.release import DEPLOYED, Release, deployed, promote
from nuri.storage import open_storage
from nuri_testing import REPO, TINY_OVERRIDES, deep_merge, write_domain

CRDS_DIR = crd_schema.find_crds_dir()
needs_crds = pytest.mark.skipif(CRDS_DIR is None,
                                reason="../shared/crds is absent: KServe CRD schemas unavailable offline")
RUNTIME = yaml.safe_load((REPO / "manifests/platform/serving/nuri-service-runtime.yaml").read_text())
NS = "agency-welfare"
URI = "s3://agency-welfare/nuri/releases/welfare/{version}"
API_KEY = "stand-in-api-key-3f9c"


def _config(tmp_path, deploy=None, **more):
    overrides = deep_merge(TINY_OVERRIDES, {"runtime": {"mode": "cluster"},
                                            "deploy": {"namespace": NS, "poll_s": 0.01, **(deploy or {})}, **more})
    return load_domain_config(write_domain(tmp_path, overrides))


@pytest.fixture
def config(tmp_path):
    return _config(tmp_path)


# --- rendering ---------------------------------------------------------------------------

def _render(config, version="v0003"):
    return inference_service.render_inference_service(config, release_name=f"welfare-{version}",
                                                      storage_uri=URI.format(version=version))


def test_rendered_service_serves_the_release_with_nuri_service(config):
    isvc = _render(config)
    predictor = isvc["spec"]["predictor"]
    model = predictor["model"]
    assert isvc["metadata"]["name"] == "nuri-welfare" and isvc["metadata"]["namespace"] == NS
    assert model["modelFormat"] == {"name": "nuri"}
    assert model["runtime"] == RUNTIME["metadata"]["name"] == "nuri-service"
    assert model["storageUri"] == "s3://agency-welfare/nuri/releases/welfare/v0003"
    assert model["image"] == config.cluster.image  # the code the pipeline's self-test ran
    assert isvc["metadata"]["labels"]["nuri.io/release"] == "welfare-v0003"
    assert isvc["metadata"]["labels"]["nuri.io/domain"] == "welfare"
    assert model["env"][0] == {"name": "NURI_API_KEY", "valueFrom": {"secretKeyRef": {
        "name": "nuri-serving-api-key", "key": "apikey"}}}
    assert [e["name"] for e in model["env"]] == ["NURI_API_KEY", "NURI_FEEDBACK_DB_URL"]
    assert "nvidia.com/gpu" not in json.dumps(model["resources"]) and "tolerations" not in predictor
    assert "canaryTrafficPercent" not in predictor
    assert predictor["serviceAccountName"] == "nuri-model-reader" and predictor["automountServiceAccountToken"] is False


def test_gpus_bring_the_clusters_node_selector_and_tolerations(tmp_path):
    predictor = _render(_config(tmp_path, {"gpus": 1}))["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["model"]["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert predictor["nodeSelector"] == {"nuri.io/pool": "gpu"}
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


@needs_crds
@pytest.mark.parametrize("deploy", [{}, {"gpus": 2, "min_replicas": 2, "max_replicas": 3},
                                    {"deployment_mode": "Serverless", "canary_traffic_percent": 10}],
                         ids=["cpu", "gpu", "canary"])
def test_rendered_service_validates_against_the_kserve_crd(tmp_path, deploy):
    isvc = _render(_config(tmp_path, deploy))
    crd_schema.validate_custom_resource(isvc, CRDS_DIR)
    if "canary_traffic_percent" in deploy:
        assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
        assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


@needs_crds
def test_the_runtime_validates_against_its_crd_and_a_broken_service_is_named():
    crd_schema.validate_custom_resource(RUNTIME, CRDS_DIR)
    with pytest.raises(ValueError, match=r"^InferenceService nuri-welfare: spec.predictor.model: .*'storageUrl'"):
        crd_schema.validate_custom_resource(
            {"apiVersion": inference_service.API_VERSION, "kind": "InferenceService",
             "metadata": {"name": "nuri-welfare"},
             "spec": {"predictor": {"model": {"modelFormat": {"name": "nuri"}, "storageUrl": "s3://x"}}}}, CRDS_DIR)


def test_the_service_gets_the_feedback_database_url_by_reference_only(tmp_path, config):
    isvc = _render(config)
    predictor = isvc["spec"]["predictor"]
    [env] = [e for e in predictor["model"]["env"] if e["name"] == "NURI_FEEDBACK_DB_URL"]
    assert env == {"name": "NURI_FEEDBACK_DB_URL",
                   "valueFrom": {"secretKeyRef": {"name": "nuri-feedback-db", "key": "url", "optional": False}}}
    assert "postgresql" not in json.dumps(isvc)  # never the URL itself
    # The feedback database's NetworkPolicy admits the predictor's pods by this label.
    assert predictor["labels"] == {inference_service.LABEL_FEEDBACK_CLIENT: "true"}
    if CRDS_DIR is not None:
        crd_schema.validate_custom_resource(isvc, CRDS_DIR)
    # The variable is the one the store reads; none without a secret or with feedback off.
    renamed = _render(_config(tmp_path, feedback={"database_url_env": "FEEDBACK_URL"}))
    assert "FEEDBACK_URL" in [e["name"] for e in renamed["spec"]["predictor"]["model"]["env"]]
    for off in (_config(tmp_path, {"feedback_db_secret": None}), _config(tmp_path, feedback={"enabled": False})):
        predictor = _render(off)["spec"]["predictor"]
        assert [e["name"] for e in predictor["model"]["env"]] == ["NURI_API_KEY"] and "labels" not in predictor
        assert inference_service.merge_patch(_render(off))["spec"]["predictor"]["labels"] is None  # cleared on update


def predictor_pod(isvc: dict, runtime: dict, storage_context: dict) -> dict:
    """The predictor pod as KServe (Standard mode) builds it: the predictor's pod fields, the
    runtime's container under the model's fields, and the storage-initializer init
    container KServe injects with the security context from its Helm values."""
    predictor = isvc["spec"]["predictor"]
    container = {**runtime["spec"]["containers"][0],
                 **{k: v for k, v in predictor["model"].items() if k not in ("modelFormat", "runtime", "storageUri")}}
    pod = {k: v for k, v in predictor.items()
           if k not in ("model", "minReplicas", "maxReplicas", "labels", "deploymentStrategy", "canaryTrafficPercent")}
    return {**pod, "containers": [container],
            "initContainers": [{"name": "storage-initializer", "image": "kserve/storage-initializer",
                                "securityContext": storage_context}],
            "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}]}


@pytest.fixture(scope="module")
def storage_context():
    from infra import serving
    from infra.config import PlatformConfig

    return serving.values(PlatformConfig())["kserve"]["storage"]["containerSecurityContext"]


@pytest.mark.parametrize("gpus", [0, 1])
def test_predictor_pod_passes_restricted_pod_security(tmp_path, gpus, storage_context):
    from infra import pod_security

    isvc = _render(_config(tmp_path, {"gpus": gpus}))
    assert policy.check_all([RUNTIME, isvc]) == []
    pod = predictor_pod(isvc, RUNTIME, storage_context)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_security.pod_violations(pod, "restricted") == []
    # Each part holds on its own too: the runtime's container, the injected init container.
    bare = {k: v for k, v in pod.items() if k != "securityContext"}
    assert pod_security.pod_violations(bare, "restricted") == []
    # And the check can fail: a predictor without the render's contexts is refused.
    naked = {**pod, "securityContext": {}, "containers": [{"name": "kserve-container", "image": "x"}]}
    assert pod_security.pod_violations(naked, "restricted")


def test_bad_input_is_one_line_naming_the_field(tmp_path, config):
    with pytest.raises(ValueError, match=r"^storage.uri: the release welfare-v0003 is at '/tmp/x'"):
        inference_service.render_inference_service(config, release_name="welfare-v0003", storage_uri="/tmp/x")
    from nuri.errors import ConfigError

    with pytest.raises(ConfigError, match=r"deploy: .*canary_traffic_percent needs deployment_mode: Serverless"):
        _config(tmp_path, {"canary_traffic_percent": 10})
    with pytest.raises(ConfigError, match=r"deploy.service_name: must be lowercase"):
        _config(tmp_path, {"service_name": "Nuri_{domain}"})


def test_endpoint_is_the_platforms_url_template():
    from infra.serving import URL_TEMPLATE

    assert inference_service.URL_TEMPLATE == URL_TEMPLATE
    assert inference_service.endpoint("nuri-welfare", NS) == \
        "http://nuri-welfare-predictor.agency-welfare.svc.cluster.local/openai/v1"


# --- stand-ins on loopback -----------------------------------------------------------------

def _merge(target, patch):
    """RFC 7386 JSON merge patch, as the API server applies application/merge-patch+json."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> running `handler` in a thread."""

    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None


class StandInKubernetesApi(_Server):
    """STAND-IN for the Kubernetes API server with KServe installed: GET, POST and PATCH
    (merge patch) of serving.kserve.io/v1beta1 InferenceServices, and KServe's Ready
    condition scripted per GET after each change of spec: `script` entries are
    (status, message, observed) where observed=False reports the previous generation."""

    PATH = re.compile(r"^/apis/serving\.kserve\.io/v1beta1/namespaces/([^/]+)/inferenceservices(?:/([^/?]+))?$")

    def __init__(self, script):
        self.objects: dict[tuple[str, str], dict] = {}
        self.requests: list[tuple[str, str, str, object]] = []
        self.script = script
        self.polls: dict[tuple[str, str], int] = {}
        super().__init__(self._handler())

    def _status(self, key):
        obj = self.objects[key]
        n = self.polls[key]
        self.polls[key] += 1
        status, message, observed = self.script[min(n, len(self.script) - 1)]
        generation = obj["metadata"]["generation"]
        obj["status"] = {"observedGeneration": generation if observed else generation - 1,
                         "conditions": [{"type": "Ready", "status": status, "message": message}]}
        return obj

    def _handler(self):
        api = self

        class Handler(_JsonHandler):
            def _route(self):
                match = api.PATH.match(urlparse(self.path).path)
                if not match:
                    self._send(404, {"kind": "Status", "code": 404, "message": f"stand-in: no route {self.path}"})
                    return None
                return match.group(1), match.group(2)

            def _not_found(self, name):
                self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                 "code": 404, "message": f'inferenceservices "{name}" not found'})

            def do_GET(self):
                route = self._route()
                if route is None:
                    return
                api.requests.append(("GET", self.path, "", None))
                if route not in api.objects:
                    return self._not_found(route[1])
                self._send(200, api._status(route))

            def do_POST(self):
                route = self._route()
                if route is None:
                    return
                body = self._body()
                api.requests.append(("POST", self.path, self.headers.get("Content-Type"), body))
                key = (route[0], body["metadata"]["name"])
                if key in api.objects:
                    return self._send(409, {"kind": "Status", "code": 409, "reason": "AlreadyExists"})
                obj = copy.deepcopy(body)
                obj["metadata"].update(namespace=route[0], generation=1, resourceVersion="1")
                api.objects[key], api.polls[key] = obj, 0
                self._send(201, obj)

            def do_PATCH(self):
                route = self._route()
                if route is None:
                    return
                body = self._body()
                api.requests.append(("PATCH", self.path, self.headers.get("Content-Type"), body))
                if route not in api.objects:
                    return self._not_found(route[1])
                if self.headers.get("Content-Type") != "application/merge-patch+json":
                    return self._send(415, {"kind": "Status", "code": 415})
                old = api.objects[route]
                new = _merge(old, body)
                if new.get("spec") != old.get("spec"):
                    new["metadata"]["generation"] = old["metadata"]["generation"] + 1
                    api.polls[route] = 0
                api.objects[route] = new
                self._send(200, new)

        return Handler


class StandInPredictor(_Server):
    """STAND-IN for the served release's OpenAI route (the real server is nuri.serving)."""

    def __init__(self, api_key: str):
        self.questions: list[str] = []
        key = api_key
        predictor = self

        class Handler(_JsonHandler):
            def _authorised(self):
                if self.headers.get("Authorization") != f"Bearer {key}":
                    self._send(401, {"detail": "missing or wrong API key"})
                    return False
                return True

            def do_GET(self):
                if self.path == "/openai/v1/models" and self._authorised():
                    self._send(200, {"object": "list", "data": [{"id": "welfare", "object": "model"}]})

            def do_POST(self):
                if self.path == "/openai/v1/chat/completions" and self._authorised():
                    body = self._body()
                    predictor.questions.append(body["messages"][-1]["content"])
                    answer = {"role": "assistant", "content": "기초연금은 신청하세요."}
                    self._send(200, {"choices": [{"message": answer}], "usage": {"completion_tokens": 7}})

        super().__init__(Handler)


class StandInModelRegistry(_Server):
    """STAND-IN for the Kubeflow Model Registry REST API (v1), the calls
    `ModelRegistry.register_model` makes: find/create model, version, artifact."""

    BASE = "/api/model_registry/v1"

    def __init__(self):
        self.models, self.versions, self.artifacts = {}, {}, {}
        registry = self

        class Handler(_JsonHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == f"{registry.BASE}/registered_models":
                    items = list(registry.models.values())
                    return self._send(200, {"items": items, "size": len(items), "pageSize": 1, "nextPageToken": ""})
                if url.path == f"{registry.BASE}/registered_model":
                    found = [m for m in registry.models.values() if m["name"] == query.get("name")]
                elif url.path == f"{registry.BASE}/model_version":
                    found = [v for v in registry.versions.values() if v["name"] == query.get("name")
                             and v["registeredModelId"] == query.get("parentResourceId")]
                else:
                    found = []
                if found:
                    return self._send(200, found[0])
                self._send(404, {"code": "404", "message": "not found"})

            def do_POST(self):
                body, path = self._body(), urlparse(self.path).path
                stamp = {"createTimeSinceEpoch": "1", "lastUpdateTimeSinceEpoch": "1"}
                if path == f"{registry.BASE}/registered_models":
                    table = registry.models
                elif path == f"{registry.BASE}/model_versions":
                    table = registry.versions
                elif re.match(rf"^{registry.BASE}/model_versions/[^/]+/artifacts$", path):
                    table = registry.artifacts
                    body["modelVersionId"] = path.split("/")[-2]
                else:
                    return self._send(404, {"code": "404", "message": "no route"})
                obj = {**body, **stamp, "id": str(len(table) + 1)}
                table[obj["id"]] = obj
                self._send(201, obj)

        super().__init__(Handler)


@pytest.fixture
def predictor():
    server = StandInPredictor(API_KEY)
    yield server
    server.close()


def _kube(api: StandInKubernetesApi):
    """A real kubernetes CustomObjectsApi whose host is the stand-in."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = api.url
    return client.CustomObjectsApi(client.ApiClient(configuration))


def _promote(config, version: str) -> Release:
    release = Release("welfare", version, URI.format(version=version))
    promote(open_storage(config.storage.uri), release, {"passed": True})
    return release


PENDING = [("False", "Predictor pods are not ready", True)]


def test_first_deploy_creates_the_service_and_a_new_release_patches_it(config, predictor):
    api = StandInKubernetesApi(PENDING * 2 + [("True", "", True)])
    lines: list[str] = []
    try:
        first = deploy_release(config, _promote(config, "v0001"), api=_kube(api), api_key=API_KEY,
                               base_url=f"{predictor.url}/openai/v1", progress=lines.append)
        assert first["action"] == "created" and first["service"] == f"{NS}/nuri-welfare"
        assert first["endpoint"] == "http://nuri-welfare-predictor.agency-welfare.svc.cluster.local/openai/v1"
        assert predictor.questions == [config.serving.selftest.in_domain[0]]
        assert first["model_registry"] == {"status": "skipped", "reason": "deploy.model_registry_url is not set"}
        assert any("Ready=False: Predictor pods are not ready" in line for line in lines)
        record = deployed(open_storage(config.storage.uri), "welfare")
        assert record["version"] == "v0001" and record["endpoint"] == first["endpoint"]
        assert Path(config.storage.uri, "releases", "welfare", DEPLOYED).is_file()

        # The next release: KServe first still reports the previous generation Ready.
        api.script = [("True", "", False)] + PENDING + [("True", "", True)]
        lines.clear()
        second = deploy_release(config, _promote(config, "v0002"), api=_kube(api), api_key=API_KEY,
                                base_url=f"{predictor.url}/openai/v1", progress=lines.append)
    finally:
        api.close()
    assert second["action"] == "updated"
    assert any("not yet observed" in line for line in lines)  # a stale Ready did not pass
    (patch,) = [r for r in api.requests if r[0] == "PATCH"]
    _, _, content_type, body = patch
    assert content_type == "application/merge-patch+json"
    assert body["spec"]["predictor"]["canaryTrafficPercent"] is None  # cleared, not left over
    stored = api.objects[(NS, "nuri-welfare")]
    assert stored["spec"]["predictor"]["model"]["storageUri"] == URI.format(version="v0002")
    assert stored["metadata"]["labels"]["nuri.io/release"] == "welfare-v0002"
    assert stored["metadata"]["generation"] == 2
    assert [r[0] for r in api.requests].count("POST") == 1
    assert deployed(open_storage(config.storage.uri), "welfare")["version"] == "v0002"


def test_a_service_that_never_gets_ready_fails_with_its_last_condition():
    api = StandInKubernetesApi([("False", "RevisionMissing: image pull failed", True)])
    try:
        services = InferenceServices(NS, _kube(api))
        services.apply({"apiVersion": inference_service.API_VERSION, "kind": "InferenceService",
                        "metadata": {"name": "nuri-welfare", "labels": {}, "annotations": {}},
                        "spec": {"predictor": {}}})
        t0 = time.monotonic()
        with pytest.raises(DeployFailed, match=r"^InferenceService agency-welfare/nuri-welfare not ready after 0s "
                                               r".*last condition: Ready=False: RevisionMissing: image pull failed"):
            services.wait_ready("nuri-welfare", timeout_s=0.2, poll_s=0.02, progress=lambda line: None)
        assert time.monotonic() - t0 < 5
    finally:
        api.close()


def test_only_the_promoted_release_is_served(config):
    _promote(config, "v0002")
    with pytest.raises(DeployFailed, match="welfare-v0001 is not the promoted release of welfare .promoted: v0002"):
        deploy_release(config, Release("welfare", "v0001", URI.format(version="v0001")), api=object())


def test_a_refused_api_key_is_a_clear_error(config, predictor):
    api = StandInKubernetesApi([("True", "", True)])
    try:
        with pytest.raises(DeployFailed, match="refused the API key .set NURI_API_KEY"):
            deploy_release(config, _promote(config, "v0001"), api=_kube(api), api_key="wrong",
                           base_url=f"{predictor.url}/openai/v1", progress=lambda line: None)
    finally:
        api.close()
    assert deployed(open_storage(config.storage.uri), "welfare") is None  # nothing recorded


@pytest.mark.filterwarnings("ignore:User access token is missing")  # no token on loopback; in a pod: its own
def test_the_step_registers_the_release_in_the_model_registry(tmp_path, predictor):
    registry = StandInModelRegistry()
    config = _config(tmp_path, {"model_registry_url": registry.url})
    release = _promote(config, "v0001")
    prefix = Path(config.storage.uri, "releases", "welfare", "v0001")
    prefix.mkdir(parents=True)
    (prefix / "metrics.json").write_text(json.dumps({"evaluation": {"hallucination_rate": 0.2},
                                                     "gate": {"passed": True}}))
    (prefix / "lineage.json").write_text(json.dumps({"config_sha256": "ab12", "platform": {"git_commit": "c0ffee"},
                                                     "data": {"dataset_version": "d1"}}))
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "release.json").write_text(json.dumps({"domain": "welfare", "version": "v0001",
                                                                   "uri": release.uri}))
    api = StandInKubernetesApi([("True", "", True)])
    try:
        report = deploy_stage(config.to_json(), str(tmp_path / "release"), str(tmp_path / "report"),
                              api=_kube(api), api_key=API_KEY, base_url=f"{predictor.url}/openai/v1")
        again = deploy_stage(config.to_json(), str(tmp_path / "release"), str(tmp_path / "report"),
                             api=_kube(api), api_key=API_KEY, base_url=f"{predictor.url}/openai/v1")
    finally:
        api.close()
        registry.close()
    assert report["status"] == "ok" and report["metrics"]["registered"] is True
    assert report["model_registry"]["status"] == "registered"
    assert again["model_registry"]["status"] == "already registered" and again["action"] == "updated"
    (model,) = registry.models.values()
    (version,) = registry.versions.values()
    (artifact,) = registry.artifacts.values()
    assert model["name"] == "nuri-welfare" and version["name"] == "v0001"
    assert artifact["uri"] == release.uri and artifact["modelFormatName"] == "nuri"
    props = version["customProperties"]
    assert props["eval.hallucination_rate"]["double_value"] == 0.2
    assert props["git_commit"]["string_value"] == "c0ffee"
    assert props["endpoint"]["string_value"].endswith("/openai/v1")
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["answer"] and saved["endpoint"] == report["endpoint"] and API_KEY not in json.dumps(saved)


# --- the compiled pipeline ---------------------------------------------------------------------

def _compile(tmp_path, mode, deploy=None):
    from kfp import compiler

    from pipelines.reference import build_pipeline_for

    overrides = deep_merge(TINY_OVERRIDES, {"runtime": {"mode": mode}, "deploy": deploy or {}})
    config = load_domain_config(write_domain(tmp_path, overrides))
    out = tmp_path / f"{mode}.yaml"
    compiler.Compiler().compile(build_pipeline_for(config), str(out))
    return list(yaml.safe_load_all(out.read_text()))


def _gated_tasks(spec):
    components = spec["components"]
    name = next(n for n, c in components.items() if "dag" in c and "selftest" in c["dag"]["tasks"])
    return components[name]["dag"]["tasks"]


def test_compiled_cluster_pipeline_deploys_after_the_selftest(tmp_path):
    spec, platform = _compile(tmp_path, "cluster")
    gated = _gated_tasks(spec)
    assert {"register", "selftest", "deploy"} <= set(gated)
    task = gated["deploy"]
    assert "selftest" in task["dependentTasks"]
    assert task["inputs"]["artifacts"]["selftest_report"]["taskOutputArtifact"]["producerTask"] == "selftest"
    executor = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"][
        spec["components"][task["componentRef"]["name"]]["executorLabel"]]
    secrets = {s["secretName"]: {m["envVar"] for m in s["keyToEnv"]} for s in executor["secretAsEnv"]}
    assert secrets["nuri-serving-api-key"] == {"NURI_API_KEY"}
    command = " ".join(spec["deploymentSpec"]["executors"][
        spec["components"][task["componentRef"]["name"]]["executorLabel"]]["container"]["command"])
    assert "deploy_stage" in command


def test_local_pipeline_and_disabled_deploy_have_no_deploy_step(tmp_path):
    (local, _) = _compile(tmp_path, "local")
    assert "deploy" not in json.dumps(_gated_tasks(local)) and "comp-deploy" not in local["components"]
    (cluster, _) = _compile(tmp_path, "cluster", {"enabled": False})
    assert "comp-deploy" not in cluster["components"]
