"""The OpenAI-compatible model API over a ModelService, the same app locally (self-test,
`nuri serve`) and in the cluster (KServe runs `nuri serve` from the platform image).

Routes, under both /v1 and /openai/v1 (KServe's Hugging Face runtime's prefix, so a
client pointed at either kind of deployment works): GET models, GET models/{id},
POST chat/completions (plain or `stream=true` server-sent events), POST feedback (a
person's rating of a completion, see nuri/feedback); GET /metrics (Prometheus) and the
chat page at / beside them. Every completion is logged, de-identified, with its
release and service, before the response ends, so it can be rated. /healthz answers
from the event loop while the engine thread generates, so a queue of requests cannot
starve it. Binds to loopback unless told otherwise; when NURI_API_KEY is set every
request must carry it as a bearer token (checked in constant time, never logged)."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi.responses import Response

from nuri.feedback.config import FeedbackConfig
from nuri.serving.engine import EngineBusy, Generation, next_request_id
from nuri.serving.metrics import GUARDED, ServiceMetrics, outcome_of_status
from nuri.serving.openai_schema import (APIError, ChatRequest, FeedbackRequest, chunk, completion, usage,
                                        validation_error)
from nuri.serving.service import ModelService, Prepared

API_PREFIXES = ("/v1", "/openai/v1")


def _auth(request: Request) -> None:
    key = os.environ.get("NURI_API_KEY")
    if not key:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")


def _extra(prepared: Prepared) -> dict:
    """Fields beside OpenAI's, which its client keeps (response.model_extra)."""
    return {"service": prepared.service, "sources": prepared.sources,
            "guard": prepared.guard.to_dict() if prepared.guard else None}


def _generations(service: ModelService, req: ChatRequest, prepared: Prepared, loop, events: asyncio.Queue
                 ) -> list[Generation]:
    def text(i):
        return lambda delta: loop.call_soon_threadsafe(events.put_nowait, (i, delta))

    def done(i):
        return lambda gen: loop.call_soon_threadsafe(events.put_nowait, (i, None))

    request = next_request_id()  # the n choices are one request: seeded, they sample together
    return [Generation(prepared.input_ids, prepared.max_new_tokens, temperature=req.temperature or 0.0,
                       top_p=req.top_p or 1.0, seed=req.seed, stop=req.stops, on_text=text(i), on_done=done(i),
                       request=request) for i in range(req.n)]


def _outcome(prepared: Prepared) -> str:
    return prepared.guard.action if prepared.guard and prepared.guard.action in GUARDED else "answered"


class _Log:
    """Completions into the feedback log (when there is one) and into the metrics."""

    def __init__(self, service: ModelService, store, metrics: ServiceMetrics):
        self.service, self.store, self.metrics = service, store, metrics

    async def done(self, completion_id: str, req: ChatRequest, prepared: Prepared, answer: str, started: float,
                   prompt_tokens: int, completion_tokens: int) -> None:
        seconds = time.perf_counter() - started
        self.metrics.request(prepared.service, _outcome(prepared), seconds, prompt_tokens=prompt_tokens,
                             completion_tokens=completion_tokens)
        if self.store is None:
            return
        # Committed before the response ends: a rating that follows finds its completion.
        await run_in_threadpool(
            self.store.log_completion, completion_id, release=self.service.name, service=prepared.service,
            messages=[{"role": m.role, "content": m.text()} for m in req.messages], answer=answer,
            outcome=_outcome(prepared), sources=prepared.sources, prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens, latency_ms=int(seconds * 1000))


