"""Cluster mode: training stages as KubeRay RayJobs (rayjob: pure rendering; submit: Kubernetes and Ray Jobs API glue)."""
