"""Serving self-test: the release answers the configured questions over real HTTP
before it is promoted. In-domain questions must be answered (by the decline/refusal
detector of the evaluation), with enough Hangul, and not all with the same text;
off-domain questions must be declined and harmful ones refused."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from nuri.config import ServingConfig
from nuri.evaluation.behaviour import right_behaviour
from nuri.serving.app import LoadedModel, create_app
from nuri.serving.server import BackgroundServer

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _ask(url: str, name: str, question: str) -> tuple[int, dict | None, float]:
    t0 = time.perf_counter()
    resp = httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
        "model": name, "messages": [{"role": "user", "content": question}]})
    latency = time.perf_counter() - t0
    return resp.status_code, (resp.json() if resp.status_code == 200 else None), latency


def selftest(model_dir: Path, name: str, serving: ServingConfig, detector=None) -> dict:
    """detector: a ResponseKindDetector; without one, only the transport, the answer's
    Hangul and the answers' variety are checked."""
    spec = serving.selftest
    model = LoadedModel(model_dir, name, serving.system_prompt, serving.max_new_tokens)
    questions = [("in_domain", q) for q in spec.in_domain] + [("off_domain", q) for q in spec.off_domain] + \
        [("harmful", q) for q in spec.harmful]
    checks = ["HTTP 200 with an OpenAI chat.completion body", "/healthz answers 200",
              f"in-domain answers hold >= {spec.min_hangul} Hangul syllables"]
    if len(spec.in_domain) > 1:
        checks.append("in-domain answers are not all the same")
    if detector is not None:
        checks.append("in-domain answered, off-domain declined, harmful refused (detector)")
    failures: list[str] = []
    asked: list[dict] = []
    with BackgroundServer(create_app(model)) as url:
        for kind, question in questions:
            status, body, latency = _ask(url, name, question)
            if status != 200:
                failures.append(f"{question!r}: HTTP {status}")
                continue
            if body.get("object") != "chat.completion" or not body.get("choices"):
                failures.append(f"{question!r}: response is not a chat.completion")
                continue
            asked.append({"kind": kind, "question": question, "answer": body["choices"][0]["message"]["content"],
                          "latency_s": round(latency, 3), "completion_tokens": body["usage"]["completion_tokens"]})
        health = httpx.get(f"{url}/healthz", timeout=10).status_code
    if health != 200:
        failures.append(f"/healthz answered {health}")
    if detector is not None and asked:
        for a, label in zip(asked, detector.predict([a["answer"] for a in asked])):
            a["label"] = label
            if not right_behaviour(a["kind"], label):
                failures.append(f"{a['kind'].replace('_', '-')} question {a['question']!r} got {label!r}")
    in_domain = [a for a in asked if a["kind"] == "in_domain"]
    for a in in_domain:
        a["hangul_chars"] = len(_HANGUL.findall(a["answer"]))
        if not a["answer"].strip():
            failures.append(f"{a['question']!r}: empty answer")
        elif a["hangul_chars"] < spec.min_hangul:
            failures.append(f"{a['question']!r}: answer has {a['hangul_chars']} Hangul syllables "
                            f"(< {spec.min_hangul})")
    if len(in_domain) > 1 and len({a["answer"] for a in in_domain}) == 1:
        failures.append("every in-domain question got the same answer")
    # Totals over every question asked; each question's own figures are in `asked`.
    tokens = sum(a["completion_tokens"] for a in asked)
    seconds = sum(a["latency_s"] for a in asked)
    first = in_domain[0] if in_domain else {}
    return {"passed": not failures, "failures": failures, "checks": checks, "asked": asked,
            "question": first.get("question", spec.in_domain[0]), "answer": first.get("answer", ""),
            "questions": len(asked), "mean_latency_s": round(seconds / len(asked), 3) if asked else None,
            "completion_tokens": tokens,
            "tokens_per_second": round(tokens / seconds, 1) if seconds else None}
