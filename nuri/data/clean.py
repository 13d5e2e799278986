"""Text cleaning: Unicode normalisation, markup and boilerplate removal, script shares.

Pure functions; `prepare` applies them to every document before the quality filter."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>\n]{1,400}>", re.S | re.I)
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]{2,8});", re.I)
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_MD_EMPH = re.compile(r"(\*\*|__|~~|`)(?=\S)(.+?)(?<=\S)\1")
_MD_FENCE = re.compile(r"^\s*(```|~~~).*$", re.M)
_MD_RULE = re.compile(r"^\s*([-*_]\s*){3,}$", re.M)
_MD_BULLET = re.compile(r"^\s*[*+]\s+", re.M)


def normalise(text: str) -> str:
    """NFC (not NFKC: NFKC rewrites Korean punctuation such as '․' and full-width forms
    that carry meaning in official documents), no control or zero-width characters,
    single spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def strip_html(text: str) -> str:
    """Tags, scripts, styles and comments out; entities decoded. For HTML that slipped
    into text sources (the html format reader parses properly)."""
    import html

    if "<" not in text and "&" not in text:
        return text
    text = re.sub(r"<\s*(br|/p|/div|/li|/h\d|/tr)\b[^>]*>", "\n", text, flags=re.I)
    text = _TAG.sub("", text)
    return html.unescape(text) if _ENTITY.search(text) else text


def strip_markdown(text: str) -> str:
    text = _MD_FENCE.sub("", text)
    text = _MD_RULE.sub("", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_BULLET.sub("- ", text)
    return _MD_EMPH.sub(r"\2", text)


@lru_cache(maxsize=32)
def _boilerplate(patterns: tuple[str, ...]) -> re.Pattern | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


def remove_boilerplate(text: str, patterns: list[str] | tuple[str, ...]) -> tuple[str, int]:
    """Drops whole lines matching a boilerplate pattern; returns (text, lines dropped)."""
    rx = _boilerplate(tuple(patterns))
    if rx is None:
        return text, 0
    kept, dropped = [], 0
    for line in text.split("\n"):
        if line and rx.search(line.strip()):
            dropped += 1
        else:
            kept.append(line)
    return ("\n".join(kept) if dropped else text), dropped


def is_hangul(ch: str) -> bool:
    o = ord(ch)
    return 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F


def script_of(ch: str) -> str | None:
    """ko / en / zh (Han, incl. Hanja) / ja / other for letters; None for the rest."""
    if is_hangul(ch):
        return "ko"
    if not ch.isalpha():
        return None
    o = ord(ch)
    if ch.isascii():
        return "en"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "zh"
    if 0x3040 <= o <= 0x30FF:
        return "ja"
    return "other"


def script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        s = script_of(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return counts


def korean_ratio(text: str) -> float:
    counts = script_counts(text)
    letters = sum(counts.values())
    return counts.get("ko", 0) / letters if letters else 0.0


def dominant_language(counts: dict[str, int]) -> str:
    if not counts:
        return "none"
    return max(sorted(counts), key=lambda k: counts[k])


def clean_text(text: str, *, markup: str | None = None, strip_markup: bool = True,
               boilerplate: list[str] | tuple[str, ...] = ()) -> tuple[str, int]:
    """normalise -> markup out -> boilerplate lines out -> normalise. Returns (text,
    boilerplate lines dropped). markup: 'html', 'md' or None (guessed for html)."""
    if strip_markup:
        if markup == "md":
            text = strip_markdown(text)
        if markup == "html" or (markup is None and re.search(r"</?(p|div|br|span|a|table|td)\b", text, re.I)):
            text = strip_html(text)
    text = normalise(text)
    text, dropped = remove_boilerplate(text, boilerplate)
    if dropped:
        text = normalise(text)
    return text, dropped
