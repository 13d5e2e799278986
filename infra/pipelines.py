"""Kubeflow Pipelines (standalone), wired to the platform's MinIO.

The manifests are upstream's kustomize directories at the pinned release tag, rendered by
the Kubernetes provider at `pulumi up` (`kustomize.Directory` from a git URL with a
`/tree/<tag>/` segment), or, with `nuri:pipelinesManifests`, a git mirror of the same layout
or a local folder rendered by `infra/kfp/render.sh`. Every object passes through the pure
transformation in `kfp_manifests.py`; this module only creates the resources. Order: the
namespace and generated secrets, then KFP's CRDs, then the cache server's certificate
(cert-manager), then KFP.

Standalone KFP runs every pipeline in this namespace, as its `pipeline-runner` service
account, with the credentials in `mlpipeline-minio-artifact` (limited to the
`pipeline-artifacts` bucket). Multi-user mode is not offered: see infra/README.md.
"""
from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import yaml

from nuri.cluster import names

from . import charts, kfp_manifests, minio
from .cluster import Cluster
from .config import PlatformConfig
from .kfp_manifests import ARTIFACT_SECRET, MYSQL_SECRET, NAMESPACE
from .minio import PIPELINES_BUCKET, PORT, ObjectStore, generated_password

UI_URL = f"http://ml-pipeline-ui.{NAMESPACE}.svc.cluster.local"
API_URL = f"http://ml-pipeline.{NAMESPACE}.svc.cluster.local:8888"
MYSQL_USER = "root"  # the user every KFP component reads from mysql-secret
# With TLS: MinIO's CA as the ConfigMap every platform namespace gets, and as a Secret for Argo.
CA = kfp_manifests.CaBundle(configmap=names.OBJECT_STORE_CA_CONFIGMAP, key=names.OBJECT_STORE_CA_KEY,
                            mount=names.OBJECT_STORE_CA_MOUNT, secret=names.OBJECT_STORE_CA_CONFIGMAP)


def target(cfg: PlatformConfig, store: ObjectStore) -> kfp_manifests.Target:
    return kfp_manifests.Target(store_host=store.host, store_port=PORT, secure=store.secure,
                                bucket=PIPELINES_BUCKET, image_registry=cfg.image_registry,
                                ca=CA if store.ca_cert is not None else None)


def _secret(name: str, data: dict, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        f"{NAMESPACE}-{name}", metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE), type="Opaque",
        string_data=pulumi.Output.secret(data),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])))


def _group(name: str, objects: list[dict], opts: pulumi.ResourceOptions) -> k8s.yaml.ConfigGroup:
    # Plain YAML text: the provider decodes it into one typed resource per object.
    text = yaml.dump_all(objects, Dumper=kfp_manifests.SAFE_DUMPER, sort_keys=False)
    return k8s.yaml.ConfigGroup(name, yaml=[text], opts=opts)


def manifest_sources(cfg: PlatformConfig) -> dict[str, str]:
    """{rendering file: where it comes from}: git URLs of the kustomize directories at the
    pinned tag, or the files of a local rendering (`nuri:pipelinesManifests` without `://`)."""
    source = cfg.pipelines_manifests
    if not source or "://" in source:
        return kfp_manifests.kustomize_urls(cfg.pipelines_version, source or kfp_manifests.UPSTREAM_REPO)
    folder = Path(source).expanduser()
    files = {file: str(folder / file) for file in kfp_manifests.KUSTOMIZE_DIRS}
    missing = [path for path in files.values() if not Path(path).is_file()]
    if missing:  # ConfigGroup would apply nothing for a missing file, silently
        raise ValueError(f"nuri:pipelinesManifests: {', '.join(missing)} not found; render Kubeflow Pipelines "
                         f"{cfg.pipelines_version} there with infra/kfp/render.sh")
    return files


def _manifests(name: str, source: str, transform, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    if "://" in source:
        # v1 kustomize.Directory: the program's transformations run on each object (v2 has none).
        return k8s.kustomize.Directory(name, directory=source, transformations=[transform], opts=opts)
    return k8s.yaml.ConfigGroup(name, files=[source], transformations=[transform], opts=opts)


def deploy(cfg: PlatformConfig, cluster: Cluster, store: ObjectStore, cert_manager: pulumi.Resource) -> pulumi.Resource:
    opts = pulumi.ResourceOptions(provider=cluster.provider)
    # "baseline", not "restricted": the pods Argo starts for pipeline runs land here and
    # KFP 2.5 gives them no securityContext. KFP's own pods meet "restricted" (a test holds it).
    ns = charts.namespace(NAMESPACE, "baseline", opts)
    in_ns = pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns])
    prerequisites: list[pulumi.Resource] = [
        _secret(ARTIFACT_SECRET, {"accesskey": store.pipelines.access_key, "secretkey": store.pipelines.secret_key}, in_ns),
        # Upstream runs MySQL as root with an empty password; the components read this secret.
        _secret(MYSQL_SECRET, {"username": MYSQL_USER, "password": generated_password("kfp-mysql-root", 32)}, in_ns),
    ]
    if store.ca_cert is not None:
        prerequisites.append(minio.ca_bundle(store, NAMESPACE, in_ns))
        prerequisites.append(_secret(CA.secret, {CA.key: store.ca_cert}, in_ns))  # public, but Argo reads only Secrets
    sources = manifest_sources(cfg)
    transform = kfp_manifests.transformation(target(cfg, store), cfg.pipelines_version)
    crds = _manifests("kubeflow-pipelines-crds", sources[kfp_manifests.CLUSTER_FILE], transform, in_ns)
    cache_tls = _group("kubeflow-pipelines-cache-tls", kfp_manifests.cache_webhook_tls(),
                       pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns, cert_manager]))
    return _manifests("kubeflow-pipelines", sources[kfp_manifests.ENV_FILE], transform, pulumi.ResourceOptions(
        provider=cluster.provider, depends_on=[ns, *prerequisites, crds, cache_tls, store.release]))
