"""`nuri monitor`: are people's ratings of a release bad enough to retrain it, and does
the service meet its objectives?

    nuri monitor --domain domains/welfare.yaml [--release welfare-v0003] [--url http://127.0.0.1:8000]
    nuri monitor --domain domains/welfare.yaml --export build/observability

Rates come from the feedback log: the share of each rating kind among a release's
ratings in the last `feedback.window_hours`, against `feedback.thresholds`; fewer than
`feedback.min_ratings` ratings say nothing. Objectives come from the service's own
/metrics, read the same way the generated Prometheus rules read them
(nuri/feedback/observability.py). The functions above `add_arguments` are pure; the
retrain step uses `rating_rates` to decide."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from nuri.errors import NuriError
from nuri.feedback.config import FAILURE_KINDS, RATING_KINDS, FeedbackConfig, ObjectivesConfig
from nuri.serving.metrics import GUARDED, LATENCY, REQUESTS, SERVED


class MetricsUnavailable(NuriError):
    """The service's /metrics could not be read or parsed."""


# --- rating rates -------------------------------------------------------------------------

@dataclass(frozen=True)
class KindRate:
    kind: str
    count: int
    rate: float                 # count / all ratings in the window (good ones included)
    threshold: float | None     # None: reported, never a trigger
    crossed: bool


@dataclass(frozen=True)
class RatesReport:
    release: str | None         # None: all releases together
    window_hours: float
    total: int
    min_ratings: int
    kinds: list[KindRate]

    @property
    def enough(self) -> bool:
        return self.total >= self.min_ratings

    @property
    def crossed(self) -> list[str]:
        return [k.kind for k in self.kinds if k.crossed]


def _window(ratings: list[dict], hours: float, release: str | None, end: dt.datetime) -> list[dict]:
    # (end - window, end]: a point in the past must not see the ratings that came after it.
    start = end - dt.timedelta(hours=hours)
    return [r for r in ratings if (release is None or r["release"] == release) and start <= r["created_at"] <= end]


def rating_rates(ratings: list[dict], feedback: FeedbackConfig, *, release: str | None,
                 now: dt.datetime) -> RatesReport:
    """Each kind's share of the ratings in the window ending at `now`."""
    rated = _window(ratings, feedback.window_hours, release, now)
    counts: dict[str, int] = defaultdict(int)
    for r in rated:
        counts[r["kind"]] += 1
    total = len(rated)
    enough = total >= feedback.min_ratings
    kinds = []
    # Every known kind, even at 0, then any kind the log holds that config does not know.
    for kind in list(RATING_KINDS) + sorted(set(counts) - set(RATING_KINDS)):
        rate = counts[kind] / total if total else 0.0
        threshold = feedback.thresholds.get(kind)
        kinds.append(KindRate(kind, counts[kind], rate, threshold,
                              crossed=enough and threshold is not None and rate >= threshold))
    return RatesReport(release, feedback.window_hours, total, feedback.min_ratings, kinds)


def rates_over_time(ratings: list[dict], feedback: FeedbackConfig, *, release: str | None, end: dt.datetime,
                    points: int = 24, span_hours: float | None = None
                    ) -> list[tuple[dt.datetime, dict[str, float | None], int]]:
    """The rolling-window rate of each failure kind at `points` evenly spaced times over
    the `span_hours` (default: one window) that end at `end`: (time, {kind: rate, None
    when the window holds no ratings}, ratings in the window)."""
    if points < 1:
        raise ValueError("points must be at least 1")
    span = dt.timedelta(hours=feedback.window_hours if span_hours is None else span_hours)
    series = []
    for i in range(points):
        # Counted back from `end`, so the last point is `end` exactly (no rounding drift).
        t = end - span * (points - 1 - i) / (points - 1) if points > 1 else end
        report = rating_rates(ratings, feedback, release=release, now=t)
        rates = {k.kind: (k.rate if report.total else None) for k in report.kinds if k.kind in FAILURE_KINDS}
        series.append((t, rates, report.total))
    return series


