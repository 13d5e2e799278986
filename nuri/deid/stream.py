"""Redacting a stream of documents: one per line, plain text or JSONL with a ``text`` field."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator

from nuri.deid.config import DeidConfig
from nuri.deid.engine import Deidentifier


class BadInput(ValueError):
    """A line that cannot be processed. The message names the line, never its content."""

    def __init__(self, line_no: int, reason: str) -> None:
        super().__init__(f"line {line_no}: {reason}")
        self.line_no = line_no
        self.reason = reason


def redact_documents(lines: Iterable[str], jsonl: bool = False, config: DeidConfig | None = None,
                     *, totals: Counter[str] | None = None,
                     deidentifier: Deidentifier | None = None) -> Iterator[str]:
    """Yield each document redacted, without its line break, in input order.

    ``totals``, when given, is updated with each document's counts as it is
    yielded, so a caller can read the running total at any time. JSONL
    documents keep all their other fields; blank JSONL lines are skipped.
    Raises ``BadInput`` (with the 1-based line number) on a malformed line.
    """
    deid = deidentifier or Deidentifier(config)
    for line_no, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not jsonl:
            red = deid.redact(line)
            out = red.text
        else:
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                # exc.msg describes the syntax error without quoting the data.
                raise BadInput(line_no, f"malformed JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(doc, dict):
                raise BadInput(line_no, "JSONL line is not an object")
            if "text" not in doc:
                raise BadInput(line_no, "missing 'text' field")
            if not isinstance(doc["text"], str):
                raise BadInput(line_no, "'text' field is not a string")
            red = deid.redact(doc["text"])
            doc["text"] = red.text
            out = json.dumps(doc, ensure_ascii=False)
        if totals is not None:
            totals.update(red.counts)
        yield out
