"""The `feedback:` section of a domain config: how people's ratings are stored, the
rates that trigger retraining, the service's objectives (SLOs), and how a retrain runs.
One source for the numbers that `nuri monitor`, the Prometheus alerting rules and the
Grafana dashboard show, so an operator sees the objectives in the words they were
written in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What a person can say of an answer: good, or one of the failure kinds users report.
RATING_KINDS = ("good", "hallucination", "harmful", "biased", "evasive")
FAILURE_KINDS = RATING_KINDS[1:]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectivesConfig(_Strict):
    """Service-level objectives, each over the same rolling window."""

    window_minutes: int = Field(60, ge=1, description="rolling window every objective is measured over")
    latency_p99_s: float = Field(5.0, gt=0, description="99th percentile of request latency, at most")
    error_rate: float = Field(0.01, ge=0, le=1, description="share of requests answered with a 5xx, at most")
    decline_rate: float = Field(0.3, ge=0, le=1, description="share of domain-service requests the guard "
                                                             "declined or refused, at most")
    availability: float = Field(0.99, ge=0, le=1, description="share of requests served (not 5xx, not "
                                                              "429 busy), at least")


class RetrainConfig(_Strict):
    schedule: str | None = Field(None, description="retrain on this cron schedule as well (KFP recurring run; "
                                                   "six fields, seconds first, e.g. '0 0 3 * * 1')")
    check_schedule: str | None = Field("0 0 * * * *", description="in the cluster, check the rates against their "
                                       "thresholds on this cron (a KFP recurring run that retrains only when "
                                       "one is crossed); None: no such check")
    correction_repeats: int = Field(4, ge=1, le=100, description="each correction is an SFT pair this many "
                                                                 "times (a handful of corrections among "
                                                                 "hundreds of pairs would teach nothing)")
    start_from: Literal["release", "scratch"] = Field(
        "release", description="release: the promoted release's model is the base model (its tokenizer "
                               "too); scratch: the domain's own base_model")
    stages: dict = Field(default_factory=dict, description="stage settings for a run that starts from a "
                                                           "release (merged over stages:)")
    gates: dict = Field(default_factory=dict, description="stage gates replaced for a run that starts from "
                                                          "a release (release gates are never replaced)")

    @field_validator("gates")
    @classmethod
    def _no_release_gates(cls, v: dict) -> dict:
        if "release" in v or "service" in v:
            raise ValueError("release and service gates apply to a retrained model unchanged; only training "
                             "stage gates (pretrain, sft, reward, ppo) may be replaced")
        unknown = set(v) - {"pretrain", "sft", "reward", "ppo"}
        if unknown:
            raise ValueError(f"unknown stage(s) {sorted(unknown)}")
        return v

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: dict) -> dict:
        unknown = set(v) - {"pretrain", "sft", "reward", "ppo"}
        if unknown:
            raise ValueError(f"unknown stage(s) {sorted(unknown)}")
        return v


class FeedbackConfig(_Strict):
    enabled: bool = Field(True, description="log completions and accept ratings")
    database_url_env: str = Field("NURI_FEEDBACK_DB_URL", description="environment variable holding the "
                                  "SQLAlchemy URL (PostgreSQL in the cluster, from a secret); never in config")
    database: str | None = Field(None, description="SQLite file; default: feedback/<domain>.sqlite under a "
                                                   "local storage folder")
    thresholds: dict[str, float] = Field(
        default_factory=lambda: {"hallucination": 0.5, "harmful": 0.05, "biased": 0.1, "evasive": 0.3},
        description="share of a release's rated answers of each failure kind that triggers retraining")
    window_hours: float = Field(168, gt=0, description="ratings older than this do not count")
    min_ratings: int = Field(20, ge=1, description="fewer ratings in the window say nothing: no trigger")
    max_correction_chars: int = Field(2000, ge=1)
    max_comment_chars: int = Field(1000, ge=1)
    objectives: ObjectivesConfig = ObjectivesConfig()
    retrain: RetrainConfig = RetrainConfig()

    @field_validator("thresholds")
    @classmethod
    def _failure_kinds(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(FAILURE_KINDS)
        if unknown:
            raise ValueError(f"unknown rating kind(s) {sorted(unknown)}; known: {', '.join(FAILURE_KINDS)}")
        for kind, rate in v.items():
            if not 0 < rate <= 1:
                raise ValueError(f"{kind}: a rate in (0, 1]")
        return v
