"""Runs the Pulumi program (infra/__main__.py) under Pulumi's unit-test mocks.

`PlatformMocks` is a STAND-IN for the Pulumi engine and its providers, which cannot run
here (no Pulumi CLI, no cluster, no cloud): it records every resource registration with
its inputs, answers provider-computed outputs with placeholders, and answers the one
provider function the program invokes (YAML decode) offline.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from pulumi.runtime.rpc import is_rpc_secret

REPO_ROOT = Path(__file__).resolve().parents[2]
# Upstream renderings (../shared/upstream/README.md): what a kustomize git URL renders to.
SHARED_UPSTREAM = REPO_ROOT.parent / "shared" / "upstream"
KUSTOMIZE_RENDERINGS = {"manifests/kustomize/cluster-scoped-resources": "cluster-scoped-resources.yaml",
                        "manifests/kustomize/env/platform-agnostic": "env-platform-agnostic.yaml"}
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
# A small on-premise stack: defaults everywhere, two agencies.
MINIMAL = {"agencies": ["health gpus=4 cpu=64 memory=256Gi", "tax"]}


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.typ.rsplit(":", 1)[-1]


def unwrap(value: Any) -> Any:
    """Inputs with Pulumi secret envelopes replaced by their plain values."""
    if is_rpc_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class PlatformMocks(pulumi.runtime.Mocks):
    """Stand-in engine: records registrations, fakes provider outputs, answers invokes offline."""

    def __init__(self) -> None:
        self.registered: list[Registered] = []
        self.invokes: list[tuple[str, dict[str, Any]]] = []  # provider functions called: (token, args)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append(Registered(args.typ, args.name, args.inputs))
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = f"mock-password-{args.name}"
        elif args.typ == "tls:index/privateKey:PrivateKey":
            state["privateKeyPem"] = f"-----BEGIN PRIVATE KEY-----\nmock-{args.name}\n-----END PRIVATE KEY-----\n"
        elif args.typ == "tls:index/selfSignedCert:SelfSignedCert":
            state["certPem"] = f"-----BEGIN CERTIFICATE-----\nmock-{args.name}\n-----END CERTIFICATE-----\n"
        elif args.typ.startswith("aws:"):
            state.setdefault("arn", f"arn:aws:mock:::{args.name}")
            if args.typ == "aws:eks/cluster:Cluster":
                state.update(name=args.name, endpoint="https://mock.eks.example",
                             certificateAuthority={"data": "bW9jay1jYQ=="},
                             identities=[{"oidcs": [{"issuer": "https://oidc.eks.mock.example/id/NURI"}]}])
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append((args.token, dict(args.args)))
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # KFP's manifests are large
        if args.token == "kubernetes:yaml:decode":
            return {"result": [d for d in yaml.load_all(args.args["text"], Loader=loader) if d]}
        if args.token == "kubernetes:kustomize:directory":
            # A git URL .../tree/<ref>/<path>, answered with the shared rendering of upstream
            # at that ref; nothing when that rendering is not on this machine.
            ref, _, path = args.args["directory"].partition("/tree/")[2].partition("/")
            rendering = SHARED_UPSTREAM / f"kfp-{ref}" / KUSTOMIZE_RENDERINGS.get(path, "?")
            if not rendering.is_file():
                return {"result": []}
            return {"result": [d for d in yaml.load_all(rendering.read_text(), Loader=loader) if d]}
        raise NotImplementedError(f"mock has no answer for {args.token}")


@dataclass
class Rendered:
    """Everything one run of the program registered, and its stack outputs."""

    registered: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    invokes: list[tuple[str, dict[str, Any]]] = ()

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.registered if r.typ == typ]

    def k8s(self, kind: str, namespace: str | None = None) -> list[dict]:
        """Kubernetes objects of a kind (secrets still wrapped), optionally in one namespace."""
        found = [r.inputs for r in self.registered
                 if r.typ.startswith("kubernetes:") and r.kind == kind and "metadata" in r.inputs]
        if namespace is not None:
            found = [o for o in found if o["metadata"].get("namespace", o["metadata"].get("name")) == namespace
                     and (kind == "Namespace" or o["metadata"].get("namespace") == namespace)]
        return found

    def one(self, kind: str, name: str, namespace: str | None = None) -> dict:
        matches = [o for o in self.k8s(kind, namespace) if o["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
        return matches[0]

    def release(self, name: str) -> dict:
        matches = [r.inputs for r in self.of_type("kubernetes:helm.sh/v3:Release") if r.inputs.get("name") == name]
        assert len(matches) == 1, f"expected one Helm release {name!r}, found {len(matches)}"
        return matches[0]

    def releases(self) -> dict[str, dict]:
        return {r.inputs["name"]: r.inputs for r in self.of_type("kubernetes:helm.sh/v3:Release")}

    def manifests(self) -> list[dict]:
        """Kubernetes objects and Helm releases as manifest dicts for nuri.k8s.policy."""
        result = []
        for r in self.registered:
            if not r.typ.startswith("kubernetes:") or r.typ.startswith("pulumi:providers"):
                continue
            if r.typ == "kubernetes:helm.sh/v3:Release":
                result.append({"apiVersion": "helm.sh/v3", "kind": "Release", **r.inputs})
            elif "kind" in r.inputs:
                result.append(dict(r.inputs))
        return result


def render(raw_config: dict[str, Any], kubeconfig: str | None = KUBECONFIG) -> Rendered:
    """Run infra/__main__.py's compose() for this config under mocks and collect the result."""
    mocks = PlatformMocks()
    pulumi.runtime.set_mocks(mocks, project="nuri", stack="test", preview=False)
    pulumi.runtime.set_all_config({"nuri:kubeconfig": kubeconfig} if kubeconfig else {},
                                  ["nuri:kubeconfig"] if kubeconfig else [])
    from infra import config
    from infra.__main__ import compose  # imported after set_mocks, as Pulumi's docs require

    cfg = config.parse(raw_config)
    values: dict[str, Any] = {}
    secrets: set[str] = set()

    @pulumi.runtime.test
    def run():
        outputs = compose(cfg)

        async def collect() -> None:
            for name, output in outputs.items():
                values[name] = await output.future()
                if await output.is_secret():
                    secrets.add(name)

        return pulumi.Output.from_input(asyncio.ensure_future(collect()))

    run()
    return Rendered(mocks.registered, values, secrets, mocks.invokes)


def stack_config(stack: str) -> dict[str, Any]:
    """`nuri:*` values of an example stack file, as `pulumi` would pass them (namespace stripped)."""
    data = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    return {k.split(":", 1)[1]: v for k, v in (data.get("config") or {}).items()
            if k.startswith("nuri:") and k != "nuri:kubeconfig"}
