"""Quality heuristics: each returns the reason a document is removed, or None.

Thresholds come from `data.cleaning` (CleaningConfig). Reasons are stable strings that
go on the data card and into `removed.jsonl`."""

from __future__ import annotations

import unicodedata
from collections import Counter

from nuri.data.clean import korean_ratio


def symbol_ratio(text: str) -> float:
    """Share of non-space characters that are neither letters nor digits nor common
    punctuation of prose (.,?!·…'"()「」-)."""
    prose = set(".,?!·…'\"()[]「」『』-:;~%/“”‘’․")
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    odd = sum(1 for c in chars if not c.isalnum() and c not in prose
              and unicodedata.category(c)[0] in "SP")
    return odd / len(chars)


def duplicate_line_ratio(text: str) -> float:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) < 4:
        return 0.0
    counts = Counter(lines)
    return sum(n - 1 for n in counts.values() if n > 1) / len(lines)


def top_ngram_ratio(text: str, n: int = 3) -> float:
    """Share of words covered by the most frequent word n-gram (Gopher-style repetition)."""
    words = text.split()
    if len(words) < 4 * n:
        return 0.0
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    if count < 2:
        return 0.0
    return min(1.0, count * sum(len(w) for w in gram) / max(1, sum(len(w) for w in words)))


def quality_reason(text: str, cleaning, *, min_chars: int | None = None,
                   check_language: bool = True) -> str | None:
    """The first failing check, in a fixed order, or None. `cleaning` is a CleaningConfig."""
    if not text:
        return "empty"
    if len(text) < (min_chars or cleaning.min_chars):
        return "too_short"
    if len(text) > cleaning.max_chars:
        return "too_long"
    if check_language and korean_ratio(text) < cleaning.min_korean_ratio:
        return "not_korean"
    if symbol_ratio(text) > cleaning.max_symbol_ratio:
        return "too_many_symbols"
    if duplicate_line_ratio(text) > cleaning.max_duplicate_line_ratio:
        return "repeated_lines"
    if top_ngram_ratio(text) > cleaning.max_top_ngram_ratio:
        return "repeated_ngrams"
    return None