def render_chart(series: list[tuple[dt.datetime, dict[str, float | None], int]], feedback: FeedbackConfig,
                 path: Path, title: str = "") -> Path:
    """Each failure kind's rate over time (solid) and its threshold (dashed, same colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    times = [t for t, _, _ in series]
    for i, kind in enumerate(FAILURE_KINDS):
        colour = f"C{i}"
        # NaN leaves a gap where the window held no ratings, rather than a false zero.
        ax.plot(times, [math.nan if r.get(kind) is None else r[kind] for _, r, _ in series], color=colour,
                marker=".", linewidth=1.5, label=kind)
        if kind in feedback.thresholds:
            ax.axhline(feedback.thresholds[kind], color=colour, linestyle="--", linewidth=1, alpha=0.8)
    if not any(n for _, _, n in series):
        ax.text(0.5, 0.5, "no ratings in the window", transform=ax.transAxes, ha="center", va="center")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of rated answers")
    ax.set_title(title or f"rating rates over a rolling {feedback.window_hours:g} h window "
                          f"(dashed: retrain threshold; min {feedback.min_ratings} ratings)")
    if len(times) > 1:  # else one lone point autoscales the axis over years
        ax.set_xlim(times[0], times[-1])
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("UTC")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")   # written aside: a reader never sees half a PNG
    plt.close(fig)
    os.replace(tmp, path)
    return path


def verdict(report: RatesReport) -> str:
    if report.crossed:
        return "retrain: due (" + ", ".join(f"{k.kind} {k.rate:.2f} >= {k.threshold:.2f}"
                                            for k in report.kinds if k.crossed) + ")"
    if not report.enough:
        return f"retrain: not due ({report.total} ratings in the window, fewer than min_ratings {report.min_ratings})"
    return "retrain: not due"


def format_rates(report: RatesReport) -> str:
    who = report.release or "all releases"
    lines = [f"ratings of {who}: {report.total} in the last {report.window_hours:g} h "
             f"(min_ratings {report.min_ratings})",
             f"{'kind':<14} {'ratings':>7} {'rate':>6} {'threshold':>9}"]
    for k in report.kinds:
        threshold = "-" if k.threshold is None else f"{k.threshold:.2f}"
        lines.append(f"{k.kind:<14} {k.count:>7} {k.rate:>6.2f} {threshold:>9}{'  CROSSED' if k.crossed else ''}")
    lines.append(verdict(report))
    return "\n".join(lines)


# --- service objectives from /metrics -------------------------------------------------------

@dataclass(frozen=True)
class ObjectiveResult:
    name: str
    objective: float
    measured: float | None      # None: no requests to measure
    ok: bool | None             # None: nothing measured
    detail: str


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile on cumulative (upper bound, count) buckets: linear
    interpolation inside the bucket the rank falls in; the highest finite bound when it
    falls in +Inf. None without observations."""
    buckets = sorted(buckets)
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]) or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    b = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)


def _samples(metrics_text: str, release: str | None) -> list:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        samples = [s for family in text_string_to_metric_families(metrics_text) for s in family.samples]
    except (ValueError, TypeError, IndexError) as e:
        raise MetricsUnavailable(f"not Prometheus text format: {e}") from None
    return [s for s in samples if release is None or s.labels.get("release") == release]


def _share(part: float, whole: float, what: str) -> tuple[float | None, str]:
    if not whole:
        return None, "no requests"
    return part / whole, f"{part:g} of {whole:g} {what}"


def objectives_report(objectives: ObjectivesConfig, metrics_text: str, *,
                      release: str | None = None) -> list[ObjectiveResult]:
    """Each objective measured from the counters in `metrics_text`: cumulative since the
    server started (the rolling window is Prometheus' job in the cluster)."""
    samples = _samples(metrics_text, release)
    by_outcome: dict[str, float] = defaultdict(float)
    domain: dict[str, float] = defaultdict(float)
    buckets: dict[float, float] = defaultdict(float)   # summed over services and releases, by le
    for s in samples:
        if s.name == f"{REQUESTS}_total":
            by_outcome[s.labels["outcome"]] += s.value
            if s.labels.get("service") == "domain":
                domain[s.labels["outcome"]] += s.value
        elif s.name == f"{LATENCY}_bucket":
            buckets[float(s.labels["le"])] += s.value
    total = sum(by_outcome.values())

    p99 = histogram_quantile(0.99, list(buckets.items()))
    timed = buckets.get(math.inf, 0)
    error, error_detail = _share(by_outcome["error"], total, "requests answered 5xx")
    guarded = sum(domain[o] for o in GUARDED)
    decline, decline_detail = _share(guarded, domain["answered"] + guarded,
                                     "domain-service requests declined or refused")
    served, served_detail = _share(sum(by_outcome[o] for o in SERVED), total, "requests served")

    def result(name, objective, measured, detail, at_most=True):
        if measured is None:
            return ObjectiveResult(name, objective, None, None, "no requests")
        ok = measured <= objective if at_most else measured >= objective
        return ObjectiveResult(name, objective, measured, ok, detail)

    return [
        result("latency_p99_s", objectives.latency_p99_s, p99, f"over {timed:g} timed requests"),
        result("error_rate", objectives.error_rate, error, error_detail),
        result("decline_rate", objectives.decline_rate, decline, decline_detail),
        result("availability", objectives.availability, served, served_detail, at_most=False),
    ]


