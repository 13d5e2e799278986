"""Composes the Nuri platform and exports its endpoints. Run with `pulumi up` from the
repository root (Pulumi.yaml points here). Resources are built in the sibling modules."""
from __future__ import annotations

import sys
from pathlib import Path

import pulumi

# Pulumi runs this file as a script; make the `infra` package importable by its name.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import (  # noqa: E402
    autoscaler, cert_manager, cluster_eks, cluster_existing, config, feedback_db, gpu, kuberay, minio, pipelines, raw_manifests,
    serving, tenants,
)


def compose(cfg: config.PlatformConfig) -> dict[str, pulumi.Output]:
    """Builds everything for one stack and returns the stack outputs."""
    cluster = cluster_eks.create(cfg) if cfg.cluster_mode == "eks" else cluster_existing.create(cfg)
    autoscaler.deploy(cfg, cluster)
    certs = cert_manager.deploy(cfg, cluster)
    gpu.deploy(cfg, cluster)
    raw_manifests.apply("cluster/priority-classes.yaml", cluster, cfg.image_registry, [])
    store = minio.deploy(cfg, cluster, cfg.agency_list, certs)
    kfp = pipelines.deploy(cfg, cluster, store, certs)
    kuberay.deploy(cfg, cluster)
    serving.deploy(cfg, cluster, certs, store)
    namespaces = tenants.create_all(cfg, cluster, store, kfp)  # kfp: their pipeline secrets go in its namespace
    db = feedback_db.deploy(cfg, cluster, namespaces)
    return {
        "pipelinesUiUrl": pulumi.Output.from_input(pipelines.UI_URL),
        "pipelinesApiUrl": pulumi.Output.from_input(pipelines.API_URL),
        "objectStoreUrl": pulumi.Output.from_input(store.url),
        "servingUrlTemplate": pulumi.Output.from_input(serving.URL_TEMPLATE),
        "feedbackDbHost": pulumi.Output.from_input(f"{db.host}:{db.port}"),
        "agencyNamespaces": pulumi.Output.from_input([a.namespace for a in cfg.agency_list]),
        "kubeconfig": pulumi.Output.secret(cluster.kubeconfig),
    }


if __name__ == "__main__":
    for name, value in compose(config.load()).items():
        pulumi.export(name, value)
