"""What the service exports at /metrics (Prometheus text format). The names here are
the ones the alerting rules, the Grafana dashboard and `nuri monitor` read
(nuri/feedback/observability.py), so an objective is measured the same way everywhere.

Each app gets its own registry: two services in one process (tests, the self-test) do
not mix their counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

REQUESTS = "nuri_requests"                     # counter: nuri_requests_total{release,service,outcome}
LATENCY = "nuri_request_duration_seconds"      # histogram, same labels less outcome
TOKENS = "nuri_tokens"                         # counter: nuri_tokens_total{release,service,kind}
RATINGS = "nuri_ratings"                       # counter: nuri_ratings_total{release,kind}

# answered: the model answered; declined/refused: the guard's fixed reply; the rest are
# requests that got no answer: error (5xx), busy (429), bad_request (4xx).
OUTCOMES = ("answered", "declined", "refused", "error", "busy", "bad_request")
SERVED = ("answered", "declined", "refused", "bad_request")   # availability counts these
GUARDED = ("declined", "refused")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0)


def outcome_of_status(status: int) -> str:
    return "error" if status >= 500 else "busy" if status == 429 else "bad_request"


class ServiceMetrics:
    def __init__(self, release: str, services: list[str] | tuple[str, ...] = ("domain",)):
        self.release = release
        self.registry = CollectorRegistry()
        self.requests = Counter(REQUESTS, "Chat completion requests by outcome", ["release", "service", "outcome"],
                                registry=self.registry)
        self.latency = Histogram(LATENCY, "Time from request to the last token", ["release", "service"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.tokens = Counter(TOKENS, "Prompt and completion tokens", ["release", "service", "kind"],
                              registry=self.registry)
        self.ratings = Counter(RATINGS, "Ratings people gave, by kind", ["release", "kind"], registry=self.registry)
        # Every series exists from the start at 0: Prometheus' rate() and increase() miss
        # the first increment of a series that appears in the middle of their window.
        from nuri.feedback.config import RATING_KINDS

        for service in services:
            for outcome in OUTCOMES:
                self.requests.labels(release, service, outcome)
        for kind in RATING_KINDS:
            self.ratings.labels(release, kind)

    def request(self, service: str, outcome: str, seconds: float | None = None, *, prompt_tokens: int = 0,
                completion_tokens: int = 0) -> None:
        self.requests.labels(self.release, service, outcome).inc()
        if seconds is not None:
            self.latency.labels(self.release, service).observe(seconds)
        if prompt_tokens:
            self.tokens.labels(self.release, service, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self.tokens.labels(self.release, service, "completion").inc(completion_tokens)

    def rating(self, release: str, kind: str) -> None:
        self.ratings.labels(release, kind).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
