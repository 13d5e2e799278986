"""Regex building blocks shared by the detectors.

Speed note: Python's ``re`` scans quickly for a pattern's first character
when the pattern starts with a plain character or class, but checks a leading
look-behind at every position. So number patterns start with a digit and
put the "not inside a longer number" look-behinds right after it.
``[0-9]`` is used rather than ``\\d``, which also matches other scripts' digits.
"""

from __future__ import annotations

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
