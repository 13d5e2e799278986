"""The cluster's view of a domain's objectives, generated from its config: Prometheus
alerting rules (a plain rules file and a Prometheus Operator `PrometheusRule`) and a
Grafana dashboard. The numbers are `feedback.objectives` and `feedback.thresholds`, the
same ones `nuri monitor` checks, so the alert, the panel and the command agree.

    nuri monitor --domain domains/welfare.yaml --export build/observability

The service does not export a `domain` label; a domain's series are its releases,
named `<domain>-vNNNN`, so every expression selects `release=~"<domain>-v.*"`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from nuri.feedback.config import FAILURE_KINDS
from nuri.serving.metrics import GUARDED, LATENCY, RATINGS, REQUESTS, SERVED, TOKENS

ALERT_FOR = "5m"   # a breach must last this long: one slow burst is not an incident


def _selector(config, **extra: str) -> str:
    # Domain names are slugs ([a-z][a-z0-9-]*): nothing in them needs escaping.
    parts = [f'release=~"{config.name}-v.*"'] + [f'{k}{v}' for k, v in extra.items()]
    return "{" + ",".join(parts) + "}"


def _duration(seconds: float) -> str:
    """A Prometheus duration: whole hours or minutes when exact, else seconds."""
    s = max(1, round(seconds))
    return f"{s // 3600}h" if s % 3600 == 0 else f"{s // 60}m" if s % 60 == 0 else f"{s}s"


def _num(x: float) -> str:
    """The config's number exactly as written (shortest round-trip form), e.g. 0.01, 5."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _re(values) -> str:
    return '=~"' + "|".join(values) + '"'


def _requests(config, window: str, **match: str) -> str:
    return f"sum(rate({REQUESTS}_total{_selector(config, **match)}[{window}]))"


# --- expressions (shared by the alerts and the dashboard) ------------------------------------

def latency_quantile(config, q: float, window: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({LATENCY}_bucket{_selector(config)}[{window}])))"


def error_share(config, window: str) -> str:
    errors = _requests(config, window, outcome='="error"')
    return f"{errors} / {_requests(config, window)}"


def decline_share(config, window: str) -> str:
    domain = '="domain"'
    return (f"{_requests(config, window, service=domain, outcome=_re(GUARDED))} / "
            f"{_requests(config, window, service=domain, outcome=_re(('answered',) + GUARDED))}")


def served_share(config, window: str) -> str:
    return f"{_requests(config, window, outcome=_re(SERVED))} / {_requests(config, window)}"


def rating_share(config, kind: str, window: str) -> str:
    """Per release: the share of `kind` among the ratings in the window."""
    kind_sel = _selector(config, kind=f'="{kind}"')
    return (f"sum by (release) (increase({RATINGS}_total{kind_sel}[{window}])) / "
            f"sum by (release) (increase({RATINGS}_total{_selector(config)}[{window}]))")


# --- Prometheus rules -------------------------------------------------------------------------

def _alert(config, name: str, expr: str, objective: str, value: float, summary: str) -> dict:
    return {"alert": name, "expr": expr, "for": ALERT_FOR,
            "labels": {"severity": "warning", "domain": config.name, "objective": objective},
            "annotations": {"summary": summary, "objective_value": _num(value),
                            "description": f"{summary} (measured {{{{ $value | humanize }}}})"}}