def create_app(service: ModelService, *, feedback=None, feedback_config: FeedbackConfig | None = None,
               chat_page: bool = True) -> FastAPI:
    """feedback: a FeedbackStore to log completions and ratings in (None: no log, and
    POST /v1/feedback answers 503). feedback_config: its limits."""
    limits = feedback_config or FeedbackConfig()
    metrics = ServiceMetrics(service.name, ["domain", *service.serving.services])
    log = _Log(service, feedback, metrics)

    @asynccontextmanager
    async def lifespan(app):
        yield
        service.close()
        if feedback is not None:
            feedback.close()

    app = FastAPI(title="Nuri model API", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)

    def _count_failure(request: Request, status: int) -> None:
        if request.url.path.endswith("/chat/completions"):
            metrics.request(getattr(request.state, "service", "unknown"), outcome_of_status(status))

    @app.exception_handler(APIError)
    async def api_error(request, exc: APIError):
        _count_failure(request, exc.status)
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request, exc: RequestValidationError):
        err = validation_error(list(exc.errors()))
        _count_failure(request, err.status)
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return JSONResponse(APIError(exc.status_code, str(exc.detail), type=kind).body(), status_code=exc.status_code)

    @app.get("/healthz")
    async def healthz():
        engine = service.engine
        if engine is not None and not engine.alive:  # requests would hang: let the probe restart us
            return JSONResponse({"status": "engine stopped", "model": service.name}, status_code=503)
        return {"status": "ok", "model": service.name, "waiting": engine.waiting if engine else 0}

    @app.get("/metrics", dependencies=[Depends(_auth)])
    async def prometheus_metrics():
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    router = APIRouter(dependencies=[Depends(_auth)])

    @router.get("/models")
    async def models() -> dict:
        return {"object": "list", "data": [_model_card(m) for m in service.model_ids]}

    @router.get("/models/{model_id:path}")
    async def model(model_id: str) -> dict:
        service.service_of(model_id)
        return _model_card(model_id)

    @router.post("/chat/completions")
    async def chat(req: ChatRequest, request: Request):
        started = time.perf_counter()
        err = req.unsupported()
        if err:
            raise err
        request.state.service = service.service_of(req.model)
        # Off the event loop: templating, the guard's classifiers and retrieval take
        # milliseconds, and /healthz and open streams must not wait for them.
        prepared = await run_in_threadpool(service.prepare, req)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if prepared.reply is not None:
            tokens = service.token_count(prepared.reply)  # a short fixed message: microseconds
            if not req.stream:
                await log.done(completion_id, req, prepared, prepared.reply, started, 0, tokens * req.n)
            return _fixed(req, prepared, completion_id, tokens, log, started)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        gens = _generations(service, req, prepared, loop, events)
        try:
            for g in gens:
                service.engine.submit(g)
        except EngineBusy as e:
            for g in gens:
                g.cancelled = True
            raise APIError(429, f"The server is busy ({e}); retry shortly.", type="rate_limit_error",
                           code="rate_limit_exceeded") from None
        if req.stream:
            return StreamingResponse(_stream(req, prepared, gens, events, completion_id, log, started),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            remaining = len(gens)
            while remaining:
                try:
                    _, delta = await asyncio.wait_for(events.get(), timeout=1.0)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():  # nobody to answer: stop generating
                        break
                    continue
                remaining -= delta is None
        finally:
            for g in gens:
                g.cancelled = g.finish_reason is None
        failed = next((g for g in gens if g.error), None)
        if failed:
            raise APIError(500, "The model failed to generate a completion.", type="server_error")
        choices = [{"text": g.text, "finish_reason": g.finish_reason} for g in gens]
        completion_tokens = sum(g.completion_tokens for g in gens)
        await log.done(completion_id, req, prepared, gens[0].text, started, len(prepared.input_ids),
                       completion_tokens)
        return completion(completion_id, req.model, choices, usage(len(prepared.input_ids), completion_tokens),
                          _extra(prepared))

    @router.post("/feedback", status_code=201)
    async def rate(body: FeedbackRequest, request: Request):
        """A person's rating of one completion; stored once, committed before the 201."""
        from nuri.feedback.store import UnknownCompletion

        if feedback is None:
            raise APIError(503, "This server keeps no feedback log.", type="server_error")
        for field, limit in (("correction", limits.max_correction_chars), ("comment", limits.max_comment_chars)):
            value = getattr(body, field)
            if value is not None and len(value) > limit:
                raise APIError(400, f"{field} is {len(value)} characters; at most {limit} are accepted.",
                               param=field, code="string_above_max_length")
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= 128:
            raise APIError(400, "Idempotency-Key must be 1 to 128 characters.", param="Idempotency-Key")
        try:
            stored = await run_in_threadpool(feedback.add_rating, body.completion_id, body.kind,
                                             correction=body.correction, comment=body.comment, client_key=key)
        except UnknownCompletion:
            raise APIError(404, f"No completion with id '{body.completion_id}' was logged by this service.",
                           param="completion_id", code="completion_not_found") from None
        if stored.created:
            metrics.rating(service.name, body.kind)
        return {"id": stored.id, "object": "feedback", "completion_id": stored.completion_id, "kind": body.kind,
                "created": stored.created}

    for prefix in API_PREFIXES:
        app.include_router(router, prefix=prefix)
    if chat_page:
        from nuri.serving.chat_page import add_chat_page

        add_chat_page(app, service)
    return app


def _model_card(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": int(time.time()), "owned_by": "nuri"}


def _sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def _fixed(req: ChatRequest, prepared: Prepared, completion_id: str, tokens: int, log: _Log, started: float):
    """The guard's decline or refusal, as a completion (or a stream) like any other."""
    choices = [{"text": prepared.reply, "finish_reason": "stop"} for _ in range(req.n)]
    if not req.stream:
        return completion(completion_id, req.model, choices, usage(0, tokens * req.n), _extra(prepared))
    include = bool(req.stream_options and req.stream_options.include_usage)

    async def events():
        created = int(time.time())
        yield _sse(chunk(completion_id, req.model, created, [
            {"index": i, "delta": {"role": "assistant", "content": prepared.reply}, "finish_reason": None,
             "logprobs": None} for i in range(req.n)], include_usage=include, extra=_extra(prepared)))
        yield _sse(chunk(completion_id, req.model, created, [
            {"index": i, "delta": {}, "finish_reason": "stop", "logprobs": None} for i in range(req.n)],
            include_usage=include))
        if include:
            yield _sse({**chunk(completion_id, req.model, created, [], include_usage=False),
                        "usage": usage(0, tokens * req.n)})
        await log.done(completion_id, req, prepared, prepared.reply, started, 0, tokens * req.n)
        yield _sse("[DONE]")

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _stream(req: ChatRequest, prepared: Prepared, gens: list[Generation], events: asyncio.Queue,
                  completion_id: str, log: _Log, started: float):
    include = bool(req.stream_options and req.stream_options.include_usage)
    created = int(time.time())
    try:
        # The first chunk names the role (and carries the sources: they are known before
        # the first token).
        yield _sse(chunk(completion_id, req.model, created, [
            {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None, "logprobs": None}
            for i in range(len(gens))], include_usage=include, extra=_extra(prepared)))
        remaining = len(gens)
        while remaining:
            i, delta = await events.get()
            if delta is None:
                remaining -= 1
                if gens[i].error:  # the openai client raises on an event carrying "error"
                    log.metrics.request(prepared.service, "error")
                    yield _sse(APIError(500, "The model failed to generate a completion.",
                                        type="server_error").body())
                    return
                yield _sse(chunk(completion_id, req.model, created,
                                 [{"index": i, "delta": {}, "finish_reason": gens[i].finish_reason,
                                   "logprobs": None}], include_usage=include))
            elif delta:
                yield _sse(chunk(completion_id, req.model, created,
                                 [{"index": i, "delta": {"content": delta}, "finish_reason": None, "logprobs": None}],
                                 include_usage=include))
        completion_tokens = sum(g.completion_tokens for g in gens)
        if include:
            yield _sse({**chunk(completion_id, req.model, created, [], include_usage=False),
                        "usage": usage(len(prepared.input_ids), completion_tokens)})
        await log.done(completion_id, req, prepared, gens[0].text, started, len(prepared.input_ids),
                       completion_tokens)
        yield _sse("[DONE]")
    finally:
        for g in gens:  # a client that disconnects mid-stream stops its rows
            if g.finish_reason is None:
                g.cancelled = True
