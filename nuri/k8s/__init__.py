"""Kubernetes objects without a cluster: custom resources checked against upstream CRD
schemas (`crd_schema`), platform security policy over manifest dicts (`policy`), and the
KServe InferenceService that serves a release (`inference_service`)."""