def alert_rules(config) -> dict:
    """A Prometheus rules file: one alert per objective, one per rating threshold."""
    obj, fb = config.feedback.objectives, config.feedback
    w = _duration(obj.window_minutes * 60)
    slo = [
        _alert(config, "NuriLatencyP99High", f"{latency_quantile(config, 0.99, w)} > {_num(obj.latency_p99_s)}",
               "latency_p99_s", obj.latency_p99_s,
               f"{config.name}: p99 latency over {w} above {_num(obj.latency_p99_s)} s"),
        _alert(config, "NuriErrorRateHigh", f"{error_share(config, w)} > {_num(obj.error_rate)}",
               "error_rate", obj.error_rate, f"{config.name}: more than {_num(obj.error_rate)} of requests "
                                             f"answered 5xx over {w}"),
        _alert(config, "NuriDeclineRateHigh", f"{decline_share(config, w)} > {_num(obj.decline_rate)}",
               "decline_rate", obj.decline_rate, f"{config.name}: the guard declined or refused more than "
                                                 f"{_num(obj.decline_rate)} of domain questions over {w}"),
        _alert(config, "NuriAvailabilityLow", f"{served_share(config, w)} < {_num(obj.availability)}",
               "availability", obj.availability, f"{config.name}: fewer than {_num(obj.availability)} of "
                                                 f"requests served (not 5xx, not busy) over {w}"),
    ]
    rw = _duration(fb.window_hours * 3600)
    enough = (f"sum by (release) (increase({RATINGS}_total{_selector(config)}[{rw}])) "
              f">= {fb.min_ratings}")
    ratings = [
        _alert(config, f"NuriRatings{kind.capitalize()}High",
               # `and on (release)`: fewer than min_ratings ratings say nothing, as in nuri monitor.
               f"({rating_share(config, kind, rw)} >= {_num(threshold)}) and on (release) ({enough})",
               f"rating_{kind}", threshold, f"{config.name}: {kind} ratings at or above {_num(threshold)} of a "
                                            f"release's ratings over {rw}: retrain due")
        for kind, threshold in fb.thresholds.items()
    ]
    return {"groups": [{"name": f"nuri-{config.name}-objectives", "rules": slo},
                       {"name": f"nuri-{config.name}-ratings", "rules": ratings}]}


def prometheus_rule(config, namespace: str | None) -> dict:
    """The same groups as a Prometheus Operator object. The operator picks rules by its
    ruleSelector (kube-prometheus-stack: the label `release: <helm release>`); add that
    label at apply time if the cluster's Prometheus needs it."""
    metadata = {"name": f"nuri-{config.name}-slo",
                "labels": {"app.kubernetes.io/part-of": "nuri", "nuri.dev/domain": config.name}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": metadata,
            "spec": alert_rules(config)}


# --- Grafana ------------------------------------------------------------------------------------

DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def _thresholds(limit: float | None, *, at_least: bool = False) -> dict:
    """Green on the good side of the objective, red past it; drawn as a dashed line."""
    if limit is None:
        steps = [{"color": "green", "value": None}]
    elif at_least:
        steps = [{"color": "red", "value": None}, {"color": "green", "value": limit}]
    else:
        steps = [{"color": "green", "value": None}, {"color": "red", "value": limit}]
    return {"mode": "absolute", "steps": steps}


