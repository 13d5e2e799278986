"""Replacement strategies: typed placeholder, same-length mask, keyed pseudonym."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable

from nuri.deid.config import DeidConfig


class PseudonymKeyMissing(RuntimeError):
    """Pseudonym mode was chosen but its key variable is unset or empty."""


Replacer = Callable[[str, str], str]  # (type, value) -> replacement

_NOT_ALNUM = re.compile(r"[\W_]+")


def placeholder(kind: str, value: str) -> str:
    return f"[{kind}]"


def mask(kind: str, value: str) -> str:
    return "*" * len(value)


def _normalise(value: str) -> str:
    # "010-1234-5678" and "010 1234 5678" are the same person: hash the
    # letters and digits only, case-folded.
    return _NOT_ALNUM.sub("", value).casefold() or value


def keyed_pseudonym(key: bytes) -> Replacer:
    """HMAC-SHA256 of type and normalised value; 12 hex digits (48 bits) keep collisions rare.

    The key stays inside the closure: it is not stored on any object that is
    printed, pickled with the data or logged.
    """

    def replace(kind: str, value: str) -> str:
        digest = hmac.new(key, f"{kind}\x00{_normalise(value)}".encode(), hashlib.sha256).hexdigest()
        return f"[{kind}_{digest[:12]}]"

    return replace


def replacer_for(config: DeidConfig) -> Replacer:
    if config.mode == "placeholder":
        return placeholder
    if config.mode == "mask":
        return mask
    key = os.environ.get(config.pseudonym_key_env, "")
    if not key:
        raise PseudonymKeyMissing(
            f"pseudonym mode needs a secret key in the environment variable "
            f"{config.pseudonym_key_env}; set it (never store it with the data) or choose another mode")
    return keyed_pseudonym(key.encode())
