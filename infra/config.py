"""Typed, validated stack configuration for the Nuri platform program.

Every key lives in the `nuri:` namespace and is documented, with its default, in the
repository's Pulumi.yaml; `tests/infra` checks that the two stay in step. Validation
happens once, up front, and fails with a one-line message that names the key.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from nuri.cluster import names

NAMESPACE = "nuri"
# Keys read only as Pulumi secrets (`pulumi config set --secret`), never as PlatformConfig fields.
SECRET_KEYS = ("kubeconfig", "feedbackDbPassword")
AGENCY_NAME = re.compile(r"^[a-z][a-z0-9-]{0,28}[a-z0-9]$")
# Kubernetes resource quantity (e.g. 64, 500m, 256Gi, 1.5Ti).
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block") from None
    return value


class ConfigError(ValueError):
    """A stack config value is missing or invalid; the message names the key."""


class Agency(BaseModel):
    """One ministry. Parsed from a single `nuri:agencies` entry such as
    ``"health gpus=8 cpu=96 memory=512Gi group=oidc:health-ml owner=lead@health.example"``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    group: str = ""
    owner: str = ""
    gpus: int = Field(default=2, ge=0)
    cpu: str = "32"
    memory: str = "128Gi"
    storage: str = "1Ti"
    pods: int = Field(default=100, ge=1)

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not AGENCY_NAME.match(value):
            raise ValueError(f"agency name {value!r} must be a lowercase DNS label of 2-30 characters")
        return value

    @field_validator("cpu", "memory", "storage")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity")
        return value

    @property
    def namespace(self) -> str:
        return names.agency_namespace(self.name)

    @property
    def bucket(self) -> str:
        """Its own bucket; its pipelines' storage.uri is s3://<bucket>/... (nuri/cluster/names.py)."""
        return names.agency_bucket(self.name)

    @classmethod
    def parse(cls, entry: str, group_prefix: str) -> "Agency":
        """``"<name> key=value ..."`` -> Agency. Project config cannot declare object
        types, so an agency is one string: adding an agency stays one config entry."""
        if not entry.split():
            raise ValueError("an agency entry is empty")
        name, *pairs = entry.split()
        fields: dict[str, Any] = {"name": name}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or key not in cls.model_fields or key == "name":
                raise ValueError(f"agency {name!r}: unknown setting {pair!r}")
            fields[key] = value
        fields.setdefault("group", f"{group_prefix}{name}")
        return cls(**fields)


