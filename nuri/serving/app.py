"""OpenAI-compatible `/v1/chat/completions` over a released model with transformers
`generate` (vLLM needs a CUDA torch; in the cluster KServe's LLM runtime serves the same
release folder). Binds to loopback unless told otherwise; when NURI_API_KEY is set every
request must carry it as a bearer token."""

from __future__ import annotations

import hmac
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Literal

import torch
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from transformers import AutoModelForCausalLM, AutoTokenizer


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, le=2048)
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    stream: bool = False


class LoadedModel:
    def __init__(self, model_dir: Path, name: str, system_prompt: str = "", max_new_tokens: int = 64):
        self.name = name
        self.system_prompt = system_prompt
        self.max_new_tokens = max_new_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self._lock = threading.Lock()  # one generate at a time per model on CPU

    @torch.no_grad()
    def chat(self, messages: list[dict], max_tokens: int | None, temperature: float, top_p: float) -> dict:
        if self.system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system_prompt}] + messages
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        sample = temperature > 0
        with self._lock:
            t0 = time.perf_counter()
            out = self.model.generate(
                **enc, max_new_tokens=max_tokens or self.max_new_tokens, do_sample=sample,
                temperature=temperature if sample else None, top_p=top_p if sample else None, top_k=None,
                pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id)
            seconds = time.perf_counter() - t0
        new = out[0, enc["input_ids"].shape[1]:]
        finished = bool(len(new)) and int(new[-1]) == self.tokenizer.eos_token_id
        return {"text": self.tokenizer.decode(new, skip_special_tokens=True).strip(),
                "prompt_tokens": int(enc["input_ids"].shape[1]), "completion_tokens": int(len(new)),
                "finish_reason": "stop" if finished else "length", "seconds": seconds}


def _auth(request: Request) -> None:
    key = os.environ.get("NURI_API_KEY")
    if not key:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
        raise HTTPException(status_code=401, detail="missing or wrong API key")


def create_app(model: LoadedModel) -> FastAPI:
    app = FastAPI(title="Nuri model API", version="1", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "model": model.name}

    @app.get("/v1/models", dependencies=[Depends(_auth)])
    def models() -> dict:
        return {"object": "list", "data": [{"id": model.name, "object": "model", "owned_by": "nuri"}]}

    @app.post("/v1/chat/completions", dependencies=[Depends(_auth)])
    def chat(req: ChatRequest) -> dict:
        if req.stream:
            raise HTTPException(status_code=400, detail="stream=true is not supported yet")
        if req.model not in (None, model.name):
            raise HTTPException(status_code=404, detail=f"model {req.model!r} is not served here")
        result = model.chat([m.model_dump() for m in req.messages], req.max_tokens, req.temperature, req.top_p)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": model.name,
            "choices": [{"index": 0, "finish_reason": result["finish_reason"],
                         "message": {"role": "assistant", "content": result["text"]}}],
            "usage": {"prompt_tokens": result["prompt_tokens"],
                      "completion_tokens": result["completion_tokens"],
                      "total_tokens": result["prompt_tokens"] + result["completion_tokens"]},
        }

    return app