def _panel(pid: int, title: str, targets: list[tuple[str, str]], unit: str, limit: float | None = None, *,
           at_least: bool = False, max_: float | None = None) -> dict:
    defaults = {"unit": unit, "thresholds": _thresholds(limit, at_least=at_least),
                "custom": {"thresholdsStyle": {"mode": "dashed" if limit is not None else "off"}}}
    if max_ is not None:
        defaults.update(min=0, max=max_)
    return {"id": pid, "type": "timeseries", "title": title, "datasource": DATASOURCE,
            "gridPos": {"h": 8, "w": 12, "x": 12 * ((pid - 1) % 2), "y": 8 * ((pid - 1) // 2)},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
                        for i, (expr, legend) in enumerate(targets)]}


def grafana_dashboard(config) -> dict:
    obj, fb = config.feedback.objectives, config.feedback
    w = "$__rate_interval"   # Grafana picks a window that fits the scrape interval
    ow = _duration(obj.window_minutes * 60)
    rw = _duration(fb.window_hours * 3600)
    panels = [
        ("requests per second by outcome",
         [(f"sum by (outcome) (rate({REQUESTS}_total{_selector(config)}[{w}]))", "{{outcome}}")], "reqps", None,
         {}),
        (f"latency p50 / p99 (objective p99 <= {_num(obj.latency_p99_s)} s)",
         [(latency_quantile(config, 0.5, w), "p50"), (latency_quantile(config, 0.99, w), "p99")], "s",
         obj.latency_p99_s, {}),
        (f"error rate over {ow} (objective <= {_num(obj.error_rate)})", [(error_share(config, ow), "5xx share")],
         "percentunit", obj.error_rate, {}),
        (f"availability over {ow} (objective >= {_num(obj.availability)})", [(served_share(config, ow), "served")],
         "percentunit", obj.availability, {"at_least": True, "max_": 1}),
        (f"decline rate of the domain service over {ow} (objective <= {_num(obj.decline_rate)})",
         [(decline_share(config, ow), "declined or refused")], "percentunit", obj.decline_rate, {"max_": 1}),
        ("tokens per second", [(f"sum by (kind) (rate({TOKENS}_total{_selector(config)}[{w}]))", "{{kind}}")],
         "short", None, {}),
    ]
    for kind in FAILURE_KINDS:
        limit = fb.thresholds.get(kind)
        title = f"{kind} share of ratings over {rw}" + (f" (retrain at {_num(limit)})" if limit is not None else "")
        panels.append((title, [(rating_share(config, kind, rw), "{{release}}")], "percentunit", limit,
                       {"max_": 1}))
    return {
        "uid": f"nuri-{config.name}", "title": f"Nuri {config.name}: service and feedback",
        "tags": ["nuri", config.name], "schemaVersion": 39, "version": 1, "editable": True,
        "time": {"from": "now-24h", "to": "now"}, "refresh": "1m",
        "templating": {"list": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                                 "query": "prometheus", "current": {}, "hide": 0}]},
        "panels": [_panel(i, title, targets, unit, limit, **kw)
                   for i, (title, targets, unit, limit, kw) in enumerate(panels, start=1)],
    }


def pod_monitor(config, namespace: str | None) -> dict:
    """What makes the Prometheus Operator scrape the served release's /metrics: the
    InferenceService's pods, with the service's API key as the bearer token, by reference
    to its secret (the key never enters this file)."""
    from nuri.k8s.inference_service import service_name

    name = service_name(config)
    metadata = {"name": f"nuri-{config.name}", "labels": {"app.kubernetes.io/part-of": "nuri"}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": metadata,
            "spec": {"selector": {"matchLabels": {"serving.kserve.io/inferenceservice": name}},
                     "podMetricsEndpoints": [{
                         "port": "http1", "path": "/metrics", "interval": "30s",
                         "authorization": {"type": "Bearer", "credentials": {
                             "name": config.deploy.api_key_secret, "key": "apikey"}}}]}}


# --- files ----------------------------------------------------------------------------------------

def _write_aside(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)   # all or nothing: a reader never sees half a file
    return path


def write_observability(config, out_dir: Path, namespace: str | None = None) -> list[Path]:
    """The rules file, the PrometheusRule (namespace: the given one, else deploy.namespace,
    else none: kubectl's) and the dashboard, in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"nuri-{config.name}"
    dump = lambda obj: yaml.safe_dump(obj, allow_unicode=True, sort_keys=False, width=1000)  # noqa: E731
    return [
        _write_aside(out_dir / f"{name}-rules.yaml", dump(alert_rules(config))),
        _write_aside(out_dir / f"{name}-prometheusrule.yaml",
                     dump(prometheus_rule(config, namespace or config.deploy.namespace))),
        _write_aside(out_dir / f"{name}-dashboard.json",
                     json.dumps(grafana_dashboard(config), ensure_ascii=False, indent=2) + "\n"),
        _write_aside(out_dir / f"{name}-podmonitor.yaml", dump(pod_monitor(config, namespace or config.deploy.namespace))),
    ]
