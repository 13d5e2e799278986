"""A teacher model behind an OpenAI-compatible chat endpoint writes SFT pairs from
(already de-identified) documents. The API key comes from the environment variable the
config names and is sent only in the Authorization header: never logged or stored."""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Iterable, Iterator

from nuri.errors import DataError

log = logging.getLogger(__name__)

INSTRUCTION = (
    "다음 공공기관 문서를 읽고, 시민이 물을 만한 질문과 문서에 근거한 정확하고 공손한 답변을 "
    "{n}개 만드세요. 문서에 없는 내용은 지어내지 마세요. 반드시 JSON 배열로만 답하세요: "
    '[{{"prompt": "질문", "answer": "답변"}}]\n\n문서:\n{text}')

_JSON_ARRAY = re.compile(r"\[.*\]", re.S)


def parse_pairs(content: str) -> list[tuple[str, str]]:
    """Pairs from the teacher's answer: a JSON array (possibly inside a code fence)."""
    m = _JSON_ARRAY.search(content or "")
    if not m:
        return []
    try:
        items = json.loads(m.group(0))
    except json.JSONDecodeError:
        return []
    out = []
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict) and isinstance(it.get("prompt"), str) and isinstance(it.get("answer"), str) \
                and it["prompt"].strip() and it["answer"].strip():
            out.append((it["prompt"].strip(), it["answer"].strip()))
    return out


class Teacher:
    def __init__(self, config):
        self.config = config
        key = os.environ.get(config.api_key_env)
        if not key:
            raise DataError(f"data.teacher: set {config.api_key_env} (the teacher endpoint's API key)")
        self._headers = {"Authorization": f"Bearer {key}"}

    def __repr__(self) -> str:  # never shows the key
        return f"Teacher({self.config.base_url!r}, model={self.config.model!r})"

    def complete(self, prompt: str) -> str:
        import httpx

        url = self.config.base_url.rstrip("/") + "/chat/completions"
        body = {"model": self.config.model, "temperature": self.config.temperature,
                "messages": [{"role": "user", "content": prompt}]}
        try:
            resp = httpx.post(url, json=body, headers=self._headers, timeout=self.config.timeout_s)
        except httpx.HTTPError as e:
            raise DataError(f"teacher endpoint {self.config.base_url}: {type(e).__name__}") from None
        if resp.status_code != 200:
            raise DataError(f"teacher endpoint {self.config.base_url}: HTTP {resp.status_code}")
        try:
            return resp.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise DataError(f"teacher endpoint {self.config.base_url}: not an OpenAI chat completion") from None

    def pairs_from_documents(self, documents: Iterable[dict]) -> Iterator[tuple[str, str]]:
        n_docs = n_pairs = 0
        for doc in documents:
            text = doc["text"][:6000]
            pairs = parse_pairs(self.complete(INSTRUCTION.format(n=self.config.pairs_per_document, text=text)))
            n_docs += 1
            for p in pairs[: self.config.pairs_per_document]:
                n_pairs += 1
                yield p
        log.info("teacher %s wrote %d pairs from %d documents", self.config.model, n_pairs, n_docs)
