"""Detectors for phone numbers, e-mail addresses and IP addresses."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from nuri.deid.patterns import NUMBER_END, NumberRun, finditer_in_runs, first_char
from nuri.deid.pii_types import EMAIL, IP, PHONE, Finding

_SEP = r"[-.\s]?"
_COUNTRY = r"82" + _SEP + r"(?:\(0\)\s?)?"  # +82, +82 (0), 0082

# Mobile: 010/011/016-019. Starts "+82...", "0082..." or "01...".
_MOBILE = re.compile(
    first_char("+0") + r"(?:(?<=\+)" + _COUNTRY + r"|(?<=0)0" + _COUNTRY + r"|(?<=0))"
    r"1[016789]" + _SEP + r"[0-9]{3,4}" + _SEP + r"[0-9]{4}" + NUMBER_END)
# Seoul 02, regional 031-064, internet phone 070, toll-free 080, personal 050x;
# written 02-, (02) or 02) domestically.
_AREA = r"(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|80|50[2-8]?)"
_LANDLINE = re.compile(
    first_char("+0(") + r"(?:(?<=\+)" + _COUNTRY + _AREA + r"|(?<=0)0" + _COUNTRY + _AREA
    + r"|(?<=\()0" + _AREA + r"\)\s?|(?<=0)" + _AREA + r"\)?)"
    + _SEP + r"[0-9]{3,4}" + _SEP + r"[0-9]{4}" + NUMBER_END)


def find_phone(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    """Mobile and area-code numbers: the ones a person can hold."""
    # Fewest digits: 010-123-4567, 02-123-4567.
    for pattern, min_digits in ((_MOBILE, 10), (_LANDLINE, 9)):
        for m in finditer_in_runs(pattern, text, runs, min_digits):
            yield Finding(m.start(), m.end(), PHONE)


# Nationwide representative numbers (1577-1000, 1644-2828) are rented by
# organisations, never issued to a person, so they are kept unless a
# ministry asks otherwise (DeidConfig.redact_representative_numbers). Short
# public numbers (110, 112, 119, 120, 129, 1345, 1366) never match: no
# pattern here has fewer than eight digits. Year ranges such as 1592-1598
# have the representative shape: a rising second half up to 2100 reads as
# one unless a phone word comes just before.
_PHONE_CONTEXT = re.compile(r"전화|연락|문의|상담|콜센터|고객센터|TEL|Tel|tel|☎")
_REPRESENTATIVE = re.compile(first_char("1") + r"(?:5[4-9]|6[0-9]|8[0-9])[0-9]-[0-9]{4}" + NUMBER_END)


def find_representative(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    for m in finditer_in_runs(_REPRESENTATIVE, text, runs, 8):
        first, second = m.group().split("-")
        line_start = text.rfind("\n", 0, m.start()) + 1
        if int(first) < int(second) <= 2100 and not _PHONE_CONTEXT.search(
                text, max(line_start, m.start() - 12), m.start()):
            continue
        yield Finding(m.start(), m.end(), PHONE)


# The look-behind follows the first character so re's fast first-character scan applies.
_EMAIL = re.compile(
    r"[A-Za-z0-9](?<![A-Za-z0-9._%+-][A-Za-z0-9])[A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])")


def find_email(text: str) -> Iterator[Finding]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield Finding(m.start(), m.end(), EMAIL)


# Four dot-separated groups of 1-3 digits; octet values are checked in Python.
_IPV4 = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?![0-9])(?!\.[0-9])")


def _octets_ok(candidate: str) -> bool:
    return all(part == str(int(part)) and int(part) <= 255 for part in candidate.split("."))


# "v1.2.3.4", "버전 1.2.3.4": version strings that happen to look like IPv4.
_VERSION_BEFORE = re.compile(r"(?:[vV]|ver\.?\s?|version\s|버전\s?)$", re.IGNORECASE)
# Any run of hex digits, colons and dots holding two colons; ipaddress decides.
_IPV6_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,45}(?![0-9A-Za-z:])")


# A hex digit, a colon and a hex digit or colon; or "::". Starting on the colon
# lets re skip quickly to each one (30x faster on the bills than a hex-digit class).
_HEX_COLON = re.compile(r":(?:(?<=[0-9A-Fa-f]:)[0-9A-Fa-f:]|:)")


def find_ip(text: str, runs: list[NumberRun]) -> Iterator[Finding]:
    if "." in text:
        # A dash does not stop an address from starting: "12-1.2.3.4".
        for m in finditer_in_runs(_IPV4, text, runs, 4, starts_inside=True):
            if _octets_ok(m.group()) and not _VERSION_BEFORE.search(text, max(0, m.start() - 8), m.start()):
                yield Finding(m.start(), m.end(), IP)
    # The candidate pattern starts with a look-behind, tried at every position:
    # run it only where a hex digit touches a colon ("발의자 : 홍길동" has none).
    if ("::" in text or text.count(":") >= 7) and _HEX_COLON.search(text):
        for m in _IPV6_CANDIDATE.finditer(text):
            candidate = m.group().rstrip(".")
            if candidate.count(":") < 2 or not any(c.isalnum() for c in candidate):
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield Finding(m.start(), m.start() + len(candidate), IP)
