"""HTML: visible text through the standard-library parser; scripts, styles, navigation,
headers and footers dropped; block elements end lines."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from nuri.data.formats import Bad, Item, ReadContext, decode

_SKIP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg"}
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
          "table", "ul", "ol", "blockquote", "pre", "dd", "dt", "title"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag in _SKIP and self.skip:
            self.skip -= 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
            return
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, str]:
    p = _Text()
    p.feed(markup)
    p.close()
    return "".join(p.parts), p.title.strip()


def _charset(data: bytes) -> str | None:
    import re

    m = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", data[:4096], re.I)
    return m.group(1).decode("ascii").lower() if m else None


def read(path: Path, ctx: ReadContext) -> Iterator[Item | Bad]:
    data = Path(path).read_bytes()
    declared = _charset(data)
    encodings = ctx.encodings if not declared or declared in ctx.encodings else (declared, *ctx.encodings)
    markup, err = decode(data, tuple(encodings))
    if markup is None:
        yield Bad("file", err)
        return
    text, title = html_to_text(markup)
    yield Item(f"{title}\n\n{text}" if title else text, meta={"title": title} if title else {})
