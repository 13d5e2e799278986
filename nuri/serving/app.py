"""The OpenAI-compatible model API over a ModelService, the same app locally (self-test,
`nuri serve`) and in the cluster (KServe runs `nuri serve` from the platform image).

Routes, under both /v1 and /openai/v1 (KServe's Hugging Face runtime's prefix, so a
client pointed at either kind of deployment works): GET models, GET models/{id},
POST chat/completions (plain or `stream=true` server-sent events). /healthz answers
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

from nuri.serving.engine import EngineBusy, Generation, next_request_id
from nuri.serving.openai_schema import APIError, ChatRequest, chunk, completion, usage, validation_error
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


def create_app(service: ModelService) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        yield
        service.close()

    app = FastAPI(title="Nuri model API", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)

    @app.exception_handler(APIError)
    async def api_error(request, exc: APIError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request, exc: RequestValidationError):
        err = validation_error(list(exc.errors()))
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
        err = req.unsupported()
        if err:
            raise err
        # Off the event loop: templating, the guard's classifiers and retrieval take
        # milliseconds, and /healthz and open streams must not wait for them.
        prepared = await run_in_threadpool(service.prepare, req)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if prepared.reply is not None:
            return _fixed(service, req, prepared, completion_id)
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
            return StreamingResponse(_stream(req, prepared, gens, events, completion_id),
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
        return completion(completion_id, req.model, choices,
                          usage(len(prepared.input_ids), sum(g.completion_tokens for g in gens)), _extra(prepared))

    for prefix in API_PREFIXES:
        app.include_router(router, prefix=prefix)
    return app


def _model_card(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": int(time.time()), "owned_by": "nuri"}


def _sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def _fixed(service: ModelService, req: ChatRequest, prepared: Prepared, completion_id: str):
    """The guard's decline or refusal, as a completion (or a stream) like any other."""
    tokens = service.token_count(prepared.reply)  # a short fixed message: microseconds
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
        yield _sse("[DONE]")

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _stream(req: ChatRequest, prepared: Prepared, gens: list[Generation], events: asyncio.Queue,
                  completion_id: str):
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
        if include:
            yield _sse({**chunk(completion_id, req.model, created, [], include_usage=False),
                        "usage": usage(len(prepared.input_ids), sum(g.completion_tokens for g in gens))})
        yield _sse("[DONE]")
    finally:
        for g in gens:  # a client that disconnects mid-stream stops its rows
            if g.finish_reason is None:
                g.cancelled = True
