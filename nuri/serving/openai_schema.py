"""The OpenAI chat-completions wire format the service speaks: the request it accepts
(unknown fields are a 400, as OpenAI answers them), its errors
(`{"error": {"message", "type", "param", "code"}}`) and its response bodies and stream
chunks. Pure: no model, no web framework beyond pydantic."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nuri.feedback.config import RATING_KINDS


class APIError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def validation_error(errors: list[dict]) -> APIError:
    """The first pydantic error as OpenAI words a bad request: 400, naming the field."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return APIError(400, "We could not parse the JSON body of your request.", param=None)
    if first.get("type") == "extra_forbidden":
        return APIError(400, f"Unrecognized request argument supplied: {param}", param=param)
    if first.get("type") == "missing":
        return APIError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    return APIError(400, f"Invalid value for '{param}': {first.get('msg', 'invalid')}.", param=param,
                    code="invalid_value")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Wire):
    type: Literal["text"]
    text: str


class ChatMessage(_Wire):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content)
        return self.content or ""


class StreamOptions(_Wire):
    include_usage: bool = False
    include_obfuscation: bool | None = None   # OpenAI pads chunks against side channels; nothing to pad here


class ChatRequest(_Wire):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)              # deprecated by OpenAI, still sent by many tools
    max_completion_tokens: int | None = Field(None, ge=1)
    # Greedy unless asked otherwise: a public service answers the same question the same way.
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int = Field(1, ge=1, le=8)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    frequency_penalty: float = Field(0.0, ge=-2, le=2)
    presence_penalty: float = Field(0.0, ge=-2, le=2)
    logprobs: bool | None = None
    top_logprobs: int | None = None
    metadata: dict[str, str] | None = None
    # Sent by common tools with values that ask for nothing; refused when they ask for more.
    response_format: dict | None = None
    tools: list | None = None
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    logit_bias: dict[str, float] | None = None
    store: bool | None = None            # this server stores no completions either way
    service_tier: str | None = None
    modalities: list[str] | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v):
        stops = [v] if isinstance(v, str) else (v or [])
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        if any(not s for s in stops):
            raise ValueError("stop sequences must not be empty")
        return v

    @model_validator(mode="after")
    def _supported(self):
        if self.stream_options is not None and not self.stream:
            raise ValueError("The 'stream_options' parameter is only allowed when 'stream' is enabled.")
        return self

    @property
    def stops(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())

    def unsupported(self) -> APIError | None:
        """Parameters this server accepts in form but cannot honour: refused, not ignored."""
        for name in ("frequency_penalty", "presence_penalty"):
            if getattr(self, name):
                return APIError(400, f"'{name}' other than 0 is not supported by this server.", param=name,
                                code="unsupported_parameter")
        asks = {"logprobs": bool(self.logprobs or self.top_logprobs),
                "response_format": (self.response_format or {"type": "text"}).get("type") != "text",
                "tools": bool(self.tools), "tool_choice": self.tool_choice not in (None, "none", "auto"),
                "logit_bias": bool(self.logit_bias), "modalities": (self.modalities or ["text"]) != ["text"]}
        for name, unsupported in asks.items():
            if unsupported:
                return APIError(400, f"'{name}' is not supported by this server.", param=name,
                                code="unsupported_parameter")
        return None


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(completion_id: str, model: str, choices: list[dict], use: dict, extra: dict) -> dict:
    """choices: [{"text", "finish_reason"}] in order."""
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": None,
            "choices": [{"index": i, "message": {"role": "assistant", "content": c["text"], "refusal": None},
                         "finish_reason": c["finish_reason"], "logprobs": None} for i, c in enumerate(choices)],
            "usage": use, **extra}


def chunk(completion_id: str, model: str, created: int, choices: list[dict], *, include_usage: bool,
          extra: dict | None = None) -> dict:
    """One chat.completion.chunk; with include_usage every chunk carries "usage": null
    but the last, which carries the totals and no choices."""
    out = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
           "system_fingerprint": None, "choices": choices, **(extra or {})}
    if include_usage:
        out["usage"] = None
    return out


class FeedbackRequest(_Wire):
    """POST /v1/feedback: a person's rating of one completion (not an OpenAI route; the
    same error shape). Length limits come from the domain's feedback config."""

    completion_id: str = Field(min_length=1, max_length=64)
    kind: Literal[RATING_KINDS]  # type: ignore[valid-type]  (the tuple is the one list of kinds)
    correction: str | None = Field(None, description="the answer the person expected")
    comment: str | None = None
