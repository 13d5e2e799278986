"""Glue between stage reports and KFP output artifacts (imported inside components)."""

from __future__ import annotations

import math


def log_metrics(metrics_artifact, report: dict) -> None:
    """Copies a stage report's finite numeric metrics into a KFP Metrics artifact, so
    the pipeline UI shows them."""
    for key, value in report.get("metrics", {}).items():
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (int, float)) and math.isfinite(value):
            metrics_artifact.log_metric(key.replace("/", "_"), float(value))
    gate = report.get("gate")
    if gate is not None:
        metrics_artifact.log_metric("gate_passed", 1.0 if gate["passed"] else 0.0)
