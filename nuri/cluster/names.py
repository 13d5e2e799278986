"""The platform's shared names: what the Pulumi program (`infra/`) creates and what the
pipelines, RayJobs and InferenceServices (`nuri/`, `pipelines/`) refer to. Both sides
import them from here, so a rename cannot leave one side behind; a test checks the
rendered `manifests/training/` against them.

Per agency (a ministry, `nuri:agencies` entry `<agency>`) the program creates, in the
namespace `agency-<agency>`:

- the secret `nuri-object-store` (keys `accesskey`, `secretkey`, `endpoint`, `bucket`):
  a MinIO user that may read and write the bucket `agency-<agency>` and nothing else;
  every pipeline step, RayJob pod and KServe storage initializer of that agency uses it;
- the service account `nuri-training` (no RBAC, no API token) for RayJob pods;
- the service account `nuri-model-reader` (lists only that secret) for KServe;
- with `nuri:minioTls`, the ConfigMap `nuri-object-store-ca` (key `ca.crt`): the
  private CA that signed MinIO's certificate.

Kubeflow Pipelines is installed standalone: every run's pods are in the namespace
`kubeflow`, as its service account `pipeline-runner`, whatever agency the run is for. So
per agency the program also creates:

- in `kubeflow`, the secret `nuri-object-store-agency-<agency>` (`pipeline_object_store_secret`;
  the same keys, the same bucket-scoped MinIO user): what that agency's pipeline steps read;
- in `agency-<agency>`, the Role and RoleBinding `nuri-pipeline-runner`: `kubeflow`'s
  `pipeline-runner` may create, read, list and delete RayJobs and create, read and patch
  InferenceServices there, nothing else (infra/tenants.py `PIPELINE_RUNNER_RULES`).

A domain config run by that agency therefore points `storage.uri` at
`s3://agency-<agency>/...` (see `agency_storage_uri`), and its RayJobs and
InferenceService go to `agency-<agency>`. Pure constants and string functions: no
Kubernetes, Pulumi or pydantic imports.
"""
from __future__ import annotations

# --- object store (MinIO; infra/minio.py) ----------------------------------------------
OBJECT_STORE_NAMESPACE = "nuri-storage"
OBJECT_STORE_SERVICE = "minio"  # the chart's fullnameOverride: Service, StatefulSet and pod names
OBJECT_STORE_PORT = 9000
OBJECT_STORE_HOST = f"{OBJECT_STORE_SERVICE}.{OBJECT_STORE_NAMESPACE}.svc.cluster.local"

# --- in every agency namespace (infra/tenants.py) ---------------------------------------
AGENCY_PREFIX = "agency-"
OBJECT_STORE_SECRET = "nuri-object-store"
ACCESS_KEY_KEY = "accesskey"
SECRET_KEY_KEY = "secretkey"
OBJECT_STORE_CA_CONFIGMAP = "nuri-object-store-ca"
OBJECT_STORE_CA_KEY = "ca.crt"
# Where pods that talk to a TLS object store mount that ConfigMap.
OBJECT_STORE_CA_MOUNT = "/etc/nuri/object-store-ca"
TRAINING_SERVICE_ACCOUNT = "nuri-training"
MODEL_READER_SERVICE_ACCOUNT = "nuri-model-reader"
FEEDBACK_DB_SECRET = "nuri-feedback-db"

# --- Kubeflow Pipelines, standalone (infra/pipelines.py) ---------------------------------
PIPELINES_NAMESPACE = "kubeflow"  # every run's pods, whatever the agency
PIPELINE_RUNNER_SERVICE_ACCOUNT = "pipeline-runner"  # KFP's default for run pods
# KFP's v2 compiler puts this label on every pod of a run (Workflow spec.podMetadata):
# the drivers' and the steps'. Tenant NetworkPolicies admit run pods by it.
PIPELINE_RUN_POD_LABELS = {"pipelines.kubeflow.org/v2_component": "true"}
PIPELINE_RUNNER_ROLE = "nuri-pipeline-runner"  # Role and RoleBinding in each agency namespace

# --- cluster-wide (manifests/platform/cluster/priority-classes.yaml) ---------------------
TRAINING_PRIORITY_CLASS = "nuri-training"
SERVING_PRIORITY_CLASS = "nuri-serving"


def object_store_url(secure: bool = False) -> str:
    """The in-cluster S3 endpoint, e.g. ``http://minio.nuri-storage.svc.cluster.local:9000``."""
    return f"{'https' if secure else 'http'}://{OBJECT_STORE_HOST}:{OBJECT_STORE_PORT}"


def object_store_ca_file() -> str:
    """Path of the CA bundle inside a pod that mounts OBJECT_STORE_CA_CONFIGMAP."""
    return f"{OBJECT_STORE_CA_MOUNT}/{OBJECT_STORE_CA_KEY}"


def agency_namespace(agency: str) -> str:
    return f"{AGENCY_PREFIX}{agency}"


def pipeline_object_store_secret(agency: str) -> str:
    """The agency's object-store secret in `kubeflow`, for its pipeline steps: the same
    credentials (its bucket only) as `nuri-object-store` in `agency-<agency>`. Suffixed with
    the agency namespace, so no agency name can collide with `nuri-object-store-ca`."""
    return f"{OBJECT_STORE_SECRET}-{agency_namespace(agency)}"


def agency_bucket(agency: str) -> str:
    """The agency's own bucket; its object-store secret can reach no other."""
    return f"{AGENCY_PREFIX}{agency}"


def agency_storage_uri(agency: str) -> str:
    """`storage.uri` for a domain run by this agency in the cluster."""
    return f"s3://{agency_bucket(agency)}/nuri"
