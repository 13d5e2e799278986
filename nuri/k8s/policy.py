"""Platform security policy as pure functions over manifest dicts.

Each check takes a list of manifests (parsed YAML, or resource inputs recorded from the
Pulumi program) and returns violations as one-line strings, empty when compliant:

    from nuri.k8s.policy import check_all
    assert check_all(manifests) == []

Understood beyond core kinds: Helm releases recorded as ``{"kind": "Release", "chart":
..., "values": ...}`` (chart values are checked for public exposure and literal
secrets) and custom resources holding pod specs (RayJob, InferenceService, ...).
A value wrapped in Pulumi's secret envelope counts as protected, not plaintext.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator

TENANT_LABEL = "nuri.io/tenant"
OBJECT_STORE_LABEL = "nuri.io/object-store"
# Pulumi's wire envelope for secret values (what mocks and state hold for a Secret's data).
_PULUMI_SIG_KEY = "4dabf18193072939515e22adb298388d"
_PULUMI_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_EXPOSED_SERVICE_TYPES = {"LoadBalancer", "NodePort"}
_PUBLIC_BUCKET_POLICIES = {"public", "download", "upload"}
_SECRET_NAME = re.compile(r"(password|passwd|secretkey|secretaccesskey|token|apikey|credentials?)$")
_SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY)")
_POD_SPEC_CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")

Manifest = dict[str, Any]


def is_protected(value: Any) -> bool:
    """True for a Pulumi secret envelope (the value never appears in plaintext)."""
    return isinstance(value, dict) and value.get(_PULUMI_SIG_KEY) == _PULUMI_SECRET_SIG


def _ref(obj: Manifest) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or obj.get("name", "<unnamed>")
    namespace = meta.get("namespace") or obj.get("namespace")
    if is_protected(namespace):
        namespace = None
    return f"{obj.get('kind', '<no kind>')} {namespace + '/' if isinstance(namespace, str) else ''}{name}"


def _pod_specs(node: Any) -> Iterator[dict]:
    """Every dict that holds a container list, anywhere in the object (Deployments, Jobs,
    RayJob head/worker groups, ServingRuntimes, InferenceService components, ...)."""
    if isinstance(node, dict):
        if any(isinstance(node.get(k), list) for k in _POD_SPEC_CONTAINER_KEYS):
            yield node
        for value in node.values():
            yield from _pod_specs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _pod_specs(item)


def _containers(obj: Manifest) -> Iterator[tuple[dict, dict]]:
    """(pod-level securityContext, container) pairs; InferenceService `model` counts as a container."""
    if obj.get("kind") == "Release":
        return
    for pod in _pod_specs(obj.get("spec")):
        for key in _POD_SPEC_CONTAINER_KEYS:
            for container in pod.get(key) or []:
                if isinstance(container, dict):
                    yield pod.get("securityContext") or {}, container
    if obj.get("kind") == "InferenceService":
        for component in (obj.get("spec") or {}).values():
            if isinstance(component, dict) and isinstance(component.get("model"), dict):
                yield component.get("securityContext") or {}, {"name": "model", **component["model"]}


def privileged_or_root_containers(manifests: Iterable[Manifest]) -> list[str]:
    """Containers that run privileged, may escalate, add capabilities, or may run as root
    (runAsUser 0, or runAsNonRoot not set to true at container or pod level)."""
    found = []
    for obj in manifests:
        for pod_ctx, container in _containers(obj):
            ctx = container.get("securityContext") or {}
            name = f"{_ref(obj)}: container {container.get('name', '?')!r}"
            if ctx.get("privileged"):
                found.append(f"{name} runs privileged")
            if ctx.get("allowPrivilegeEscalation", True) is not False:
                found.append(f"{name} allows privilege escalation")
            if ctx.get("capabilities", {}).get("add"):
                found.append(f"{name} adds capabilities {ctx['capabilities']['add']}")
            user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
            non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
            if user == 0 or non_root is not True:
                found.append(f"{name} may run as root (set runAsNonRoot: true and a non-zero runAsUser)")
    return found


def missing_resource_limits(manifests: Iterable[Manifest]) -> list[str]:
    """Containers without cpu and memory limits (GPU requests must also be limited)."""
    found = []
    for obj in manifests:
        for _, container in _containers(obj):
            resources = container.get("resources") or {}
            limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
            name = f"{_ref(obj)}: container {container.get('name', '?')!r}"
            missing = [r for r in ("cpu", "memory") if r not in limits]
            missing += [r for r in requests if r.endswith("/gpu") and r not in limits]
            if missing:
                found.append(f"{name} has no limit for {', '.join(missing)}")
    return found


def wildcard_rbac(manifests: Iterable[Manifest]) -> list[str]:
    """Role/ClusterRole rules with '*' in apiGroups, resources, verbs, resourceNames or URLs."""
    found = []
    for obj in manifests:
        if obj.get("kind") not in ("Role", "ClusterRole"):
            continue
        for index, rule in enumerate(obj.get("rules") or []):
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                if any("*" in str(item) for item in rule.get(field) or []):
                    found.append(f"{_ref(obj)}: rules[{index}].{field} contains a wildcard")
    return found


def _is_default_deny(policy: Manifest) -> bool:
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector")
    selects_all = isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions")
    return (selects_all and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
            and not spec.get("ingress") and not spec.get("egress"))


def tenant_namespaces_without_default_deny(manifests: Iterable[Manifest]) -> list[str]:
    """Namespaces labelled `nuri.io/tenant: "true"` lacking a deny-all ingress+egress policy."""
    manifests = list(manifests)
    denied = {(p.get("metadata") or {}).get("namespace") for p in manifests
              if p.get("kind") == "NetworkPolicy" and _is_default_deny(p)}
    return [f"{_ref(ns)}: tenant namespace has no default-deny NetworkPolicy"
            for ns in manifests
            if ns.get("kind") == "Namespace"
            and ((ns.get("metadata") or {}).get("labels") or {}).get(TENANT_LABEL) == "true"
            and ns["metadata"].get("name") not in denied]


def _is_object_store(obj: Manifest) -> bool:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    return (labels.get(OBJECT_STORE_LABEL) == "true" or "minio" in str(meta.get("name", ""))
            or any("minio" in str(v) for v in labels.values()))


def public_object_store(manifests: Iterable[Manifest]) -> list[str]:
    """Object store reachable from outside the cluster or with anonymous bucket access."""
    found = []
    for obj in manifests:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind == "Service" and _is_object_store(obj):
            if spec.get("type") in _EXPOSED_SERVICE_TYPES or spec.get("externalIPs"):
                found.append(f"{_ref(obj)}: object store exposed outside the cluster ({spec.get('type', 'externalIPs')})")
        elif kind == "Ingress":
            backends = re.findall(r"'name': '([^']+)'", str(spec))
            if any("minio" in b for b in backends):
                found.append(f"{_ref(obj)}: Ingress routes to the object store")
        elif kind == "Release" and "minio" in str(obj.get("chart", "")):
            values = obj.get("values") or {}
            for service in ("service", "consoleService"):
                if (values.get(service) or {}).get("type") in _EXPOSED_SERVICE_TYPES:
                    found.append(f"{_ref(obj)}: values.{service}.type exposes the object store")
            for ingress in ("ingress", "consoleIngress"):
                if (values.get(ingress) or {}).get("enabled"):
                    found.append(f"{_ref(obj)}: values.{ingress} exposes the object store")
            for bucket in values.get("buckets") or []:
                if bucket.get("policy") in _PUBLIC_BUCKET_POLICIES:
                    found.append(f"{_ref(obj)}: bucket {bucket.get('name')!r} allows anonymous {bucket['policy']}")
        if "Statement" in str(obj) and re.search(r"'Principal': (\{'AWS': \[?)?'\*'", str(obj)):
            found.append(f"{_ref(obj)}: bucket policy grants access to any principal")
    return found


def _literal_secrets_in_values(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, dict) and not is_protected(node):
        for key, value in node.items():
            here = f"{path}.{key}"
            normalized = re.sub(r"[^a-z]", "", str(key).lower())
            if (isinstance(value, str) and value and _SECRET_NAME.search(normalized)
                    and not normalized.startswith("existing")):
                yield here
            yield from _literal_secrets_in_values(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _literal_secrets_in_values(item, f"{path}[{index}]")


def plaintext_secrets(manifests: Iterable[Manifest]) -> list[str]:
    """Secret data not protected as a Pulumi secret (e.g. committed in YAML), secret-looking
    literals in ConfigMaps, container env or Helm values."""
    found = []
    for obj in manifests:
        kind = obj.get("kind")
        if kind == "Secret":
            for field in ("data", "stringData"):
                data = obj.get(field)
                if data and not is_protected(data):
                    plain = [k for k, v in data.items() if not is_protected(v)]
                    if plain:
                        found.append(f"{_ref(obj)}: {field} holds plaintext values {sorted(plain)}")
        elif kind == "ConfigMap":
            for key, value in (obj.get("data") or {}).items():
                if _SECRET_NAME.search(re.sub(r"[^a-z]", "", key.lower())) and value:
                    found.append(f"{_ref(obj)}: data.{key} looks like a secret in a ConfigMap")
        elif kind == "Release":
            found += [f"{_ref(obj)}: {p} is a literal secret in Helm values (use existingSecret)"
                      for p in _literal_secrets_in_values(obj.get("values") or {}, "values")]
        for _, container in _containers(obj):
            for env in container.get("env") or []:
                if _SECRET_ENV.search(str(env.get("name", "")).upper()) and env.get("value"):
                    found.append(f"{_ref(obj)}: container {container.get('name', '?')!r} env "
                                 f"{env['name']} is a literal secret (use secretKeyRef)")
    return found


CHECKS: tuple[Callable[[list[Manifest]], list[str]], ...] = (
    privileged_or_root_containers,
    missing_resource_limits,
    wildcard_rbac,
    tenant_namespaces_without_default_deny,
    public_object_store,
    plaintext_secrets,
)


def check_all(manifests: Iterable[Manifest]) -> list[str]:
    """Every check above, violations in check order."""
    manifests = list(manifests)
    return [violation for check in CHECKS for violation in check(manifests)]
