"""Open-data portal APIs of the data.go.kr kind: GET url?serviceKey=..&pageNo=..&numOfRows=..
answering JSON or XML with a header (resultCode/resultMsg) and a body of items. Pages are
fetched one at a time until the total count, an empty page or `max_pages`.

The service key comes from the environment variable the config names; it never appears
in logs, reports or error messages (positions say 'page N')."""

from __future__ import annotations

import json
import logging
import os
import xml.etree.ElementTree as ET
from typing import Any, Iterator

from nuri.data.formats import Bad, Item
from nuri.errors import DataError

log = logging.getLogger("nuri.data.ingest")

OK_CODES = {"00", "0", "000", "INFO-000", "NORMAL_CODE", "NORMAL SERVICE."}


def _dig(obj: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def _xml_to_obj(el: ET.Element) -> Any:
    children = list(el)
    if not children:
        return (el.text or "").strip()
    out: dict[str, Any] = {}
    for c in children:
        v = _xml_to_obj(c)
        if c.tag in out:
            if not isinstance(out[c.tag], list):
                out[c.tag] = [out[c.tag]]
            out[c.tag].append(v)
        else:
            out[c.tag] = v
    return out


def parse_page(body: bytes, fmt: str) -> dict:
    if fmt == "json":
        return json.loads(body.decode("utf-8-sig"))
    root = ET.fromstring(body)
    return {root.tag: _xml_to_obj(root)}


def service_key(src) -> str:
    key = os.environ.get(src.service_key_env)
    if not key:
        raise DataError(f"open-data source {src.name or src.url}: set {src.service_key_env} "
                        f"(the portal's service key)")
    return key


class _Redact(logging.Filter):
    """HTTP client libraries log request URLs (httpx at INFO): the key is in the query."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if self.secret in msg:
            record.msg, record.args = msg.replace(self.secret, "***"), ()
        return True


def iter_items(src) -> Iterator[Item | Bad]:
    key = service_key(src)
    redact = _Redact(key)
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore", "urllib3")]
    for lg in loggers:
        lg.addFilter(redact)
    try:
        yield from _pages(src, key)
    finally:
        for lg in loggers:
            lg.removeFilter(redact)


def _pages(src, key: str) -> Iterator[Item | Bad]:
    import httpx

    seen = 0
    with httpx.Client(timeout=src.timeout_s) as client:
        for page in range(1, src.max_pages + 1):
            params = {**src.params, src.key_param: key, src.page_param: str(page),
                      src.size_param: str(src.page_size)}
            if src.response_format == "json":
                params.setdefault("type", "json")
            pos = f"page {page}"
            try:
                resp = client.get(src.url, params=params)
            except httpx.HTTPError as e:
                yield Bad(pos, f"request failed ({type(e).__name__})")
                return
            if resp.status_code != 200:
                yield Bad(pos, f"HTTP {resp.status_code}")
                return
            try:
                data = parse_page(resp.content, src.response_format)
            except (ValueError, ET.ParseError) as e:
                yield Bad(pos, f"malformed {src.response_format.upper()} ({type(e).__name__})")
                return
            code = _dig(data, "response.header.resultCode")
            if code is not None and str(code) not in OK_CODES:
                msg = _dig(data, "response.header.resultMsg") or ""
                yield Bad(pos, f"API error {code} {msg}".strip())
                return
            items = _dig(data, src.items_path)
            if items in (None, "", []):
                return
            if isinstance(items, dict):
                items = [items]
            if not isinstance(items, list):
                yield Bad(pos, f"{src.items_path} is not a list")
                return
            for n, item in enumerate(items, start=1):
                if not isinstance(item, dict):
                    yield Bad(f"{pos} item {n}", "not an object")
                    continue
                parts = [str(item[f]).strip() for f in src.text_fields if item.get(f) not in (None, "")]
                if not parts:
                    yield Bad(f"{pos} item {n}", f"none of {', '.join(src.text_fields)} present")
                    continue
                ident = item.get(src.id_field) if src.id_field else None
                yield Item("\n\n".join(parts), key=str(ident) if ident else f"p{page}-{n}",
                           position=f"{pos} item {n}")
            seen += len(items)
            total = _dig(data, src.total_path) if src.total_path else None
            try:
                if total is not None and seen >= int(total):
                    return
            except (TypeError, ValueError):
                pass
            if len(items) < src.page_size:
                return
        log.warning("open-data source %s: stopped at max_pages=%d", src.name or src.url, src.max_pages)
