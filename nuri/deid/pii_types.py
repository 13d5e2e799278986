"""Names of the personal-data types the de-identifier knows, and the span it reports.

The type name doubles as the placeholder label (``[RRN]``) and as the key in
count reports, so it is an identifier-like upper-case word.
"""

from __future__ import annotations

from typing import NamedTuple

RRN = "RRN"                      # 주민등록번호
FOREIGNER_RN = "FOREIGNER_RN"    # 외국인등록번호
BUSINESS_RN = "BUSINESS_RN"      # 사업자등록번호
CORPORATE_RN = "CORPORATE_RN"    # 법인등록번호
PHONE = "PHONE"
EMAIL = "EMAIL"
CARD = "CARD"
ACCOUNT = "ACCOUNT"
PASSPORT = "PASSPORT"
DRIVER_LICENSE = "DRIVER_LICENSE"
IP = "IP"
NAME = "NAME"
ADDRESS = "ADDRESS"
SENSITIVE = "SENSITIVE"          # a ministry's own sensitive terms

BUILTIN_TYPES: tuple[str, ...] = (
    RRN, FOREIGNER_RN, BUSINESS_RN, CORPORATE_RN, PHONE, EMAIL, CARD, ACCOUNT,
    PASSPORT, DRIVER_LICENSE, IP, NAME, ADDRESS,
)

# Types whose detection rests on a check digit (or date + gender digit); the
# benchmark's recall target (>= 0.99) applies to these.
CHECKSUM_TYPES: tuple[str, ...] = (RRN, FOREIGNER_RN, BUSINESS_RN, CORPORATE_RN, CARD)


class Finding(NamedTuple):
    """A detected span ``text[start:end]`` of one type. Holds no copy of the value."""

    start: int
    end: int
    type: str
