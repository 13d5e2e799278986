"""The Prometheus rules, PrometheusRule and Grafana dashboard generated from a domain
config: they read only what the service exports, and carry the config's numbers."""

from __future__ import annotations

import argparse
import json
import re

import pytest
import yaml

from nuri.config import load_domain_config
from nuri.feedback import monitor, observability
from nuri.feedback.config import FAILURE_KINDS, RATING_KINDS, FeedbackConfig, ObjectivesConfig
from nuri.serving.metrics import OUTCOMES, ServiceMetrics
from nuri_testing import WELFARE

# Odd numbers, so an expression that shows one shows the config's, not a default.
ODD = FeedbackConfig(thresholds={"hallucination": 0.37, "biased": 0.125}, window_hours=36, min_ratings=7,
                     objectives=ObjectivesConfig(window_minutes=30, latency_p99_s=2.75, error_rate=0.0123,
                                                 decline_rate=0.42, availability=0.995))


@pytest.fixture(scope="module")
def welfare():
    return load_domain_config(WELFARE)


@pytest.fixture(scope="module")
def odd(welfare):
    return welfare.model_copy(update={"feedback": ODD})


def exported() -> tuple[set[str], set[str]]:
    """Sample and label names of a service that has seen every outcome and rating kind."""
    m = ServiceMetrics("welfare-v0001")
    for outcome in OUTCOMES:
        m.request("domain", outcome, 0.2, prompt_tokens=3, completion_tokens=4)
    for kind in RATING_KINDS:
        m.rating("welfare-v0001", kind)
    names = set(re.findall(r"^(nuri_\w+?)(?:\{| )", m.exposition().decode(), re.M))
    labels = set(re.findall(r'[{,](\w+)="', m.exposition().decode()))
    return names, labels


def expressions(config) -> list[str]:
    rules = [r["expr"] for g in observability.alert_rules(config)["groups"] for r in g["rules"]]
    panels = [t["expr"] for p in observability.grafana_dashboard(config)["panels"] for t in p["targets"]]
    return rules + panels


def alerts(config) -> dict[str, dict]:
    return {r["alert"]: r for g in observability.alert_rules(config)["groups"] for r in g["rules"]}


def test_expressions_read_only_what_the_service_exports(welfare):
    names, labels = exported()
    assert {"nuri_requests_total", "nuri_request_duration_seconds_bucket", "nuri_ratings_total"} <= names
    for expr in expressions(welfare):
        used = set(re.findall(r"\b(nuri_\w+)", expr))
        assert used and used <= names, expr
        matchers = re.findall(r'(\w+)(=~|!=|=)"([^"]*)"', expr)
        assert {m[0] for m in matchers} <= labels, expr          # no `domain` label: it is not exported
        for label, _, value in matchers:
            if label == "outcome":
                assert set(value.split("|")) <= set(OUTCOMES), expr
            if label == "release":
                assert value == "welfare-v.*", expr              # a domain's series are its releases


def test_one_alert_per_objective_and_per_rating_threshold(welfare, odd):
    objective_alerts = {"NuriLatencyP99High", "NuriErrorRateHigh", "NuriDeclineRateHigh", "NuriAvailabilityLow"}
    assert set(alerts(welfare)) == objective_alerts | {f"NuriRatings{k.capitalize()}High"
                                                       for k in welfare.feedback.thresholds}
    assert set(alerts(odd)) == objective_alerts | {"NuriRatingsHallucinationHigh", "NuriRatingsBiasedHigh"}
    for rule in alerts(odd).values():
        assert rule["labels"]["domain"] == "welfare" and rule["annotations"]["summary"].startswith("welfare:")


def test_each_alert_carries_its_number_from_the_config(odd):
    a = alerts(odd)
    assert a["NuriLatencyP99High"]["expr"].startswith("histogram_quantile(0.99, sum by (le) (rate(")
    assert a["NuriLatencyP99High"]["expr"].endswith(") > 2.75")
    assert a["NuriErrorRateHigh"]["expr"].endswith(" > 0.0123")
    assert a["NuriDeclineRateHigh"]["expr"].endswith(" > 0.42")
    assert 'service="domain"' in a["NuriDeclineRateHigh"]["expr"]
    assert a["NuriAvailabilityLow"]["expr"].endswith(" < 0.995")
    for name in ("NuriLatencyP99High", "NuriErrorRateHigh", "NuriDeclineRateHigh", "NuriAvailabilityLow"):
        assert set(re.findall(r"\[(\w+)\]", a[name]["expr"])) == {"30m"}
    hallucination = a["NuriRatingsHallucinationHigh"]
    assert ">= 0.37)" in hallucination["expr"] and ">= 7)" in hallucination["expr"]
    assert 'kind="hallucination"' in hallucination["expr"]
    assert set(re.findall(r"\[(\w+)\]", hallucination["expr"])) == {"36h"}
    assert hallucination["annotations"]["objective_value"] == "0.37"
    assert a["NuriErrorRateHigh"]["annotations"]["objective_value"] == "0.0123"


def test_thresholds_follow_the_config(welfare, odd):
    before, after = alerts(welfare), alerts(odd)
    assert before["NuriErrorRateHigh"]["expr"] != after["NuriErrorRateHigh"]["expr"]
    threshold = welfare.feedback.thresholds["hallucination"]
    assert before["NuriRatingsHallucinationHigh"]["expr"].count(f">= {threshold:g})") == 1
    assert "NuriRatingsEvasiveHigh" in before and "NuriRatingsEvasiveHigh" not in after


