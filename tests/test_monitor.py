"""`nuri monitor`: rating rates against the retrain thresholds, their chart, and the
service objectives read from a real /metrics exposition."""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import json
import threading

import pytest

from nuri.config import load_domain_config
from nuri.feedback import monitor
from nuri.feedback.config import FAILURE_KINDS, FeedbackConfig, ObjectivesConfig
from nuri.feedback.store import FeedbackStore
from nuri.serving.metrics import ServiceMetrics
from nuri_testing import write_domain

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
FB = FeedbackConfig(thresholds={"hallucination": 0.5, "harmful": 0.05}, window_hours=24, min_ratings=10)


def ratings(kind: str, n: int, hours_ago: float = 1, release: str = "welfare-v0001") -> list[dict]:
    at = NOW - dt.timedelta(hours=hours_ago)
    return [{"id": i, "completion_id": f"c{i}", "created_at": at, "release": release, "service": "domain",
             "kind": kind} for i in range(n)]


def by_kind(report: monitor.RatesReport) -> dict[str, monitor.KindRate]:
    return {k.kind: k for k in report.kinds}


# --- rating rates ---------------------------------------------------------------------------

def test_a_threshold_is_crossed_only_with_enough_ratings():
    few = monitor.rating_rates(ratings("hallucination", 9), FB, release=None, now=NOW)
    assert few.total == 9 and not few.enough
    assert by_kind(few)["hallucination"].rate == 1.0 and few.crossed == []
    assert "fewer than min_ratings 10" in monitor.verdict(few)

    enough = monitor.rating_rates(ratings("hallucination", 10), FB, release=None, now=NOW)
    assert enough.enough and enough.crossed == ["hallucination"]
    assert monitor.verdict(enough) == "retrain: due (hallucination 1.00 >= 0.50)"


@pytest.mark.parametrize("bad, crossed", [(6, True), (5, True), (4, False)])
def test_good_ratings_count_in_the_total(bad, crossed):
    report = monitor.rating_rates(ratings("hallucination", bad) + ratings("good", 10 - bad), FB, release=None,
                                  now=NOW)
    h = by_kind(report)["hallucination"]
    assert report.total == 10 and h.count == bad and h.rate == pytest.approx(bad / 10)
    assert by_kind(report)["good"].rate == pytest.approx(1 - bad / 10)
    assert h.crossed is crossed and (report.crossed == ["hallucination"]) is crossed


def test_ratings_older_than_the_window_do_not_count():
    report = monitor.rating_rates(ratings("hallucination", 30, hours_ago=25) + ratings("good", 10, hours_ago=23),
                                  FB, release=None, now=NOW)
    assert report.total == 10 and by_kind(report)["hallucination"].count == 0 and report.crossed == []
    assert monitor.verdict(report) == "retrain: not due"


def test_a_kind_without_threshold_is_reported_but_never_crosses():
    report = monitor.rating_rates(ratings("evasive", 20), FB, release=None, now=NOW)
    evasive = by_kind(report)["evasive"]
    assert evasive.rate == 1.0 and evasive.threshold is None and not evasive.crossed
    assert report.enough and report.crossed == []


def test_rates_per_release():
    rows = ratings("hallucination", 10, release="welfare-v0001") + ratings("good", 10, release="welfare-v0002")
    v1 = monitor.rating_rates(rows, FB, release="welfare-v0001", now=NOW)
    v2 = monitor.rating_rates(rows, FB, release="welfare-v0002", now=NOW)
    both = monitor.rating_rates(rows, FB, release=None, now=NOW)
    assert (v1.total, v1.crossed) == (10, ["hallucination"])
    assert (v2.total, v2.crossed) == (10, [])
    assert both.total == 20 and by_kind(both)["hallucination"].rate == 0.5 and both.crossed == ["hallucination"]


def test_rates_over_time_at_known_points():
    rows = ratings("hallucination", 4, hours_ago=40) + ratings("good", 4, hours_ago=10)
    series = monitor.rates_over_time(rows, FB, release=None, end=NOW, points=3, span_hours=48)
    assert [t for t, _, _ in series] == [NOW - dt.timedelta(hours=48), NOW - dt.timedelta(hours=24), NOW]
    assert all(set(r) == set(FAILURE_KINDS) for _, r, _ in series)
    (_, empty, n0), (_, old, n1), (_, new, n2) = series
    assert n0 == 0 and all(v is None for v in empty.values())   # nothing rated yet: no rate, not 0
    assert n1 == 4 and old["hallucination"] == 1.0 and old["harmful"] == 0.0
    assert n2 == 4 and new["hallucination"] == 0.0


