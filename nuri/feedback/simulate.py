"""Simulated raters, and the before/after measurement of a retrain: people who know the
answer (the domain's own reference answers) ask the served release over HTTP, judge
each answer (nuri/feedback/judge.py) and rate it through POST /v1/feedback, with the
reference as the correction when it is wrong.

They ask only training-side questions: a held-out question never reaches them, so what
they rate can never be trained into the held-out evaluation (prepare drops such prompts
as well)."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from nuri.evaluation.grounding import extract_facts
from nuri.evaluation.response_kind import ResponseKindDetector, read_labelled


@dataclass(frozen=True)
class Question:
    prompt: str
    expected: str | None      # the reference answer (None for a harmful request)
    harmful: bool


@dataclass(frozen=True)
class Rated:
    question: Question
    completion_id: str
    answer: str
    kind: str


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def questions_from_dataset(dataset_dir: Path, *, in_domain: int, harmful: int, seed: int = 0) -> list[Question]:
    """Training-side in-domain questions whose reference answer has checkable facts, and
    harmful requests, not augmented variants."""
    rng = random.Random(seed)
    domain = [r for r in _rows(dataset_dir / "sft_train.jsonl")
              if r["category"] == "domain" and not r.get("augmented") and extract_facts(r["answer"])]
    bad = [r for r in _rows(dataset_dir / "filtering_train.jsonl") if not r.get("augmented")]
    picked = rng.sample(domain, min(in_domain, len(domain))), rng.sample(bad, min(harmful, len(bad)))
    return [Question(r["prompt"], r["answer"], False) for r in picked[0]] + \
           [Question(r["prompt"], None, True) for r in picked[1]]


def detector_for(dataset_dir: Path) -> ResponseKindDetector:
    return ResponseKindDetector.fit(read_labelled(dataset_dir / "responses_train.jsonl"))


def _headers(api_key: str | None) -> dict:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def ask(url: str, model: str, q: Question, *, api_key: str | None = None, max_tokens: int | None = None) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": q.prompt}]}
    if max_tokens:
        body["max_completion_tokens"] = max_tokens
    r = httpx.post(f"{url}/v1/chat/completions", json=body, headers=_headers(api_key), timeout=120)
    r.raise_for_status()
    return r.json()


def judged(response: dict, q: Question, detector: ResponseKindDetector) -> str:
    from nuri.feedback.judge import judge

    answer = response["choices"][0]["message"]["content"]
    guard = (response.get("guard") or {}).get("action")
    return judge(answer, harmful_request=q.harmful, expected=q.expected, label=detector.predict([answer])[0],
                 guard_action=guard)


def rate_release(url: str, model: str, questions: list[Question], detector: ResponseKindDetector, *,
                 api_key: str | None = None, workers: int = 8) -> list[Rated]:
    """Each question asked and rated once (Idempotency-Key: a retry would not count twice)."""

    def one(i_q):
        i, q = i_q
        resp = ask(url, model, q, api_key=api_key)
        kind = judged(resp, q, detector)
        body = {"completion_id": resp["id"], "kind": kind}
        if kind in ("hallucination", "evasive") and q.expected:
            body["correction"] = q.expected
        r = httpx.post(f"{url}/v1/feedback", json=body, timeout=60,
                       headers={**_headers(api_key), "Idempotency-Key": f"sim-{resp['id']}"})
        r.raise_for_status()
        return Rated(q, resp["id"], resp["choices"][0]["message"]["content"], kind)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, enumerate(questions)))


def failure_rate(url: str, model: str, questions: list[Question], detector: ResponseKindDetector, *,
                 api_key: str | None = None, workers: int = 8) -> tuple[float, dict[str, int]]:
    """Share of questions whose answer a rater would mark as a failure (nothing rated)."""
    from collections import Counter

    with ThreadPoolExecutor(workers) as pool:
        kinds = list(pool.map(lambda q: judged(ask(url, model, q, api_key=api_key), q, detector), questions))
    counts = Counter(kinds)
    return (1 - counts["good"] / len(kinds) if kinds else 0.0), dict(counts)


def questions_from_ratings(ratings: list[dict]) -> list[Question]:
    """The questions whose ratings said the answer failed, with the correction as the
    expected answer (what a retrain is measured on)."""
    seen, out = set(), []
    for r in ratings:
        if r["kind"] == "good" or r["prompt"] in seen:
            continue
        seen.add(r["prompt"])
        out.append(Question(r["prompt"], r.get("correction"), r["kind"] == "harmful"))
    return out


def served(release_dir: Path, *, feedback=None):
    """A release behind the real API on loopback (a context manager yielding its URL and
    model id): what people are served, not a shortcut around it."""
    from contextlib import contextmanager

    from nuri.serving.app import create_app
    from nuri.serving.server import BackgroundServer
    from nuri.serving.service import ModelService

    @contextmanager
    def run():
        service = ModelService.from_release(release_dir)
        with BackgroundServer(create_app(service, feedback=feedback, chat_page=False)) as url:
            yield url, service.name

    return run()


def dataset_dir_of(release_dir: Path, cache: Path) -> Path:
    """The prepared dataset a release was trained on (its lineage names it)."""
    from nuri.storage import materialize

    lineage = json.loads((release_dir / "lineage.json").read_text(encoding="utf-8"))
    return materialize(lineage["data"]["dataset_uri"], cache)


def compare_releases(release_dirs: dict[str, Path], questions: list[Question], detector: ResponseKindDetector
                     ) -> dict[str, dict]:
    """Failure rate of each release on the same questions."""
    out = {}
    for name, folder in release_dirs.items():
        with served(folder) as (url, model):
            rate, kinds = failure_rate(url, model, questions, detector)
        out[name] = {"failure_rate": round(rate, 4), "kinds": kinds, "questions": len(questions)}
    return out
