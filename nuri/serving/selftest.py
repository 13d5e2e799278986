"""Serving self-test: the release answers one question over real HTTP before it is
promoted."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from nuri.config import ServingConfig
from nuri.serving.app import LoadedModel, create_app
from nuri.serving.server import BackgroundServer

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def selftest(model_dir: Path, name: str, serving: ServingConfig) -> dict:
    model = LoadedModel(model_dir, name, serving.system_prompt, serving.max_new_tokens)
    checks = ["HTTP 200 with an OpenAI chat.completion body", "non-empty answer",
              f">= {serving.selftest_min_hangul} Hangul syllables"]
    failures: list[str] = []
    with BackgroundServer(create_app(model)) as url:
        t0 = time.perf_counter()
        resp = httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
            "model": name, "messages": [{"role": "user", "content": serving.selftest_question}]})
        latency = time.perf_counter() - t0
        health = httpx.get(f"{url}/healthz", timeout=10).status_code
    answer, tokens = "", 0
    if resp.status_code != 200:
        failures.append(f"HTTP {resp.status_code}")
    else:
        body = resp.json()
        if body.get("object") != "chat.completion" or not body.get("choices"):
            failures.append("response is not a chat.completion")
        else:
            answer = body["choices"][0]["message"]["content"]
            tokens = body["usage"]["completion_tokens"]
    if health != 200:
        failures.append(f"/healthz answered {health}")
    if not answer.strip():
        failures.append("empty answer")
    hangul = len(_HANGUL.findall(answer))
    if hangul < serving.selftest_min_hangul:
        failures.append(f"answer has {hangul} Hangul syllables (< {serving.selftest_min_hangul})")
    return {"passed": not failures, "failures": failures, "checks": checks,
            "question": serving.selftest_question, "answer": answer, "latency_s": round(latency, 3),
            "completion_tokens": tokens, "hangul_chars": hangul,
            "tokens_per_second": round(tokens / latency, 1) if latency else None}
