"""Regex building blocks shared by the detectors.

Speed note: Python's ``re`` scans quickly for a pattern's first character
when the pattern starts with a plain character or class, but checks a leading
look-behind at every position. So number patterns start with a digit and
put the "not inside a longer number" look-behinds right after it.
``[0-9]`` is used rather than ``\\d``, which also matches other scripts' digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The first digit of a number: not preceded by a digit, nor by a digit and a separator.
FIRST_DIGIT = r"[0-9](?<![0-9][0-9])(?<![0-9][-.][0-9])"
# The number ends here: no digit follows, nor a separator and a digit.
NUMBER_END = r"(?![0-9])(?![-.][0-9])"
# Hyphen and the dashes that word processors substitute for it.
DASH = r"[-‐–－]"


def first_char(chars: str) -> str:
    """Like FIRST_DIGIT for a number that starts with one of ``chars`` (e.g. "0", "12", "+0")."""
    cls = "[" + chars.replace("-", r"\-") + "]"
    return cls + r"(?<![0-9]" + cls + r")(?<![0-9][-.]" + cls + r")"


def alternation(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, written as a trie.

    ``re`` tries the branches of "a|b|c" one after another at every position
    whose character can start one; with 50 titles starting with common
    syllables (의, 사, 시 ...) that dominates a scan. A trie checks each
    character once: "의(?:원|장)|부(?:위원장|의장|시장|장)|...".
    """
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def build(node: dict) -> str:
        # Longer continuations before the end of a word: greedy, like listing
        # "이사장" before "이사" in a plain alternation.
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        ends_here = "" in node
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not ends_here else "(?:" + "|".join(branches) + ")"
        if len(branches) == 1 and not ends_here:
            return body
        return body + "?" if ends_here else body

    return "(?:" + build(trie) + ")"
