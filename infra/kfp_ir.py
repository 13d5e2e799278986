"""Which compiled pipelines the installed Kubeflow Pipelines backend runs as written.

The KFP SDK (kfp 2.17.0 here) and the backend are released together: backend 2.5.0
shipped with SDK 2.12.2 and kfp-kubernetes 1.4.0, backend 2.17.0 with SDK 2.17.0. An IR
from a newer SDK reaches an older backend unchanged, and the 2.5.0 backend parses it
with Go's protojson, which rejects unknown fields:
- the pipeline spec at upload (backend/src/apiserver/template/v2_template.go): the run
  is refused;
- each task's Kubernetes config in the Argo compiler (backend/src/v2/compiler/
  argocompiler/container.go), which on failure silently skips the task's pod labels
  and annotations (the driver parses the same config leniently, so secrets still work).

`rejections` checks, from the compiled YAML alone and with nothing from upstream:
- the IR's `schemaVersion` and `sdkVersion` against the table `BACKENDS` (the SDK
  releases whose output this project has checked against that backend);
- every key of the Kubernetes platform spec against `EXECUTOR_FIELDS`, the fields
  backend 2.5.0's `kubernetes_executor_config.proto` (kubernetes_platform/proto, tag
  2.5.0) declares. The known case: kfp-kubernetes 2.17's `use_secret_as_env` writes
  `optional: false` into `secretAsEnv`, which 2.5.0 does not know; pass `optional=None`.
It is not a parse against the backend's protos, and no live 2.5.0 backend is exercised
(infra/README.md says what is and is not verified).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Backend:
    version: str
    released_with_sdk: str  # the kfp SDK of the same release
    schema_version: str  # the only pipeline schema the API server accepts
    # SDK releases whose compiled IR this backend parses (checked by tests/infra on the
    # project's own pipelines); anything else is refused until checked.
    checked_sdks: tuple[str, ...]


BACKENDS = {"2.5.0": Backend("2.5.0", released_with_sdk="2.12.2", schema_version="2.1.0", checked_sdks=("2.17.0",))}

# KubernetesExecutorConfig of backend 2.5.0: field -> the keys its entries may have (None:
# a scalar). Parameter references (`*Parameter`, `taskOutputParameter`, ...) are pipeline
# spec messages and map fields (`labels`, `annotations`, ...) free-form: not walked.
# Newer kfp-kubernetes adds e.g. `securityContext` here and `optional` in `secretAsEnv`.
EXECUTOR_FIELDS: dict[str, frozenset[str] | None] = {
    "secretAsVolume": frozenset({"secretName", "mountPath", "optional", "secretNameParameter"}),
    "secretAsEnv": frozenset({"secretName", "keyToEnv", "secretNameParameter"}),
    "pvcMount": frozenset({"taskOutputParameter", "constant", "componentInputParameter", "mountPath",
                           "pvcNameParameter"}),
    "nodeSelector": frozenset({"labels", "nodeSelectorJson"}),
    "podMetadata": frozenset({"labels", "annotations"}),
    "imagePullSecret": frozenset({"secretName", "secretNameParameter"}),
    "imagePullPolicy": None,
    "configMapAsVolume": frozenset({"configMapName", "mountPath", "optional", "configMapNameParameter"}),
    "configMapAsEnv": frozenset({"configMapName", "keyToEnv", "configMapNameParameter"}),
    "activeDeadlineSeconds": None,
    "fieldPathAsEnv": frozenset({"name", "fieldPath"}),
    "tolerations": frozenset({"key", "operator", "value", "effect", "tolerationSeconds", "tolerationJson"}),
    "genericEphemeralVolume": frozenset({"volumeName", "mountPath", "accessModes", "size", "defaultStorageClass",
                                         "storageClassName", "metadata"}),
    "nodeAffinity": frozenset({"matchExpressions", "matchFields", "weight"}),
    "podAffinity": frozenset({"matchPodExpressions", "matchPodLabels", "topologyKey", "namespaces",
                              "matchNamespaceExpressions", "matchNamespaceLabels", "weight", "anti"}),
    "enabledSharedMemory": frozenset({"volumeName", "size"}),
    "emptyDirMounts": frozenset({"volumeName", "mountPath", "medium", "sizeLimit"}),
}
_SELECTOR = frozenset({"key", "operator", "values"})
# (field, key) -> the keys of the nested entries.
NESTED_FIELDS = {
    ("secretAsEnv", "keyToEnv"): frozenset({"secretKey", "envVar"}),
    ("configMapAsEnv", "keyToEnv"): frozenset({"configMapKey", "envVar"}),
    ("nodeAffinity", "matchExpressions"): _SELECTOR, ("nodeAffinity", "matchFields"): _SELECTOR,
    ("podAffinity", "matchPodExpressions"): _SELECTOR, ("podAffinity", "matchNamespaceExpressions"): _SELECTOR,
}
# What an unknown field costs, where it is known.
CONSEQUENCES = {("secretAsEnv", "optional"): "kfp-kubernetes 2.17's use_secret_as_env writes it unless "
                                             "optional=None; the Argo compiler then drops the task's pod labels "
                                             "and annotations"}


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def executor_unknowns(config: dict[str, Any], version: str = "2.5.0") -> list[str]:
    """Keys of one task's Kubernetes config (platform spec executor) that backend `version`'s
    KubernetesExecutorConfig does not declare, as `field.key` paths."""
    if version not in BACKENDS:
        raise KeyError(version)
    found = []
    for field, value in config.items():
        if field not in EXECUTOR_FIELDS:
            found.append(field)
            continue
        allowed = EXECUTOR_FIELDS[field]
        if allowed is None:
            continue
        for entry in _entries(value):
            if not isinstance(entry, dict):
                continue
            for name, inner in entry.items():
                if name not in allowed:
                    found.append(f"{field}.{name}")
                elif (field, name) in NESTED_FIELDS:
                    for item in _entries(inner):
                        found.extend(f"{field}.{name}.{k}" for k in (item if isinstance(item, dict) else {})
                                     if k not in NESTED_FIELDS[(field, name)])
    return found


def rejections(documents: list[dict[str, Any]], version: str) -> list[str]:
    """What backend `version` would refuse or silently drop from a compiled pipeline
    (the YAML documents `kfp.compiler` writes: pipeline spec, then platform spec)."""
    backend = BACKENDS.get(version)
    if backend is None:
        return [f"no SDK pairing is recorded for Kubeflow Pipelines {version} (infra/kfp_ir.py BACKENDS)"]
    spec = documents[0]
    found = []
    sdk = str(spec.get("sdkVersion", "")).removeprefix("kfp-")
    if sdk not in backend.checked_sdks:
        found.append(f"sdkVersion kfp-{sdk} is not checked against backend {version} "
                     f"(checked: {', '.join(backend.checked_sdks)}; released with {backend.released_with_sdk})")
    if spec.get("schemaVersion") != backend.schema_version:
        found.append(f"schemaVersion {spec.get('schemaVersion')} (backend {version} accepts only "
                     f"{backend.schema_version})")
    for platform in documents[1:]:
        executors = platform.get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {}).get("executors", {})
        for name, config in executors.items():
            for path in executor_unknowns(config, version):
                why = CONSEQUENCES.get(tuple(path.split(".")[:2]))
                found.append(f"kubernetes config of {name}: {path} is unknown to backend {version}"
                             + (f" ({why})" if why else ""))
    return found
