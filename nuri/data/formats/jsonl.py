"""JSONL: one document per line, `{"text": ..., "id"?: ...}`; streams line by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    with Path(path).open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            pos = f"line {lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                yield Bad(pos, f"not valid UTF-8 (byte {e.start})")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield Bad(pos, f"invalid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(obj, dict):
                yield Bad(pos, "expected a JSON object")
                continue
            text = obj.get("text")
            if not isinstance(text, str):
                yield Bad(pos, "text: required string field is missing")
                continue
            doc_id = obj.get("id")
            meta = {k: v for k, v in obj.items() if k not in ("text", "id") and isinstance(v, (str, int, float))}
            yield Item(text, key=str(doc_id) if doc_id not in (None, "") else f"#{lineno}",
                       position=pos, meta=meta)
