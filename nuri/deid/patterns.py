"""Regex building blocks shared by the detectors.

Speed note: Python's ``re`` scans quickly for a pattern's first character
when the pattern starts with a plain character or class, but checks a leading
look-behind at every position. So number patterns start with a digit and
put the "not inside a longer number" look-behinds right after it.
``[0-9]`` is used rather than ``\\d``, which also matches other scripts' digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

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


# Every number pattern is made of digits and these separators ("+82 10-...",
# "(02) 123-4567", "900101 - 1234567", "1.2.3.4"; DASH included), so each of
# its matches lies inside one run of them. One scan finds the runs; the
# number patterns then run only there, not over the whole text (each
# full-text scan costs about as much as this one, even where nothing matches).
_NUMBER_RUN = re.compile(r"[0-9](?:[-.()+\s‐–－]*[0-9]){3,}")
# Digits with single "-" or "." between them. In such a run FIRST_DIGIT (and
# first_char) admit a start only at the first digit, or at a "+" or "(" just
# before it, so one anchored match replaces re's attempt at every digit.
_PLAIN_RUN = re.compile(r"[0-9]+(?:[-.][0-9]+)*")

# (start, first, end, plain): start is one before the first digit (a "+" or
# "(" there opens a phone number), first the first digit, end just after the
# last. At least four digits, the fewest of any number pattern.
NumberRun = tuple[int, int, int, bool]


def number_runs(text: str) -> list[NumberRun]:
    runs = []
    for m in _NUMBER_RUN.finditer(text):
        first, end = m.span()
        runs.append((first - 1 if first else 0, first, end, _PLAIN_RUN.fullmatch(text, first, end) is not None))
    return runs


def finditer_in_runs(pattern: re.Pattern[str], text: str, runs: list[NumberRun], min_digits: int,
                     starts_inside: bool = False) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a number pattern whose matches hold ``min_digits`` digits or more.

    The same matches: look-behinds still see the text before a run, and a
    run ends where no digit (nor separator and digit) follows, as the
    patterns' NUMBER_END requires. ``starts_inside``: the pattern does not
    start with FIRST_DIGIT or first_char and may start anywhere in a run.
    """
    for start, first, end, plain in runs:
        if end - first < min_digits:  # fewer characters, so fewer digits
            continue
        if plain and not starts_inside:
            m = (text[start] in "+(" and pattern.match(text, start, end)) or pattern.match(text, first, end)
            if m:
                yield m
        else:
            yield from pattern.finditer(text, start, end)