def format_objectives(results: list[ObjectiveResult], objectives: ObjectivesConfig, url: str) -> str:
    lines = [f"objectives at {url}/metrics (counted since the server started; Prometheus measures them over "
             f"{objectives.window_minutes} min with the rules from `nuri monitor --export`)",
             f"{'objective':<14} {'target':>10} {'measured':>9}  status"]
    for r in results:
        target = f"{'>=' if r.name == 'availability' else '<='} {r.objective:g}"
        measured = "-" if r.measured is None else f"{r.measured:.4g}"
        status = "-" if r.ok is None else "ok" if r.ok else "MISSED"
        lines.append(f"{r.name:<14} {target:>10} {measured:>9}  {status:<6}  {r.detail}")
    return "\n".join(lines)


def fetch_metrics(url: str, timeout: float = 10.0) -> str:
    import httpx

    headers = {}
    key = os.environ.get("NURI_API_KEY")
    if key:  # the service guards /metrics like its API; the key is never printed
        headers["Authorization"] = f"Bearer {key}"
    target = url.rstrip("/") + "/metrics"
    try:
        response = httpx.get(target, headers=headers, timeout=timeout)
    except httpx.HTTPError as e:
        raise MetricsUnavailable(f"{target}: {type(e).__name__}: {e}") from None
    if response.status_code != 200:
        raise MetricsUnavailable(f"{target}: HTTP {response.status_code}")
    return response.text


# --- the command ------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("--domain", required=True, help="domain config YAML, e.g. domains/welfare.yaml")
    parser.add_argument("--storage", help="override storage.uri (the feedback log's default folder)")
    parser.add_argument("--release", help="one release, e.g. welfare-v0003 (default: every release, each apart)")
    parser.add_argument("--url", help="the service's address, e.g. http://127.0.0.1:8000: also check its "
                                      "objectives from <url>/metrics (bearer NURI_API_KEY when set)")
    parser.add_argument("--chart", help="PNG of the rates over time (default: <storage>/feedback/<domain>-rates.png)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--export", metavar="DIR", help="write the Prometheus rules, PrometheusRule and Grafana "
                                                        "dashboard for this domain to DIR, and do nothing else")


def _report_dict(report: RatesReport) -> dict:
    return {**asdict(report), "enough": report.enough, "crossed": report.crossed, "verdict": verdict(report)}


def run(args) -> int:
    from nuri.config import load_domain_config
    from nuri.feedback.store import FeedbackStore
    from nuri.local_run import with_local_storage

    config = with_local_storage(load_domain_config(args.domain), args.storage)
    feedback = config.feedback
    if args.export:
        from nuri.feedback.observability import write_observability

        for path in write_observability(config, Path(args.export)):
            print(f"wrote {path}")
        return 0

    now = dt.datetime.now(dt.timezone.utc)
    store = FeedbackStore.for_domain(config, config.storage.uri)
    try:
        # Two windows back: the chart's first point needs a whole window behind it.
        ratings = store.ratings(release=args.release, since=now - 2 * dt.timedelta(hours=feedback.window_hours))
    finally:
        store.close()
    recent = _window(ratings, feedback.window_hours, None, now)
    releases = [args.release] if args.release else sorted({r["release"] for r in recent}) or [None]
    reports = [rating_rates(ratings, feedback, release=r, now=now) for r in releases]

    chart = args.chart or (None if "://" in config.storage.uri else
                           Path(config.storage.uri) / "feedback" / f"{config.name}-rates.png")
    if chart:
        series = rates_over_time(ratings, feedback, release=args.release, end=now)
        chart = render_chart(series, feedback, Path(chart),
                             title=f"{config.name} ({args.release or 'all releases'}): rating rates over a rolling "
                                   f"{feedback.window_hours:g} h window (dashed: retrain threshold)")

    objectives = None
    if args.url:
        objectives = objectives_report(feedback.objectives, fetch_metrics(args.url), release=args.release)

    if args.json:
        print(json.dumps({"domain": config.name, "reports": [_report_dict(r) for r in reports],
                          "chart": str(chart) if chart else None,
                          "objectives": [asdict(o) for o in objectives] if objectives is not None else None,
                          "objectives_cumulative_since_server_start": objectives is not None},
                         ensure_ascii=False, indent=2))
        return 0
    print("\n\n".join(format_rates(r) for r in reports))
    print(f"chart: {chart}" if chart else "chart: not written (storage is not a local folder; pass --chart PATH)")
    if objectives is not None:
        print()
        print(format_objectives(objectives, feedback.objectives, args.url.rstrip("/")))
    return 0
