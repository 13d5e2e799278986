"""Kubernetes Pod Security Standards (`baseline` and `restricted`, policy version
"latest") as pure functions over manifest dicts, so that every pod the platform creates
can be checked offline against the level of the namespace it lands in.

    from infra import pod_security
    pod_security.check(objects, {"kubeflow": "baseline"})        # -> [] when compliant
    pod_security.pod_violations(pod_spec, "restricted")          # one pod spec

Rules follow https://kubernetes.io/docs/concepts/security/pod-security-standards/ for
Linux pods; each violation is one line naming the object, the container and the field.
Windows-only fields (hostProcess) are checked as baseline requires; nothing else about
Windows pods is modelled.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")

# Capabilities baseline lets a container add (the container runtime's default set).
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Volume types restricted allows; baseline forbids only hostPath.
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})
_VOLUME_META_KEYS = {"name"}
_SECCOMP_ALLOWED = ("RuntimeDefault", "Localhost")
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

# Where workload kinds keep their pod template.
_TEMPLATE_PATHS = {
    "Pod": (),
    "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"), "ReplicationController": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def pod_template(obj: Mapping[str, Any]) -> tuple[dict, dict] | None:
    """(pod metadata, pod spec) of a Pod or workload object, None for other kinds."""
    path = _TEMPLATE_PATHS.get(obj.get("kind", ""))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = (node or {}).get(key)
    node = node or {}
    return node.get("metadata") or {}, node.get("spec") or {}


def _containers(spec: Mapping[str, Any]) -> Iterator[dict]:
    for key in CONTAINER_KEYS:
        yield from (c for c in spec.get(key) or [] if isinstance(c, dict))


def _baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> Iterator[str]:
    pod_ctx = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield f"{field} is true"
    if (pod_ctx.get("windowsOptions") or {}).get("hostProcess"):
        yield "securityContext.windowsOptions.hostProcess is true"
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            yield f"volume {volume.get('name')!r} is a hostPath"
    for sysctl in pod_ctx.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"sysctl {sysctl.get('name')!r} is not in the safe set"
    yield from _seccomp_not_unconfined("securityContext", pod_ctx)
    yield from _apparmor("securityContext", pod_ctx)
    yield from _selinux("securityContext", pod_ctx)
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(_APPARMOR_ANNOTATION) and not (value == "runtime/default" or value.startswith("localhost/")):
            yield f"annotation {key} is {value!r}"
    for container in _containers(spec):
        where = f"container {container.get('name', '?')!r}"
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            yield f"{where}: privileged is true"
        if (ctx.get("windowsOptions") or {}).get("hostProcess"):
            yield f"{where}: windowsOptions.hostProcess is true"
        added = set((ctx.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            yield f"{where}: adds capabilities {sorted(added)}"
        if ctx.get("procMount") not in (None, "Default"):
            yield f"{where}: procMount is {ctx['procMount']!r}"
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                yield f"{where}: uses hostPort {port['hostPort']}"
        yield from _seccomp_not_unconfined(f"{where}: securityContext", ctx)
        yield from _apparmor(f"{where}: securityContext", ctx)
        yield from _selinux(f"{where}: securityContext", ctx)


def _seccomp_not_unconfined(where: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    kind = (ctx.get("seccompProfile") or {}).get("type")
    if kind is not None and kind not in _SECCOMP_ALLOWED:
        yield f"{where}.seccompProfile.type is {kind!r}"


def _apparmor(where: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    kind = (ctx.get("appArmorProfile") or {}).get("type")
    if kind is not None and kind not in _SECCOMP_ALLOWED:
        yield f"{where}.appArmorProfile.type is {kind!r}"


def _selinux(where: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    options = ctx.get("seLinuxOptions") or {}
    if options.get("type", "") not in SELINUX_TYPES:
        yield f"{where}.seLinuxOptions.type is {options['type']!r}"
    for field in ("user", "role"):
        if options.get(field):
            yield f"{where}.seLinuxOptions.{field} is set"


def _restricted(spec: Mapping[str, Any]) -> Iterator[str]:
    pod_ctx = spec.get("securityContext") or {}
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - _VOLUME_META_KEYS
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {volume.get('name')!r} has type {sorted(kinds - RESTRICTED_VOLUMES)}"
    if pod_ctx.get("runAsUser") == 0:
        yield "securityContext.runAsUser is 0"
    for container in _containers(spec):
        where = f"container {container.get('name', '?')!r}"
        ctx = container.get("securityContext") or {}
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation is not false"
        # Container settings override the pod's; the effective value is what counts.
        if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
            yield f"{where}: runAsNonRoot is not true (container or pod)"
        if ctx.get("runAsUser") == 0:
            yield f"{where}: runAsUser is 0"
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in _SECCOMP_ALLOWED:
            yield f"{where}: seccompProfile.type is {seccomp!r} (container or pod; needs RuntimeDefault or Localhost)"
        capabilities = ctx.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"{where}: capabilities.drop does not contain ALL"
        extra = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            yield f"{where}: adds capabilities {sorted(extra)} (restricted allows only NET_BIND_SERVICE)"


def pod_violations(spec: Mapping[str, Any], level: str, metadata: Mapping[str, Any] | None = None) -> list[str]:
    """Violations of one pod spec against a level ("privileged" allows everything)."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}; expected one of {LEVELS}")
    if level == "privileged":
        return []
    found = list(_baseline(metadata or {}, spec))
    if level == "restricted":
        found += list(_restricted(spec))
    return found


def object_violations(obj: Mapping[str, Any], level: str) -> list[str]:
    """Violations of a Pod or workload object, prefixed ``Kind namespace/name:``; [] for
    kinds without a pod template."""
    template = pod_template(obj)
    if template is None:
        return []
    meta = obj.get("metadata") or {}
    ref = f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '?')}".replace(" /", " ")
    return [f"{ref}: {v}" for v in pod_violations(template[1], level, template[0])]


def namespace_levels(objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """name -> enforced level of the Namespace objects among these manifests."""
    return {o["metadata"]["name"]: (o["metadata"].get("labels") or {}).get(ENFORCE_LABEL, "privileged")
            for o in objects if o.get("kind") == "Namespace"}


def check(objects: Iterable[Mapping[str, Any]], levels: Mapping[str, str], default: str | None = None) -> list[str]:
    """Every pod-bearing object checked against the level enforced in its namespace
    (`levels`, e.g. from namespace_levels). A pod whose namespace has no known level is
    itself a violation unless `default` names one."""
    found = []
    for obj in objects:
        if pod_template(obj) is None:
            continue
        namespace = (obj.get("metadata") or {}).get("namespace")
        level = levels.get(namespace, default)
        if level is None:
            found.append(f"{obj.get('kind')} {namespace}/{obj['metadata'].get('name')}: "
                         f"namespace {namespace!r} has no Pod Security level")
            continue
        found += object_violations(obj, level)
    return found
