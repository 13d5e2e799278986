"""Labels every Kubernetes object Nuri creates carries (RayJobs, InferenceServices)."""

LABEL_DOMAIN = "nuri.io/domain"
LABEL_MANAGED = "app.kubernetes.io/managed-by"
MANAGED_BY = "nuri"
