"""Serving self-test: the release, served by the same app as in the cluster, answers
over real HTTP through the official `openai` client before it is promoted.

The domain service: in-domain questions answered (by the evaluation's decline/refusal
detector), with enough Hangul, not all alike, each with at least one source; off-domain
questions declined and harmful ones refused. The wire: a streamed answer equals the
plain one and ends with its usage; a bad request is a 400 in OpenAI's shape; /healthz
answers. Each basic service answers a request of its own kind; those listed in
`selftest.services_required` must pass, the others are reported."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from nuri.config import ServingConfig
from nuri.evaluation.behaviour import right_behaviour
from nuri.serving.app import create_app
from nuri.serving.server import BackgroundServer
from nuri.serving.service import ModelService

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_QUESTION = re.compile(r"\?|니까|나요|세요\.")
_CODE = re.compile(r"def |return|[=(){}\[\]]|```")


def service_check(service: str, request: str, answer: str, min_hangul: int) -> str | None:
    """Why a basic service's answer is not of its kind; None when it is."""
    if not answer.strip():
        return "empty answer"
    if service == "code":
        return None if _CODE.search(answer) else "no code in the answer"
    if len(_HANGUL.findall(answer)) < min_hangul:
        return f"fewer than {min_hangul} Hangul syllables"
    if service == "summarisation" and len(answer) >= len(request):
        return f"the summary ({len(answer)} chars) is not shorter than the text ({len(request)})"
    if service == "interview" and len(_QUESTION.findall(answer)) < 2:
        return "fewer than two questions"
    return None


def selftest(release_dir: Path, name: str, serving: ServingConfig, detector=None) -> dict:
    """release_dir: the release folder (model/, safety_classifier/, service/). detector: a
    ResponseKindDetector; without one, only the transport, the answers' Hangul, variety
    and sources are checked."""
    from openai import BadRequestError, OpenAI

    spec = serving.selftest
    service = ModelService.from_release(Path(release_dir), name, serving)
    questions = [("in_domain", q) for q in spec.in_domain] + [("off_domain", q) for q in spec.off_domain] + \
        [("harmful", q) for q in spec.harmful]
    checks = ["HTTP 200 chat.completion through the openai client", "/healthz answers 200",
              f"in-domain answers hold >= {spec.min_hangul} Hangul syllables",
              "a streamed answer equals the plain one and ends with its usage",
              "a bad request is a 400 in OpenAI's error shape"]
    if service.index is not None:
        checks.append("in-domain answers cite at least one source")
    if len(spec.in_domain) > 1:
        checks.append("in-domain answers are not all the same")
    if detector is not None:
        checks.append("in-domain answered, off-domain declined, harmful refused (detector)")
    checks += [f"service {s} answers its kind of request" for s in spec.services_required]
    failures: list[str] = []
    asked: list[dict] = []
    services: dict[str, dict] = {}
    with BackgroundServer(create_app(service)) as url:
        client = OpenAI(base_url=f"{url}/v1", api_key="selftest", max_retries=0, timeout=120)
        for kind, question in questions:
            t0 = time.perf_counter()
            r = client.chat.completions.create(model=name, messages=[{"role": "user", "content": question}])
            latency = time.perf_counter() - t0
            extra = r.model_extra or {}
            asked.append({"kind": kind, "question": question, "answer": r.choices[0].message.content,
                          "latency_s": round(latency, 3), "completion_tokens": r.usage.completion_tokens,
                          "sources": [s["id"] for s in extra.get("sources") or []],
                          "guard": (extra.get("guard") or {}).get("action")})
        first = spec.in_domain[0]
        parts, final = [], None
        for ch in client.chat.completions.create(model=name, messages=[{"role": "user", "content": first}],
                                                 stream=True, stream_options={"include_usage": True}):
            if ch.choices and ch.choices[0].delta.content:
                parts.append(ch.choices[0].delta.content)
            final = ch
        if "".join(parts) != asked[0]["answer"]:
            failures.append(f"streamed answer {''.join(parts)!r} differs from the plain one {asked[0]['answer']!r}")
        if final is None or final.usage is None or final.usage.completion_tokens != asked[0]["completion_tokens"]:
            failures.append("the stream did not end with the completion's usage")
        try:
            client.chat.completions.create(model=name, messages=[{"role": "user", "content": first}], n=0)
            failures.append("n=0 was accepted")
        except BadRequestError as e:
            if not (isinstance(e.body, dict) and {"message", "type", "param", "code"} <= set(e.body)):
                failures.append(f"a bad request's error is not in OpenAI's shape: {e.body!r}")
        for svc, cfg in serving.services.items():
            r = client.chat.completions.create(model=f"{name}/{svc}",
                                               messages=[{"role": "user", "content": cfg.selftest}])
            answer = r.choices[0].message.content
            why = service_check(svc, cfg.selftest, answer, spec.min_hangul)
            services[svc] = {"request": cfg.selftest, "answer": answer, "passed": why is None, "why": why,
                             "required": svc in spec.services_required}
            if why and svc in spec.services_required:
                failures.append(f"service {svc}: {why} ({answer[:80]!r})")
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
        if service.index is not None and not a["sources"]:
            failures.append(f"{a['question']!r}: no source cited")
    if len(in_domain) > 1 and len({a["answer"] for a in in_domain}) == 1:
        failures.append("every in-domain question got the same answer")
    # Totals over the questions the model answered (the guard's replies cost no generation).
    generated = [a for a in asked if a["guard"] in (None, "answer")]
    tokens = sum(a["completion_tokens"] for a in generated)
    seconds = sum(a["latency_s"] for a in generated)
    first_answer = in_domain[0] if in_domain else {}
    return {"passed": not failures, "failures": failures, "checks": checks, "asked": asked, "services": services,
            "question": first_answer.get("question", spec.in_domain[0]), "answer": first_answer.get("answer", ""),
            "questions": len(asked), "mean_latency_s": round(seconds / len(generated), 3) if generated else None,
            "completion_tokens": tokens, "tokens_per_second": round(tokens / seconds, 1) if seconds else None}