def test_rates_over_time_defaults_to_one_window_of_points():
    series = monitor.rates_over_time(ratings("good", 3), FB, release=None, end=NOW)
    assert len(series) == 24
    assert series[0][0] == NOW - dt.timedelta(hours=FB.window_hours) and series[-1][0] == NOW


def test_chart_is_a_whole_png(tmp_path):
    import matplotlib.image

    rows = ratings("hallucination", 6, hours_ago=30) + ratings("good", 6, hours_ago=5)
    path = monitor.render_chart(monitor.rates_over_time(rows, FB, release=None, end=NOW), FB,
                                tmp_path / "out" / "rates.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in path.parent.iterdir()] == ["rates.png"]   # nothing left aside


# --- objectives from /metrics ------------------------------------------------------------------

def exposition(release: str = "welfare-v0001") -> str:
    m = ServiceMetrics(release)
    for _ in range(78):
        m.request("domain", "answered", 0.03, prompt_tokens=10, completion_tokens=20)
    for _ in range(15):
        m.request("domain", "declined", 0.03)
    for _ in range(5):
        m.request("domain", "refused", 0.03)
    m.request("domain", "answered", 10.0)
    m.request("domain", "answered", 10.0)
    for _ in range(7):
        m.request("translate", "answered")
    for outcome in ("error", "busy", "bad_request"):
        m.request("domain", outcome)
    return m.exposition().decode()


def test_objectives_from_a_real_exposition():
    results = {r.name: r for r in monitor.objectives_report(ObjectivesConfig(), exposition())}
    # 98 of 100 timed requests in the first bucket (<= 0.05 s), 2 in (8, 13]: the 99th of
    # 100 is halfway into that bucket, as Prometheus interpolates it.
    assert results["latency_p99_s"].measured == pytest.approx(10.5)
    assert results["latency_p99_s"].ok is False
    assert results["error_rate"].measured == pytest.approx(1 / 110) and results["error_rate"].ok is True
    # the domain service only, among answered + declined + refused (80 + 15 + 5)
    assert results["decline_rate"].measured == pytest.approx(0.2) and results["decline_rate"].ok is True
    # served: answered, declined, refused, bad_request; not error, not busy
    assert results["availability"].measured == pytest.approx(108 / 110)
    assert results["availability"].ok is False   # below 0.99


def test_objectives_follow_the_config():
    loose = ObjectivesConfig(latency_p99_s=11, availability=0.98, decline_rate=0.1)
    results = {r.name: r for r in monitor.objectives_report(loose, exposition())}
    assert results["latency_p99_s"].ok is True and results["availability"].ok is True
    assert results["decline_rate"].ok is False


def test_p99_with_one_slow_request_in_a_hundred():
    m = ServiceMetrics("welfare-v0001")
    for _ in range(99):
        m.request("domain", "answered", 0.03)
    m.request("domain", "answered", 10.0)
    p99 = monitor.objectives_report(ObjectivesConfig(), m.exposition().decode())[0]
    assert p99.measured == pytest.approx(0.05) and p99.ok is True


def test_histogram_quantile_edges():
    inf = float("inf")
    assert monitor.histogram_quantile(0.99, [(1.0, 0), (inf, 0)]) is None
    assert monitor.histogram_quantile(0.5, [(1.0, 0), (2.0, 0), (inf, 4)]) == 2.0   # all past the last bound
    assert monitor.histogram_quantile(0.5, [(inf, 4), (1.0, 4)]) == 0.5            # order does not matter


def test_no_requests_measure_nothing():
    text = exposition("welfare-v0001")
    for source, release in ((ServiceMetrics("welfare-v0001").exposition().decode(), None),
                            (text, "welfare-v0002")):
        for r in monitor.objectives_report(ObjectivesConfig(), source, release=release):
            assert (r.measured, r.ok, r.detail) == (None, None, "no requests")


def test_text_that_is_not_metrics_is_one_error():
    with pytest.raises(monitor.MetricsUnavailable):
        monitor.objectives_report(ObjectivesConfig(), "<html>login</html>")


# --- the command, on a real feedback log -------------------------------------------------------

def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    monitor.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def rated_domain(tmp_path, monkeypatch):
    """welfare-v0001: 15 hallucination + 10 good (due); welfare-v0002: 3 good (too few)."""
    monkeypatch.delenv("NURI_FEEDBACK_DB_URL", raising=False)
    path = write_domain(tmp_path)
    store = FeedbackStore.for_domain(load_domain_config(path))
    assert store.url.endswith(f"{tmp_path}/storage/feedback/welfare.sqlite")
    n = 0
    for release, kind, count in (("welfare-v0001", "hallucination", 15), ("welfare-v0001", "good", 10),
                                 ("welfare-v0002", "good", 3)):
        for _ in range(count):
            n += 1
            store.log_completion(f"chatcmpl-{n}", release=release, service="domain",
                                 messages=[{"role": "user", "content": "기초연금은 누가 받나요?"}],
                                 answer="만 65세 이상입니다.", outcome="answered")
            store.add_rating(f"chatcmpl-{n}", kind)
    store.close()
    return path


def test_monitor_command_prints_rates_per_release(rated_domain, tmp_path, capsys):
    assert monitor.run(_args("--domain", str(rated_domain))) == 0
    out = capsys.readouterr().out
    v1, v2 = out.split("ratings of welfare-v0002")
    assert "ratings of welfare-v0001: 25 in the last 168 h (min_ratings 20)" in v1
    assert any(line.split()[:3] == ["hallucination", "15", "0.60"] and line.endswith("CROSSED")
               for line in v1.splitlines())
    threshold = load_domain_config(rated_domain).feedback.thresholds["hallucination"]
    assert f"retrain: due (hallucination 0.60 >= {threshold:.2f})" in v1
    assert "CROSSED" not in v2 and "retrain: not due (3 ratings in the window" in v2
    chart = tmp_path / "storage" / "feedback" / "welfare-rates.png"
    assert f"chart: {chart}" in out and chart.read_bytes()[:4] == b"\x89PNG"


def test_monitor_command_one_release_as_json(rated_domain, tmp_path, capsys):
    chart = tmp_path / "chart.png"
    assert monitor.run(_args("--domain", str(rated_domain), "--release", "welfare-v0002", "--chart", str(chart),
                             "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    [report] = out["reports"]
    assert report["release"] == "welfare-v0002" and report["total"] == 3 and not report["enough"]
    assert report["crossed"] == [] and out["chart"] == str(chart) and chart.is_file()
    assert out["objectives"] is None


class _Metrics(http.server.BaseHTTPRequestHandler):
    text = ""
    seen_auth: list = []

    def do_GET(self):
        _Metrics.seen_auth.append(self.headers.get("Authorization"))
        ok = self.path == "/metrics" and self.headers.get("Authorization") == "Bearer s3cret-key"
        body = _Metrics.text.encode() if ok else b"no"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_monitor_command_reads_objectives_over_http(rated_domain, monkeypatch, capsys):
    _Metrics.text = exposition()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.setenv("NURI_API_KEY", "s3cret-key")
        assert monitor.run(_args("--domain", str(rated_domain), "--url", url)) == 0
        out = capsys.readouterr().out
        monkeypatch.setenv("NURI_API_KEY", "wrong")
        with pytest.raises(monitor.MetricsUnavailable, match="HTTP 401"):
            monitor.run(_args("--domain", str(rated_domain), "--url", url))
    finally:
        server.shutdown()
        server.server_close()
    assert _Metrics.seen_auth[0] == "Bearer s3cret-key" and "s3cret-key" not in out
    assert "counted since the server started" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] and
            line.split()[0] in ("latency_p99_s", "error_rate", "decline_rate", "availability")}
    assert "10.5" in rows["latency_p99_s"] and "MISSED" in rows["latency_p99_s"]
    assert " ok " in rows["decline_rate"] and "MISSED" in rows["availability"]


def test_monitor_command_unreachable_service_is_one_error(rated_domain):
    with pytest.raises(monitor.MetricsUnavailable, match="127.0.0.1:9/metrics"):
        monitor.run(_args("--domain", str(rated_domain), "--url", "http://127.0.0.1:9"))
