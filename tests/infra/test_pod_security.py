"""infra/pod_security.py: each Pod Security rule fails on its violation and passes the
compliant form, at the level that has it and not below."""
import copy

import pytest

from infra import pod_security

RESTRICTED_CONTAINER = {"name": "app", "image": "app:1", "securityContext": {
    "runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}


def pod(**spec):
    base = {"containers": [copy.deepcopy(RESTRICTED_CONTAINER)]}
    base.update(spec)
    return base


def ctx(**changes):
    """A container whose securityContext differs from the compliant one by `changes` (None removes)."""
    container = copy.deepcopy(RESTRICTED_CONTAINER)
    for key, value in changes.items():
        if value is None:
            container["securityContext"].pop(key, None)
        else:
            container["securityContext"][key] = value
    return pod(containers=[container])


def test_a_compliant_pod_passes_every_level():
    for level in pod_security.LEVELS:
        assert pod_security.pod_violations(pod(volumes=[{"name": "d", "emptyDir": {}}]), level) == []


@pytest.mark.parametrize("spec, expected", [
    (pod(hostNetwork=True), "hostNetwork is true"),
    (pod(hostPID=True), "hostPID is true"),
    (pod(hostIPC=True), "hostIPC is true"),
    (pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), "volume 'root' is a hostPath"),
    (ctx(privileged=True), "container 'app': privileged is true"),
    (ctx(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}), "adds capabilities ['SYS_ADMIN']"),
    (ctx(procMount="Unmasked"), "procMount is 'Unmasked'"),
    (ctx(seccompProfile={"type": "Unconfined"}), "seccompProfile.type is 'Unconfined'"),
    (ctx(seLinuxOptions={"type": "spc_t"}), "seLinuxOptions.type is 'spc_t'"),
    (ctx(windowsOptions={"hostProcess": True}), "windowsOptions.hostProcess is true"),
    (pod(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}), "sysctl 'kernel.msgmax'"),
    (pod(securityContext={"appArmorProfile": {"type": "Unconfined"}}), "appArmorProfile.type is 'Unconfined'"),
    (pod(containers=[{**RESTRICTED_CONTAINER, "ports": [{"containerPort": 80, "hostPort": 80}]}]), "uses hostPort 80"),
])
def test_baseline_rules(spec, expected):
    for level in ("baseline", "restricted"):
        violations = pod_security.pod_violations(spec, level)
        assert any(expected in v for v in violations), (level, violations)
    assert pod_security.pod_violations(spec, "privileged") == []


@pytest.mark.parametrize("spec, expected", [
    (ctx(allowPrivilegeEscalation=None), "allowPrivilegeEscalation is not false"),
    (ctx(runAsNonRoot=None), "runAsNonRoot is not true"),
    (ctx(runAsNonRoot=False), "runAsNonRoot is not true"),
    (ctx(runAsUser=0), "runAsUser is 0"),
    (ctx(seccompProfile=None), "seccompProfile.type is None"),
    (ctx(capabilities={"drop": ["NET_RAW"]}), "capabilities.drop does not contain ALL"),
    (ctx(capabilities={"drop": ["ALL"], "add": ["CHOWN"]}), "restricted allows only NET_BIND_SERVICE"),
    (pod(volumes=[{"name": "nfs", "nfs": {"server": "s", "path": "/"}}]), "volume 'nfs' has type ['nfs']"),
])
def test_restricted_rules_go_beyond_baseline(spec, expected):
    violations = pod_security.pod_violations(spec, "restricted")
    assert any(expected in v for v in violations), violations
    assert pod_security.pod_violations(spec, "baseline") == []


def test_pod_level_settings_count_and_container_settings_override_them():
    inherited = ctx(runAsNonRoot=None, seccompProfile=None)
    inherited["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod_security.pod_violations(inherited, "restricted") == []
    overridden = copy.deepcopy(inherited)
    overridden["containers"][0]["securityContext"]["runAsNonRoot"] = False
    assert pod_security.pod_violations(overridden, "restricted") == ["container 'app': runAsNonRoot is not true (container or pod)"]


def test_init_and_ephemeral_containers_are_checked():
    for key in ("initContainers", "ephemeralContainers"):
        spec = pod(**{key: [{"name": "side", "image": "x", "securityContext": {"privileged": True}}]})
        assert any("container 'side': privileged is true" in v for v in pod_security.pod_violations(spec, "baseline"))


def test_apparmor_annotation_is_a_baseline_rule():
    meta = {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}
    assert pod_security.pod_violations(pod(), "baseline", meta) == [
        "annotation container.apparmor.security.beta.kubernetes.io/app is 'unconfined'"]
    meta["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = "runtime/default"
    assert pod_security.pod_violations(pod(), "baseline", meta) == []


@pytest.mark.parametrize("kind, wrap", [
    ("Pod", lambda spec: {"spec": spec}),
    ("Deployment", lambda spec: {"spec": {"template": {"spec": spec}}}),
    ("CronJob", lambda spec: {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
])
def test_workload_objects_are_checked_through_their_pod_template(kind, wrap):
    obj = {"kind": kind, "metadata": {"name": "w", "namespace": "t"}, **wrap(pod(hostPID=True))}
    assert pod_security.object_violations(obj, "baseline") == [f"{kind} t/w: hostPID is true"]
    assert pod_security.object_violations({"kind": "ConfigMap", "metadata": {"name": "c"}}, "restricted") == []


def test_check_uses_each_namespaces_level_and_flags_unknown_namespaces():
    root = {"kind": "Deployment", "metadata": {"name": "root", "namespace": "a"},
            "spec": {"template": {"spec": ctx(runAsNonRoot=None, runAsUser=None)}}}
    namespaces = [{"kind": "Namespace", "metadata": {"name": "a", "labels": {pod_security.ENFORCE_LABEL: "baseline"}}},
                  {"kind": "Namespace", "metadata": {"name": "b", "labels": {pod_security.ENFORCE_LABEL: "restricted"}}}]
    levels = pod_security.namespace_levels(namespaces)
    assert levels == {"a": "baseline", "b": "restricted"}
    assert pod_security.check([root], levels) == []
    in_b = copy.deepcopy(root)
    in_b["metadata"]["namespace"] = "b"
    assert pod_security.check([in_b], levels) == ["Deployment b/root: container 'app': runAsNonRoot is not true (container or pod)"]
    in_c = copy.deepcopy(root)
    in_c["metadata"]["namespace"] = "c"
    assert pod_security.check([in_c], levels) == ["Deployment c/root: namespace 'c' has no Pod Security level"]
    assert pod_security.check([in_c], levels, default="baseline") == []


def test_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="unknown Pod Security level 'strict'"):
        pod_security.pod_violations(pod(), "strict")
