"""Nuri: a Kubeflow-native platform that gives each ministry its own domain-adapted,
aligned language model. The logic lives here; `components/` and `pipelines/` are thin
KFP wrappers around it and `infra/` provisions the cluster."""

__version__ = "0.1.0"