@pytest.mark.parametrize("seconds, text", [(3600, "1h"), (168 * 3600, "168h"), (90 * 60, "90m"), (36, "36s")])
def test_durations_are_prometheus_durations(seconds, text):
    assert observability._duration(seconds) == text


def test_prometheus_rule_is_an_operator_object(odd):
    obj = observability.prometheus_rule(odd, "agency-welfare")
    assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
    assert obj["metadata"]["name"] == "nuri-welfare-slo" and obj["metadata"]["namespace"] == "agency-welfare"
    assert obj["spec"] == observability.alert_rules(odd)
    for group in obj["spec"]["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
            assert all(isinstance(v, str) for v in {**rule["labels"], **rule["annotations"]}.values())
    assert "namespace" not in observability.prometheus_rule(odd, None)["metadata"]


def _panel(dashboard: dict, words: str) -> dict:
    [panel] = [p for p in dashboard["panels"] if p["title"].startswith(words)]
    return panel


def _steps(panel: dict) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_dashboard_thresholds_are_the_config(odd):
    d = observability.grafana_dashboard(odd)
    assert d["uid"] == "nuri-welfare" and d["schemaVersion"] >= 36
    assert _steps(_panel(d, "latency p50 / p99")) == [("green", None), ("red", 2.75)]
    assert _steps(_panel(d, "error rate")) == [("green", None), ("red", 0.0123)]
    assert _steps(_panel(d, "decline rate")) == [("green", None), ("red", 0.42)]
    assert _steps(_panel(d, "availability")) == [("red", None), ("green", 0.995)]   # at least, not at most
    for kind in FAILURE_KINDS:
        panel = _panel(d, f"{kind} share of ratings over 36h")
        limit = ODD.thresholds.get(kind)
        assert _steps(panel) == ([("green", None), ("red", limit)] if limit else [("green", None)])
        assert f'kind="{kind}"' in panel["targets"][0]["expr"]


def test_dashboard_panels_and_datasource(welfare):
    d = observability.grafana_dashboard(welfare)
    titles = " | ".join(p["title"] for p in d["panels"])
    for words in ("requests per second by outcome", "latency p50 / p99", "tokens per second"):
        assert words in titles
    assert [v["name"] for v in d["templating"]["list"] if v["type"] == "datasource"] == ["DS_PROMETHEUS"]
    assert len({p["id"] for p in d["panels"]}) == len(d["panels"])
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in d["panels"]}) == len(d["panels"])
    for p in d["panels"]:
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in p["targets"])


def test_written_files_parse_and_match(odd, tmp_path):
    paths = observability.write_observability(odd, tmp_path / "obs", namespace="agency-welfare")
    assert [p.name for p in paths] == ["nuri-welfare-rules.yaml", "nuri-welfare-prometheusrule.yaml",
                                       "nuri-welfare-dashboard.json", "nuri-welfare-podmonitor.yaml"]
    assert sorted(p.name for p in (tmp_path / "obs").iterdir()) == sorted(p.name for p in paths)  # none aside
    assert yaml.safe_load(paths[0].read_text()) == observability.alert_rules(odd)
    assert yaml.safe_load(paths[1].read_text())["spec"] == observability.alert_rules(odd)
    assert json.loads(paths[2].read_text()) == observability.grafana_dashboard(odd)
    assert yaml.safe_load(paths[3].read_text()) == observability.pod_monitor(odd, "agency-welfare")


def test_prometheus_scrapes_the_served_release_with_its_key_by_reference(odd):
    from nuri.k8s.inference_service import render_inference_service
    from nuri_testing import REPO

    monitor_ = observability.pod_monitor(odd, "agency-welfare")
    endpoint = monitor_["spec"]["podMetricsEndpoints"][0]
    assert endpoint["path"] == "/metrics" and endpoint["authorization"]["credentials"] == {
        "name": odd.deploy.api_key_secret, "key": "apikey"}
    assert "apikey" not in json.dumps(monitor_).replace('"key": "apikey"', "")  # no key value, only its place
    # It selects the pods KServe makes for this domain's InferenceService, on the port the runtime names.
    runtime = yaml.safe_load((REPO / "manifests" / "platform" / "serving" / "nuri-service-runtime.yaml").read_text())
    ports = runtime["spec"]["containers"][0]["ports"]
    assert endpoint["port"] in {p.get("name") for p in ports}
    isvc_name = monitor_["spec"]["selector"]["matchLabels"]["serving.kserve.io/inferenceservice"]
    isvc = render_inference_service(odd, release_name="welfare-v0001", storage_uri="s3://releases/welfare/v0001")
    assert isvc_name == isvc["metadata"]["name"]


def test_monitor_export_writes_them(tmp_path, capsys, monkeypatch):
    from nuri_testing import write_domain

    monkeypatch.delenv("NURI_FEEDBACK_DB_URL", raising=False)
    parser = argparse.ArgumentParser()
    monitor.add_arguments(parser)
    out_dir = tmp_path / "export"
    assert monitor.run(parser.parse_args(["--domain", str(write_domain(tmp_path)), "--export", str(out_dir)])) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"wrote {out_dir / n}" for n in ("nuri-welfare-rules.yaml",
                                                       "nuri-welfare-prometheusrule.yaml",
                                                       "nuri-welfare-dashboard.json",
                                                       "nuri-welfare-podmonitor.yaml")]
    assert not (tmp_path / "storage" / "feedback").exists()   # exporting opens no feedback log
