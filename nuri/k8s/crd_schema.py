"""Validate custom resources (RayJob, InferenceService, ServingRuntime, ...) offline
against the upstream CRDs kept in `shared/crds/` (no cluster, no network).

    from nuri.k8s.crd_schema import validate_custom_resource
    validate_custom_resource(rayjob_dict)          # raises ValueError naming the field path

The CRD's `openAPIV3Schema` is converted to a JSON Schema with the API server's strict
field-validation semantics: objects reject unknown fields (`additionalProperties: false`)
unless `x-kubernetes-preserve-unknown-fields`; `x-kubernetes-int-or-string` accepts both;
`nullable` admits null; `required` entries that carry a default are dropped (the server
would fill them). CEL rules (`x-kubernetes-validations`) are not evaluated.
"""
from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRDS_DIR_ENV = "NURI_CRDS_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def find_crds_dir() -> Path | None:
    """`$NURI_CRDS_DIR`, else `../shared/crds` beside the repository root; None if absent."""
    candidates = [os.environ.get(CRDS_DIR_ENV), _REPO_ROOT.parent / "shared" / "crds"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the CRDs are megabytes of YAML
_HEADER_GROUP = re.compile(r"^  group: *(\S+)", re.M)
_HEADER_KIND = re.compile(r"^    kind: *(\S+)", re.M)


@functools.lru_cache(maxsize=8)
def _crd_index(crds_dir: Path) -> dict[tuple[str, str], tuple[Path, int]]:
    """(group, kind) -> (file, document index). A file holding one CRD is indexed from its
    header alone, so only the CRDs actually used get parsed; others are parsed in full."""
    index: dict[tuple[str, str], tuple[Path, int]] = {}
    for path in sorted(crds_dir.rglob("*.y*ml")):
        text = path.read_text()
        if "CustomResourceDefinition" not in text:
            continue
        group, kind = _HEADER_GROUP.search(text[:4000]), _HEADER_KIND.search(text[:4000])
        if text.count("kind: CustomResourceDefinition") == 1 and group and kind:
            index[(group.group(1), kind.group(1))] = (path, 0)
            continue
        docs = [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict)]
        for number, doc in enumerate(docs):
            if doc.get("kind") == "CustomResourceDefinition":
                index[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = (path, number)
    return index


@functools.lru_cache(maxsize=32)
def _parse_crd(path: Path, number: int) -> dict:
    docs = [d for d in yaml.load_all(path.read_text(), Loader=_Loader) if isinstance(d, dict)]
    return docs[number]


def load_crd(api_version: str, kind: str, crds_dir: Path | None = None) -> dict:
    """The CRD defining `kind` in the group of `api_version`; ValueError if not found."""
    directory = crds_dir or find_crds_dir()
    if directory is None:
        raise ValueError(f"no CRD folder found (set {CRDS_DIR_ENV} or provide ../shared/crds)")
    group = api_version.rpartition("/")[0]
    found = _crd_index(Path(directory).resolve()).get((group, kind))
    if found is None:
        raise ValueError(f"{kind}: no CRD for {api_version} in {directory}")
    return _parse_crd(*found)


def to_json_schema(node: Any, root: bool = True) -> Any:
    """Convert one openAPIV3Schema (sub)tree into strict JSON Schema (returns a new tree)."""
    if isinstance(node, list):
        return [to_json_schema(n, root=False) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v, root=False) if k not in ("properties", "default", "enum", "example") else v
           for k, v in node.items() if not k.startswith("x-kubernetes-validations")}
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v, root=False) for k, v in node["properties"].items()}
        if root and "metadata" in out["properties"]:
            out["properties"]["metadata"] = {"type": "object"}  # ObjectMeta is checked by the API server itself
        defaults = {k for k, v in node["properties"].items() if isinstance(v, dict) and "default" in v}
        if "required" in out:
            out["required"] = [r for r in out["required"] if r not in defaults]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("x-kubernetes-embedded-resource"):
        out.setdefault("properties", {}).update(
            {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
    if node.get("type") == "object" and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@functools.lru_cache(maxsize=64)
def _validator(crds_dir: Path, api_version: str, kind: str) -> jsonschema.protocols.Validator:
    crd = load_crd(api_version, kind, crds_dir)
    version = api_version.rpartition("/")[2]
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema = to_json_schema(copy.deepcopy(entry["schema"]["openAPIV3Schema"]))
            return jsonschema.Draft7Validator(schema)
    raise ValueError(f"{kind}: CRD has no version {version!r}")


def _path(error: jsonschema.ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def validate_custom_resource(obj: dict, crds_dir: Path | None = None) -> None:
    """Raise ValueError("<Kind> <name>: <field.path>: <problem>") if `obj` breaks its CRD schema."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    name = (obj.get("metadata") or {}).get("name", "<unnamed>")
    if "/" not in api_version or not kind:
        raise ValueError(f"{kind or '<no kind>'} {name}: apiVersion and kind are required")
    directory = crds_dir or find_crds_dir()
    if directory is None:
        raise ValueError(f"{kind} {name}: no CRD folder found (set {CRDS_DIR_ENV} or provide ../shared/crds)")
    try:
        validator = _validator(Path(directory).resolve(), api_version, kind)
    except ValueError as err:
        raise ValueError(f"{kind} {name}: {str(err).removeprefix(kind + ': ')}") from None
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        message = " ".join(error.message.split())
        raise ValueError(f"{kind} {name}: {_path(error)}: {message[:300]}")
