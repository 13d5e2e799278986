"""Offline Kubernetes checks shared across Nuri: custom resources against upstream CRD
schemas (`crd_schema`) and platform security policy over manifest dicts (`policy`)."""