class PlatformConfig(BaseModel):
    """All `nuri:*` keys except the secret `nuri:kubeconfig`, which stays an Output."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    # Cluster
    cluster_mode: Literal["existing", "eks"] = "existing"
    api_server_cidrs: list[str] = []
    storage_class: str = ""
    # Air-gapped operation
    image_registry: str = ""
    chart_mirror: str = ""
    # Pinned platform versions
    cert_manager_version: str = "v1.18.2"
    gpu_mode: Literal["operator", "device-plugin"] = "operator"
    gpu_operator_version: str = "v25.3.2"
    device_plugin_version: str = "0.17.3"
    device_plugin_node_discovery: bool = True  # device-plugin mode: GFD + NFD label the GPU nodes (infra/gpu.py)
    minio_chart_version: str = "5.4.0"
    kuberay_version: str = "1.7.0"
    kserve_version: str = "v0.20.0"
    pipelines_version: str = "2.5.0"
    cluster_autoscaler_version: str = "9.46.6"  # eks mode only
    # Object store
    minio_replicas: int = Field(default=1, ge=1)
    minio_storage_size: str = "500Gi"
    minio_tls: bool = False
    # Pipelines (upstream's kustomize manifests at the pinned tag; infra/kfp_manifests.py)
    pipelines_mode: Literal["standalone"] = "standalone"
    # Empty: github.com/kubeflow/pipelines at /tree/<pipelinesVersion>/. A URL: a git mirror
    # with the same layout. Otherwise: a folder rendered by infra/kfp/render.sh (air-gapped).
    pipelines_manifests: str = ""
    # Tenants
    agency_group_prefix: str = "nuri-agency-"
    agencies: list[str] = []
    # Feedback database (PostgreSQL, one database per agency; infra/feedback_db.py)
    feedback_db: Literal["install", "existing"] = "install"
    feedback_db_version: str = "17.6"  # install: tag of the official postgres image
    feedback_db_storage_size: str = "20Gi"  # install
    feedback_db_host: str = ""  # existing: the server's address
    feedback_db_port: int = Field(default=5432, ge=1, le=65535)
    feedback_db_database: str = "postgres"  # the admin user's database
    feedback_db_user: str = "postgres"  # admin user; creates each agency's role and database
    feedback_db_cidrs: list[str] = []  # existing: the server's addresses, opened for agency egress
    # Managed cloud (AWS EKS)
    eks_region: str = ""
    eks_kubernetes_version: str = "1.33"
    eks_availability_zones: list[str] = []
    eks_vpc_cidr: str = "10.40.0.0/16"
    eks_public_access_cidrs: list[str] = []
    eks_system_instance_type: str = "m6i.xlarge"
    eks_system_min_size: int = Field(default=2, ge=1)
    eks_system_max_size: int = Field(default=4, ge=1)
    eks_gpu_instance_type: str = "g6e.12xlarge"
    eks_gpu_min_size: int = Field(default=0, ge=0)
    eks_gpu_max_size: int = Field(default=4, ge=1)
    eks_gpu_disk_size: int = Field(default=300, ge=50)

    @field_validator("minio_storage_size", "feedback_db_storage_size")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity")
        return value

    @field_validator("eks_public_access_cidrs", "api_server_cidrs", "feedback_db_cidrs")
    @classmethod
    def _no_world(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            _cidr(cidr)
            if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                raise ValueError(f"must not contain a world-open CIDR ({cidr})")
        return cidrs

    @field_validator("pipelines_mode", mode="before")
    @classmethod
    def _no_multi_user(cls, value: str) -> str:
        if value == "multi-user":
            raise ValueError("multi-user is not supported: KFP's multi-user mode needs Kubeflow's profile "
                             "controller, Istio and an authenticating proxy (it trusts a user header), which this "
                             "program does not install; use standalone (see infra/README.md)")
        return value

    @field_validator("pipelines_version")
    @classmethod
    def _release_tag(cls, value: str) -> str:
        # A tag, not a branch: the git URLs pin by it (infra/kfp_manifests.py kustomize_urls).
        if not re.fullmatch(r"\d+\.\d+\.\d+", value):
            raise ValueError(f"{value!r} is not a Kubeflow Pipelines release tag (like 2.5.0)")
        return value

    @field_validator("pipelines_manifests")
    @classmethod
    def _mirror_without_query(cls, value: str) -> str:
        if "://" in value and ("?" in value or "/tree/" in value):
            raise ValueError("give the mirror's repository URL only (like https://git.example/kubeflow/pipelines): "
                             "the program adds /tree/<pipelinesVersion>/manifests/kustomize/..., and Pulumi's git "
                             "retrieval drops a ?ref= query")
        return value

    @field_validator("eks_vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, cidr: str) -> str:
        if ipaddress.ip_network(_cidr(cidr)).prefixlen > 18:
            raise ValueError("needs at least a /18 (four /20 subnets)")
        return cidr

    @field_validator("minio_replicas")
    @classmethod
    def _minio_topology(cls, value: int) -> int:
        if value not in (1,) and value < 4:
            raise ValueError("must be 1 (standalone) or at least 4 (distributed erasure coding)")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "PlatformConfig":
        if self.cluster_mode == "eks":
            if not self.eks_region:
                raise ValueError("eksRegion: is required when clusterMode is eks")
            if self.eks_system_max_size < self.eks_system_min_size:
                raise ValueError("eksSystemMaxSize: must be >= eksSystemMinSize")
            if self.eks_gpu_max_size < self.eks_gpu_min_size:
                raise ValueError("eksGpuMaxSize: must be >= eksGpuMinSize")
            if self.eks_availability_zones and len(set(self.eks_availability_zones)) < 2:
                raise ValueError("eksAvailabilityZones: EKS needs subnets in at least two zones")
        if self.feedback_db == "existing":
            if not self.feedback_db_host:
                raise ValueError("feedbackDbHost: is required when feedbackDb is existing")
            if not self.feedback_db_cidrs:
                raise ValueError("feedbackDbCidrs: is required when feedbackDb is existing "
                                 "(agency pods reach the server through their default-deny egress)")
        try:
            agencies = self.agency_list  # parses and validates every entry
        except ValidationError as err:
            raise ValueError(f"agencies: {err.errors()[0]['msg'].removeprefix('Value error, ')}") from None
        except ValueError as err:
            raise ValueError(f"agencies: {err}") from None
        names = [a.name for a in agencies]
        if len(names) != len(set(names)):
            raise ValueError(f"agencies: duplicate agency name in {names}")
        return self

    @property
    def agency_list(self) -> list[Agency]:
        return [Agency.parse(entry, self.agency_group_prefix) for entry in self.agencies]


def key(field: str) -> str:
    """Fully qualified config key of a PlatformConfig field, e.g. ``nuri:clusterMode``."""
    return f"{NAMESPACE}:{PlatformConfig.model_fields[field].alias}"


def parse(raw: dict[str, Any]) -> PlatformConfig:
    """Validate raw config values (camelCase keys, as strings or already-typed values)."""
    values: dict[str, Any] = {}
    for name, field in PlatformConfig.model_fields.items():
        if field.alias not in raw or raw[field.alias] is None:
            continue
        value = raw[field.alias]
        if isinstance(value, str) and field.annotation is not str and value[:1] in "[{":
            value = json.loads(value)  # Pulumi passes arrays as JSON text
        values[field.alias] = value
    unknown = set(raw) - {f.alias for f in PlatformConfig.model_fields.values()} - set(SECRET_KEYS)
    if unknown:
        raise ConfigError(f"{NAMESPACE}:{sorted(unknown)[0]}: unknown config key")
    try:
        return PlatformConfig(**values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if not where and ":" in message:  # model-level check: message starts with the key
            where, _, message = message.partition(": ")
        raise ConfigError(f"{NAMESPACE}:{where}: {message}") from None


def load() -> PlatformConfig:
    """Read and validate the stack's `nuri:*` config from the Pulumi engine."""
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    raw = {f.alias: cfg.get(f.alias) for f in PlatformConfig.model_fields.values()}
    return parse(raw)


def kubeconfig_secret():
    """The `nuri:kubeconfig` secret as an Output (never a plain string), or None if unset."""
    import pulumi

    if not pulumi.runtime.get_config(f"{NAMESPACE}:kubeconfig"):
        return None
    return pulumi.Config(NAMESPACE).require_secret("kubeconfig")


def feedback_db_password():
    """`nuri:feedbackDbPassword` (existing mode: the admin user's password) as a secret
    Output, or None if unset. Like the kubeconfig, it only ever exists encrypted."""
    import pulumi

    if not pulumi.runtime.get_config(f"{NAMESPACE}:feedbackDbPassword"):
        return None
    return pulumi.Config(NAMESPACE).require_secret("feedbackDbPassword")
