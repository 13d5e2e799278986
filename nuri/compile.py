"""Compile the reference pipeline to KFP IR YAML for the cluster, and submit it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from nuri.config import BOOTSTRAP_PATH_FIELDS, DATA_PATH_FIELDS, DomainConfig

log = logging.getLogger("nuri")


def local_paths(config: DomainConfig) -> list[str]:
    """Config fields naming a file or folder on local disk, which a cluster pod cannot read.
    Only fields that hold locations: a licence name or a bad-input policy is not one."""
    def local(value) -> bool:
        return isinstance(value, str) and bool(value) and "://" not in value

    data = config.data
    paths = [f"data.{k}" for k in DATA_PATH_FIELDS if local(getattr(data, k, None))]
    paths += [f"data.sources[{i}].path" for i, src in enumerate(data.sources) if local(getattr(src, "path", None))]
    if data.bootstrap is not None:
        paths += [f"data.bootstrap.{k}" for k in BOOTSTRAP_PATH_FIELDS if local(getattr(data.bootstrap, k, None))]
    if local(config.evaluation.benchmarks):
        paths.append("evaluation.benchmarks")
    if "://" not in config.storage.uri:
        paths.append("storage.uri")
    if config.base_model.source == "pretrained" and "://" not in (config.base_model.path or ""):
        paths.append("base_model.path")
    return paths


def compile_pipeline(config: DomainConfig, out: Path) -> Path:
    """Writes the reference pipeline with this domain's config as the default parameter."""
    from pipelines.reference import build_pipeline_for

    return compile_with_config(build_pipeline_for(config), config, out)


def compile_with_config(pipeline, config: DomainConfig, out: Path) -> Path:
    """Compiles a pipeline function whose `domain_config` parameter defaults to this
    config. Written aside and renamed, so a failed compile never leaves a half file."""
    from kfp import compiler

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.yaml")
    compiler.Compiler().compile(pipeline, str(tmp), pipeline_parameters={"domain_config": config.to_json()})
    os.replace(tmp, out)
    return out


def submit(package: Path, host: str, *, run_id: str, experiment: str = "nuri", namespace: str | None = None,
           config: DomainConfig | None = None):
    """Submits a compiled pipeline to a Kubeflow Pipelines API (e.g. from a notebook).
    The auth token, when needed, comes from KF_PIPELINES_SA_TOKEN_PATH or the in-cluster
    service account, never from arguments."""
    import kfp

    client = kfp.Client(host=host, namespace=namespace)
    arguments = {"run_id": run_id}
    if config is not None:
        arguments["domain_config"] = config.to_json()
    return client.create_run_from_pipeline_package(str(package), arguments=arguments, run_name=f"nuri-{run_id}",
                                                   experiment_name=experiment, namespace=namespace)
