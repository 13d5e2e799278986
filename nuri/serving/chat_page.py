"""The chat page served beside the model API: a person asks the domain service (or a
basic one), reads the answer and its sources, and rates it with one click. Plain HTML,
CSS and JavaScript from nuri/serving/static/ (no build step, nothing fetched from
outside); it talks to the same /v1 routes any other client uses.

Headers: a Content-Security-Policy that allows only this origin's own files (no inline
script, no third-party anything), no framing, no referrer, no MIME sniffing."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _SecureStatic(StaticFiles):
    async def get_response(self, path, scope):
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def add_chat_page(app: FastAPI, service) -> None:
    # The release's name in the title and header, escaped: it is the only server-side
    # text on the page; everything else arrives through /v1 and is set as text by chat.js.
    page = (STATIC / "chat.html").read_text(encoding="utf-8").replace("{{release}}", escape(service.name))

    @app.get("/", include_in_schema=False)
    async def root():
        return RedirectResponse("/chat")

    @app.get("/chat", include_in_schema=False)
    async def chat():
        return HTMLResponse(page, headers=SECURITY_HEADERS)

    app.mount("/static", _SecureStatic(directory=STATIC), name="static")
