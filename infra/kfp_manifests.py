"""Kubeflow Pipelines as the platform applies it: upstream's kustomize manifests at the
pinned release tag, fetched at `pulumi up` by the Kubernetes provider (`infra/pipelines.py`)
and changed only by the pure functions here, which run as Pulumi transformations on each
object. The git URLs carry the tag as a `/tree/<tag>/` path segment, the only form of pin
Pulumi's git retrieval honours (it drops `?ref=`). Air-gapped stacks point
`nuri:pipelinesManifests` at a rendering made by `infra/kfp/render.sh` or at a git mirror.

What changes, and why:
- KFP's bundled MinIO and its demo credentials go. Every component that talks to the
  store is pointed at the platform's (`minio-service` stays as an ExternalName alias for
  anything left on the default; an ExternalName gets no `MINIO_SERVICE_SERVICE_HOST` env,
  which the API server would otherwise read), and every bucket/pipeline-root setting names
  the platform bucket (KFP 2.5's built-in default root is `minio://mlpipeline/v2/artifacts`).
  With TLS, the API server, the UI, Argo and every pipeline step trust the store's CA.
- MySQL gets a generated root password instead of an empty one.
- The cache deployer (a root container that self-approves a kubelet-serving CSR through a
  cluster-wide role) is replaced by a cert-manager certificate, as upstream's
  `env/cert-manager` variant does.
- Containers get the platform's floor (no escalation, no capabilities, seccomp, limits)
  without overriding the user upstream runs them as; RBAC wildcards become explicit.
- With `nuri:imageRegistry`, every image reference moves to the mirror, including those
  passed as env, args and ConfigMap values.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import yaml

from .charts import mirrored_image

# libyaml when present: the renderings are ~110 KB, which pure-Python YAML parses slowly.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
NAMESPACE = "kubeflow"
UPSTREAM_REPO = "https://github.com/kubeflow/pipelines"
RELEASE_TAG = re.compile(r"^\d+\.\d+\.\d+$")  # KFP's release tags: 2.5.0, not v2.5.0
# File names of a local rendering (`infra/kfp/render.sh`; also ../shared/upstream/kfp-<tag>/)
# and the kustomize directory each is rendered from, in the order they are applied.
CLUSTER_FILE = "cluster-scoped-resources.yaml"
ENV_FILE = "env-platform-agnostic.yaml"
KUSTOMIZE_DIRS = {CLUSTER_FILE: "manifests/kustomize/cluster-scoped-resources",
                  ENV_FILE: "manifests/kustomize/env/platform-agnostic"}
# The CustomResourceDefinitions cluster-scoped-resources installs, by API group: what a Role
# rule granting resources "*" of a group is spelled out to. Written down because the
# namespaced objects are transformed one at a time, without the other rendering at hand; a
# test compares it with the rendering of the pinned release.
CRD_RESOURCES = {
    "app.k8s.io": ["applications"],
    "argoproj.io": ["clusterworkflowtemplates", "cronworkflows", "workflowartifactgctasks", "workfloweventbindings",
                    "workflows", "workflowtaskresults", "workflowtasksets", "workflowtemplates"],
    "kubeflow.org": ["scheduledworkflows", "viewers"],
}
# The API server's image carries the release tag: how a rendering shows which release it is.
API_SERVER = ("Deployment", "ml-pipeline", "ml-pipeline-api-server")

ARTIFACT_SECRET = "mlpipeline-minio-artifact"
MYSQL_SECRET = "mysql-secret"
STORE_ALIAS = "minio-service"  # the name KFP's components and its launcher default to
CACHE_TLS_SECRET = "webhook-server-tls"
DEFAULT_LIMITS = {"cpu": "2", "memory": "4Gi"}
# Standard verbs: what "*" means for the resources KFP's Roles name (none has custom verbs).
ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
# API groups of the built-in resources that upstream grants with apiGroups "*".
BUILTIN_GROUPS = {"deployments": "apps", "replicasets": "apps", "statefulsets": "apps", "daemonsets": "apps",
                  "services": "", "pods": "", "configmaps": "", "secrets": "", "jobs": "batch"}

CACHE_DEPLOYER = {
    ("Deployment", "cache-deployer-deployment"), ("ServiceAccount", "kubeflow-pipelines-cache-deployer-sa"),
    ("Role", "kubeflow-pipelines-cache-deployer-role"), ("RoleBinding", "kubeflow-pipelines-cache-deployer-rolebinding"),
    ("ClusterRole", "kubeflow-pipelines-cache-deployer-clusterrole"),
    ("ClusterRoleBinding", "kubeflow-pipelines-cache-deployer-clusterrolebinding"),
}
# Objects the platform replaces or provides itself (the namespace carries its Pod Security level).
DROPPED = {("Deployment", "minio"), ("PersistentVolumeClaim", "minio-pvc"), ("Secret", ARTIFACT_SECRET),
           ("Secret", MYSQL_SECRET), ("Namespace", NAMESPACE)} | CACHE_DEPLOYER
# Objects patch() changes by name: each must exist in the rendering (a test holds this).
PATCHED = {("Service", STORE_ALIAS), ("ConfigMap", "pipeline-install-config"), ("ConfigMap", "kfp-launcher"),
           ("ConfigMap", "workflow-controller-configmap"), ("Deployment", "ml-pipeline"),
           ("Deployment", "ml-pipeline-ui"), ("Deployment", "mysql")}
# Where upstream passes images as values rather than container images (the API server's
# V2_DRIVER_IMAGE / V2_LAUNCHER_IMAGE, the UI's TensorBoard image, Argo's executor, the
# cache server's image for cached steps).
IMAGE_ENV = re.compile(r"_IMAGE(_NAME)?$")
IMAGE_ARGS = ("--executor-image",)
IMAGE_CONFIG = {"pipeline-install-config": ("cacheImage",)}
# Registry hosts the upstream rendering pulls from; used to find image references anywhere.
UPSTREAM_REGISTRIES = ("ghcr.io/", "gcr.io/", "quay.io/", "docker.io/", "registry.k8s.io/", "mcr.microsoft.com/")


@dataclass(frozen=True)
class CaBundle:
    """The object store's CA in KFP's namespace: a ConfigMap for pods, a Secret for Argo."""

    configmap: str
    key: str
    mount: str  # directory the ConfigMap is mounted at
    secret: str

    @property
    def file(self) -> str:
        return f"{self.mount}/{self.key}"


@dataclass(frozen=True)
class Target:
    """Where the platform wants KFP to keep artifacts, and where images come from."""

    store_host: str  # the platform object store's in-cluster host name
    store_port: int
    secure: bool  # TLS on the object store
    bucket: str  # the pipelines' artifact bucket
    image_registry: str = ""  # nuri:imageRegistry; empty keeps upstream images
    ca: CaBundle | None = None  # with TLS: the CA every client must trust

    @property
    def pipeline_root(self) -> str:
        return f"minio://{self.bucket}/v2/artifacts"


def kustomize_urls(version: str, base: str = UPSTREAM_REPO) -> dict[str, str]:
    """{rendering file: git URL of its kustomize directory at tag `version`}. `base` is the
    repository (upstream's, or a mirror with the same `/tree/<ref>/<path>` layout)."""
    if not RELEASE_TAG.match(version):
        raise ValueError(f"{version!r} is not a Kubeflow Pipelines release tag (like 2.5.0)")
    return {file: f"{base.rstrip('/')}/tree/{version}/{path}" for file, path in KUSTOMIZE_DIRS.items()}


def load(path: str) -> list[dict]:
    """The objects of one rendered YAML file."""
    with open(path, encoding="utf-8") as stream:
        return [d for d in yaml.load_all(stream, Loader=SAFE_LOADER) if d]


def key(obj: dict) -> tuple[str, str]:
    return obj.get("kind", ""), (obj.get("metadata") or {}).get("name", "")


def _pod_spec(obj: dict) -> dict | None:
    if obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj.get("spec", {}).get("template", {}).get("spec")
    return None


def pod_containers(obj: dict) -> list[dict]:
    """Init and regular containers of a workload's pod template ([] for other kinds)."""
    spec = _pod_spec(obj) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _image_slots(obj: dict) -> Iterator[tuple[str, Any, Any]]:
    """(where, holder, slot) for every image an object names, `holder[slot]` being the
    image: container images, `*_IMAGE` env values, `--executor-image` args and the
    ConfigMap keys KFP reads images from."""
    kind, name = key(obj)
    for container in pod_containers(obj):
        where = f"{kind} {name} container {container.get('name')!r}"
        yield f"{where} image", container, "image"
        for env in container.get("env", []):
            if IMAGE_ENV.search(env.get("name", "")) and "value" in env:
                yield f"{where} env {env['name']}", env, "value"
        args = container.get("args", [])
        for index, arg in enumerate(args[:-1]):
            if arg in IMAGE_ARGS:
                yield f"{where} arg {arg}", args, index + 1
    if kind == "ConfigMap":
        for field in IMAGE_CONFIG.get(name, ()):
            if field in obj.get("data", {}):
                yield f"ConfigMap {name} {field}", obj["data"], field


def image_references(obj: dict) -> list[tuple[str, str]]:
    """(where, image) for every image the object names."""
    return [(where, holder[slot]) for where, holder, slot in _image_slots(obj)]


def mirror_images(obj: dict, registry: str) -> None:
    if registry:
        for _, holder, slot in _image_slots(obj):
            holder[slot] = mirrored_image(holder[slot], registry)


def harden(container: dict, pod_security_context: dict) -> None:
    """The platform's floor for every KFP container. Upstream already runs each one as a
    non-root user; the user is never forced here, because an image that runs as root is
    refused by the kubelet once `runAsNonRoot` is set (how the cache deployer broke)."""
    ctx = container.setdefault("securityContext", {})
    ctx["allowPrivilegeEscalation"] = False
    ctx["privileged"] = False
    drop = ctx.setdefault("capabilities", {}).setdefault("drop", [])
    if "ALL" not in drop:
        drop.append("ALL")
    ctx["capabilities"].pop("add", None)
    if "seccompProfile" not in ctx and "seccompProfile" not in pod_security_context:
        ctx["seccompProfile"] = {"type": "RuntimeDefault"}
    limits = container.setdefault("resources", {}).setdefault("limits", {})
    for resource, value in DEFAULT_LIMITS.items():
        limits.setdefault(resource, value)


def explicit_rules(rules: list[dict], crd_resources: dict[str, list[str]]) -> list[dict]:
    """Role rules with wildcards spelled out: verbs "*" -> the standard verbs; resources
    "*" -> the CRDs of that group that are installed (a group with none drops the rule);
    apiGroups "*" -> the built-in groups of the named resources."""
    result = []
    for rule in rules:
        rule = copy.deepcopy(rule)
        if "*" in rule.get("verbs", []):
            rule["verbs"] = list(ALL_VERBS)
        if "*" in rule.get("apiGroups", []):
            rule["apiGroups"] = sorted({BUILTIN_GROUPS[r.split("/")[0]] for r in rule.get("resources", [])})
        if "*" in rule.get("resources", []):
            rule["resources"] = sorted(r for g in rule.get("apiGroups", []) for r in crd_resources.get(g, []))
            if not rule["resources"]:
                continue
        result.append(rule)
    return result


def crd_resources(objects: Iterable[dict]) -> dict[str, list[str]]:
    """API group -> plural resource names of the CustomResourceDefinitions among objects."""
    found: dict[str, list[str]] = {}
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj["spec"]
            found.setdefault(spec["group"], []).append(spec["names"]["plural"])
    return found


def _env(container: dict, name: str, value: str | None = None, **source: Any) -> None:
    """Sets one env var (replacing any of that name)."""
    entry: dict[str, Any] = {"name": name, **({"value": value} if value is not None else source)}
    container["env"] = [e for e in container.get("env", []) if e.get("name") != name] + [entry]


def _trust_ca(obj: dict, container: dict, ca: CaBundle, env_name: str) -> None:
    """Mounts the CA into one container and names it in the env its runtime reads."""
    spec = _pod_spec(obj)
    spec["volumes"] = [v for v in spec.get("volumes", []) if v.get("name") != "object-store-ca"] + [
        {"name": "object-store-ca", "configMap": {"name": ca.configmap}}]
    container["volumeMounts"] = [*container.get("volumeMounts", []),
                                 {"name": "object-store-ca", "mountPath": ca.mount, "readOnly": True}]
    _env(container, env_name, ca.file)


def launcher_providers(target: Target) -> str:
    """kfp-launcher `providers` (KFP 2.5 backend/src/v2/config): the minio:// scheme goes
    to the platform store with KFP's artifact secret, TLS as the store is served."""
    return yaml.safe_dump({"minio": {"default": {
        "endpoint": f"{target.store_host}:{target.store_port}", "region": "minio", "disableSSL": not target.secure,
        "forcePathStyle": True,
        "credentials": {"fromEnv": False, "secretRef": {
            "secretName": ARTIFACT_SECRET, "accessKeyKey": "accesskey", "secretKeyKey": "secretkey"}}}}},
        sort_keys=False)


def _patch_one(obj: dict, target: Target, crds: dict[str, list[str]]) -> None:
    kind, name = key(obj)
    data = obj.get("data", {})
    if kind == "Service" and name == STORE_ALIAS:
        obj["spec"] = {"type": "ExternalName", "externalName": target.store_host,
                       "ports": [{"name": "http", "port": target.store_port, "protocol": "TCP"}]}
    elif kind == "Service" and obj.get("spec", {}).get("type") in ("LoadBalancer", "NodePort"):
        obj["spec"]["type"] = "ClusterIP"  # nothing in KFP is exposed outside the cluster
        for port in obj["spec"].get("ports", []):
            port.pop("nodePort", None)
    elif kind == "ConfigMap" and name == "pipeline-install-config":
        data["bucketName"] = target.bucket
        data["defaultPipelineRoot"] = target.pipeline_root
    elif kind == "ConfigMap" and name == "kfp-launcher":
        # Read by the driver and launcher of every run in this namespace.
        data["defaultPipelineRoot"] = target.pipeline_root
        data["providers"] = launcher_providers(target)
    elif kind == "ConfigMap" and name == "workflow-controller-configmap":
        # Argo's artifact repository (logs, v1 artifacts); parsed and re-written, comments dropped.
        repo = yaml.safe_load(data["artifactRepository"])
        repo["s3"].update(endpoint=f"{target.store_host}:{target.store_port}", bucket=target.bucket,
                          insecure=not target.secure)
        if target.ca:
            repo["s3"]["caSecret"] = {"name": target.ca.secret, "key": target.ca.key}
        data["artifactRepository"] = yaml.safe_dump(repo, sort_keys=False)
    elif kind in ("Role", "ClusterRole"):
        obj["rules"] = explicit_rules(obj.get("rules", []), crds)
    containers = {c["name"]: c for c in pod_containers(obj)}
    if kind == "Deployment" and name == "ml-pipeline":
        api = containers["ml-pipeline-api-server"]
        # ObjectStoreConfig.* (backend/src/apiserver/client_manager), read from env by viper.
        _env(api, "OBJECTSTORECONFIG_HOST", target.store_host)
        _env(api, "OBJECTSTORECONFIG_PORT", str(target.store_port))
        _env(api, "OBJECTSTORECONFIG_SECURE", str(target.secure).lower())
        if target.ca:
            _trust_ca(obj, api, target.ca, "SSL_CERT_FILE")
            # The Argo compiler mounts this ConfigMap into every pipeline step and sets
            # SSL_CERT_FILE, AWS_CA_BUNDLE and REQUESTS_CA_BUNDLE (argocompiler/container.go).
            _env(api, "EXECUTOR_CABUNDLE_CONFIGMAP_NAME", target.ca.configmap)
            _env(api, "EXECUTOR_CABUNDLE_CONFIGMAP_KEY", target.ca.key)
            _env(api, "EXECUTOR_CABUNDLE_MOUNTPATH", target.ca.mount)
    elif kind == "Deployment" and name == "ml-pipeline-ui":
        ui = containers["ml-pipeline-ui"]
        # The UI reads artifacts and archived logs itself (frontend/server/configs.ts); an
        # empty MINIO_NAMESPACE makes it use MINIO_HOST as given.
        _env(ui, "MINIO_HOST", target.store_host)
        _env(ui, "MINIO_NAMESPACE", "")
        _env(ui, "MINIO_PORT", str(target.store_port))
        _env(ui, "MINIO_SSL", str(target.secure).lower())
        _env(ui, "ARGO_ARCHIVE_BUCKETNAME", target.bucket)
        if target.ca:
            _trust_ca(obj, ui, target.ca, "NODE_EXTRA_CA_CERTS")
        # Upstream's default, made explicit so that mirroring reaches it.
        _env(ui, "VIEWER_TENSORBOARD_TF_IMAGE_NAME", "tensorflow/tensorflow")
    elif kind == "Deployment" and name == "mysql":
        mysql = containers["mysql"]
        mysql["env"] = [e for e in mysql.get("env", []) if e.get("name") != "MYSQL_ALLOW_EMPTY_PASSWORD"]
        _env(mysql, "MYSQL_ROOT_PASSWORD", valueFrom={"secretKeyRef": {"name": MYSQL_SECRET, "key": "password"}})
    pod_ctx = (_pod_spec(obj) or {}).get("securityContext", {})
    for container in containers.values():
        harden(container, pod_ctx)
    mirror_images(obj, target.image_registry)


def check_release(obj: dict, version: str) -> None:
    """Refuses a rendering of another release than the pinned one (a mirror or a local
    folder can hold any): the API server's image tag names the release."""
    kind, name, container = API_SERVER
    if key(obj) != (kind, name):
        return
    image = next((c.get("image", "") for c in pod_containers(obj) if c.get("name") == container), "")
    if not image.endswith(f":{version}"):
        raise ValueError(f"the Kubeflow Pipelines manifests are not release {version}: {name} runs {image!r} "
                         f"(nuri:pipelinesVersion and nuri:pipelinesManifests disagree)")


def transformation(target: Target, version: str | None = None,
                   crds: dict[str, list[str]] | None = None) -> Callable[[dict, Any], None]:
    """A Pulumi transformation (obj, opts) that applies the platform's changes to one
    object in place; a dropped object becomes an empty List, which Pulumi skips.
    `version`: refuse a rendering of another release. `crds`: installed CRDs by group."""
    crds = CRD_RESOURCES if crds is None else crds

    def transform(obj: dict, opts: Any) -> None:
        if version is not None:
            check_release(obj, version)
        if key(obj) in DROPPED:
            obj.clear()
            obj.update({"apiVersion": "v1", "kind": "List", "items": []})
            return
        _patch_one(obj, target, crds)

    return transform


def patch(objects: Iterable[dict], target: Target, crds: dict[str, list[str]] | None = None,
          version: str | None = None) -> list[dict]:
    """The objects as the platform applies them (inputs are not modified): what
    `transformation` makes of each, as Pulumi registers them. `crds`: the installed CRDs by
    group (default: those among `objects`)."""
    objects = list(objects)
    transform = transformation(target, version, crd_resources(objects) if crds is None else crds)
    result = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        transform(obj, None)
        if not (obj.get("kind") == "List" and not obj.get("items")):
            result.append(obj)
    return result


def cache_webhook_tls(namespace: str = NAMESPACE) -> list[dict]:
    """The cache server's webhook certificate from cert-manager, in place of the cache
    deployer: upstream's manifests/kustomize/env/cert-manager/base at the pinned tag, with
    its $(kfp-namespace) variable resolved. cert-manager's CA injector fills caBundle."""
    labels = {"app": "cache-server-cert-manager"}
    service = "cache-server"
    return [
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
         "metadata": {"name": "kfp-cache-selfsigned-issuer", "namespace": namespace, "labels": labels},
         "spec": {"selfSigned": {}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
         "metadata": {"name": "kfp-cache-cert", "namespace": namespace, "labels": labels},
         "spec": {"commonName": "kfp-cache-cert", "isCA": True, "secretName": CACHE_TLS_SECRET,
                  "dnsNames": [service, f"{service}.{namespace}", f"{service}.{namespace}.svc"],
                  "issuerRef": {"kind": "Issuer", "name": "kfp-cache-selfsigned-issuer"}}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": f"cache-webhook-{namespace}", "labels": labels,
                      "annotations": {"cert-manager.io/inject-ca-from": f"{namespace}/kfp-cache-cert"}},
         "webhooks": [{
             "name": f"{service}.{namespace}.svc", "admissionReviewVersions": ["v1beta1"],
             "clientConfig": {"service": {"name": service, "namespace": namespace, "path": "/mutate"}},
             "failurePolicy": "Ignore", "sideEffects": "None", "timeoutSeconds": 5,
             "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
             "objectSelector": {"matchLabels": {"pipelines.kubeflow.org/cache_enabled": "true"}}}]},
    ]


def upstream_images(objects: Iterable[dict]) -> list[str]:
    """Strings anywhere in the objects that name an image on an upstream registry (a
    catch-all beside image_references, for the air-gapped check)."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.extend(word for word in re.split(r"[\s\"',]+", node) if word.startswith(UPSTREAM_REGISTRIES))

    for obj in objects:
        walk(obj)
    return found
