"""Detectors for Korean identification numbers, cards, accounts, passports and licences.

Each ``find_*`` function takes the whole text (and, for the number patterns,
its ``patterns.number_runs``) and yields ``Finding`` spans. A regex proposes
candidates; the check digit, date or context decides. Digit runs are
anchored so a candidate never starts or ends inside a longer number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nuri.deid import checksums
from nuri.deid.patterns import DASH, FIRST_DIGIT, NUMBER_END, NumberRun, finditer_in_runs
from nuri.deid.pii_types import (
    ACCOUNT, BUSINESS_RN, CARD, CORPORATE_RN, DRIVER_LICENSE, FOREIGNER_RN, PASSPORT, RRN,
    Finding,
)

# YYMMDD-GNNNNNN, with or without the hyphen (a space is also seen).
_THIRTEEN = re.compile("(" + FIRST_DIGIT + r"[0-9]{5})(?:\s?" + DASH + r"\s?|\s)?([0-9]{7})" + NUMBER_END)
_CORPORATE_CONTEXT = re.compile(r"법인")


def _context_before(text: str, start: int, pattern: re.Pattern[str], width: int = 20) -> bool:
    """``pattern`` occurs in the ``width`` characters before ``start``, in the same sentence."""
    window_start = max(0, start - width)
    cut = max(text.rfind(".", window_start, start), text.rfind("\n", window_start, start))
    return pattern.search(text, max(window_start, cut + 1), start) is not None


def _context_after(text: str, end: int, pattern: re.Pattern[str], width: int = 12) -> bool:
    window_end = min(len(text), end + width)
    cut = min((i for i in (text.find(".", end, window_end), text.find("\n", end, window_end)) if i >= 0),
              default=window_end)
    return pattern.search(text, end, cut) is not None


def find_thirteen_digit(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    """RRN, foreigner and corporate registration numbers share the 6-7 shape.

    A real birth date with a 1-4 (5-8) gender digit makes an RRN (foreigner
    number) even without the check digit, because numbers issued since
    October 2020 end in random digits. A corporate number needs its check
    digit and either "법인" just before it or a plausible office/kind code;
    with "법인" before it, it wins over the RRN reading.
    """
    corporate_word = "법인" in text  # no windowed look-up per number without it
    for m in finditer_in_runs(_THIRTEEN, text, runs, 13):
        digits = m.group(1) + m.group(2)
        if (corporate_word and _context_before(text, m.start(), _CORPORATE_CONTEXT)
                and checksums.corporate_rn_valid(digits)):
            yield Finding(m.start(), m.end(), CORPORATE_RN)
        elif checksums.is_rrn(digits):
            yield Finding(m.start(), m.end(), RRN)
        elif checksums.is_foreigner_rn(digits):
            yield Finding(m.start(), m.end(), FOREIGNER_RN)
        elif checksums.corporate_codes_plausible(digits) and checksums.corporate_rn_valid(digits):
            yield Finding(m.start(), m.end(), CORPORATE_RN)


# 123-45-67890 always; 1234567890 or "123 45 67890" only after 사업자/등록번호.
_BUSINESS_HYPHEN = re.compile(
    "(" + FIRST_DIGIT + r"[0-9]{2})" + DASH + r"([0-9]{2})" + DASH + r"([0-9]{5})" + NUMBER_END)
_BUSINESS_BARE = re.compile("(" + FIRST_DIGIT + r"[0-9]{2})\s?([0-9]{2})\s?([0-9]{5})" + NUMBER_END)
_BUSINESS_CONTEXT = re.compile(r"사업자|등록번호|사업장")


def find_business_rn(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    for m in finditer_in_runs(_BUSINESS_HYPHEN, text, runs, 10):
        if checksums.business_rn_valid("".join(m.groups())):
            yield Finding(m.start(), m.end(), BUSINESS_RN)
    # _BUSINESS_CONTEXT's words, looked for as plain strings: faster than its scan.
    if not ("사업자" in text or "등록번호" in text or "사업장" in text):
        return
    for m in finditer_in_runs(_BUSINESS_BARE, text, runs, 10):
        if (checksums.business_rn_valid("".join(m.groups()))
                and _context_before(text, m.start(), _BUSINESS_CONTEXT)):
            yield Finding(m.start(), m.end(), BUSINESS_RN)


# 16 digits as 4-4-4-4 (same separator throughout) or 15 as 4-6-5 (Amex).
_CARD = re.compile(
    FIRST_DIGIT + r"[0-9]{3}(?:([- ]?)[0-9]{4}\1[0-9]{4}\1[0-9]{4}|([- ]?)[0-9]{6}\2[0-9]{5})" + NUMBER_END)


_NOT_DIGIT = re.compile(r"[^0-9]")


def find_card(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    for m in finditer_in_runs(_CARD, text, runs, 15):
        if checksums.card_valid(_NOT_DIGIT.sub("", m.group())):
            yield Finding(m.start(), m.end(), CARD)


# Bank accounts have no check digit and no single format (110-123-456789,
# 1002-123-456789, 123456-12-123456, 3333-01-1234567, bare 10-14 digits),
# so a candidate counts only near a word that marks an account.
_ACCOUNT_SHAPE = re.compile(
    FIRST_DIGIT + r"(?:[0-9]{1,5}(?:" + DASH + r"[0-9]{2,7}){1,4}|[0-9]{9,13})" + NUMBER_END)
_ACCOUNT_CONTEXT = re.compile(
    r"계좌|입금|송금|이체|통장|예금주|은행|뱅크|농협|신협|수협|새마을금고|우체국|저축"
    r"|KB|NH|IBK|SC제일|씨티|신한")  # not 우리/하나/국민 alone: everyday words


# A number under another label is not an account even near an account word:
# "희망저축계좌 관련 문의 (접수번호 ...)" names a programme, then a receipt number.
_OTHER_NUMBER_LABEL = re.compile(r"(?:접수|신청|문서|관리|사건|민원|의안|고유|일련|발급|허가|증명서)\s?번호")


def find_account(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    if _ACCOUNT_CONTEXT.search(text) is None:
        return  # one scan for the words instead of a context check per number
    for m in finditer_in_runs(_ACCOUNT_SHAPE, text, runs, 10):
        if not 10 <= sum(map(str.isdigit, m.group())) <= 14:
            continue
        start = m.start()
        if _after_code(text, start):
            continue
        if _context_before(text, start, _ACCOUNT_CONTEXT, 25):
            if not _OTHER_NUMBER_LABEL.search(text, _last_context_end(text, start), start):
                yield Finding(start, m.end(), ACCOUNT)
        elif _context_after(text, m.end(), _ACCOUNT_CONTEXT):
            yield Finding(start, m.end(), ACCOUNT)


def _after_code(text: str, start: int) -> bool:
    """The number is the tail of a code such as 3AA-2480-512929 (letters and digits, then a dash)."""
    if start < 2 or text[start - 1] not in "-‐–－":
        return False
    head = start - 1
    while head > 0 and text[head - 1].isascii() and text[head - 1].isalnum():
        head -= 1
    token = text[head:start - 1]
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def _last_context_end(text: str, start: int) -> int:
    """End of the last account word in the 25 characters before ``start``."""
    end = max(0, start - 25)
    for c in _ACCOUNT_CONTEXT.finditer(text, end, start):
        end = c.end()
    return end


# Passport: type letter + 8 digits (old), or + 3 digits, a letter, 4 digits
# (since December 2021). Letters: M multiple, S single, R travel certificate,
# O official, D diplomatic, G/T others.
_PASSPORT = re.compile(
    r"[MSRODGT](?<![A-Za-z0-9][MSRODGT])(?:[0-9]{8}|[0-9]{3}[A-Z][0-9]{4})(?![A-Za-z0-9])")


def find_passport(text: str) -> Iterator[Finding]:
    for m in _PASSPORT.finditer(text):
        yield Finding(m.start(), m.end(), PASSPORT)


# Driver's licence: region code (11-28) or region name, 2-digit year,
# 6-digit serial, 2-digit check: 11-12-345678-90, 서울 12-345678-90.
_LICENSE_REGIONS = ("서울|부산|경기남부|경기북부|경기|강원|충북|충남|전북|전남|경북|경남"
                    "|제주|대구|인천|광주|대전|울산")
# Numeric form: region code, year, serial, check. Region-name form: the name
# just before "12-345678-90", checked in Python so the scan starts on a digit.
_LICENSE = re.compile(
    "(" + FIRST_DIGIT + r"[0-9])(" + DASH + r"[0-9]{2})?" + DASH + r"[0-9]{6}" + DASH + r"[0-9]{2}"
    + NUMBER_END)
_REGION_BEFORE = re.compile(r"(?:" + _LICENSE_REGIONS + r") ?$")
_LICENSE_BARE = re.compile("(" + FIRST_DIGIT + r"[0-9])[0-9]{10}" + NUMBER_END)
_LICENSE_CONTEXT = re.compile(r"면허")


def _region_code_ok(code: str) -> bool:
    return 11 <= int(code) <= 28


def find_driver_license(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    for m in finditer_in_runs(_LICENSE, text, runs, 10):
        if m.group(2) is not None:  # 11-12-345678-90
            if _region_code_ok(m.group(1)):
                yield Finding(m.start(), m.end(), DRIVER_LICENSE)
        else:  # 서울 12-345678-90: the region name is part of the number
            region = _REGION_BEFORE.search(text, max(0, m.start() - 5), m.start())
            if region:
                yield Finding(region.start(), m.end(), DRIVER_LICENSE)
    if "면허" not in text:
        return
    for m in finditer_in_runs(_LICENSE_BARE, text, runs, 12):
        if _region_code_ok(m.group(1)) and _context_before(text, m.start(), _LICENSE_CONTEXT):
            yield Finding(m.start(), m.end(), DRIVER_LICENSE)
