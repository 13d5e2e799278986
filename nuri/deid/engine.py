"""The de-identifier: runs the enabled detectors, resolves overlaps, replaces spans."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from nuri.deid import contact, context_names, id_numbers
from nuri.deid.config import DeidConfig
from nuri.deid.patterns import NumberRun, number_runs
from nuri.deid.replace import replacer_for
from nuri.deid.pii_types import (
    ACCOUNT, ADDRESS, BUSINESS_RN, CARD, CORPORATE_RN, DRIVER_LICENSE, EMAIL, FOREIGNER_RN, IP, NAME,
    PASSPORT, PHONE, RRN, SENSITIVE, Finding,
)

Detector = Callable[[str], Iterable[Finding]]
# Number detectors also take the text's number runs, found once for all of them.
NumberDetector = Callable[[str, list[NumberRun]], Iterable[Finding]]

# Which detector covers which types. Order is the tie-break when two types
# claim exactly the same span: checksummed numbers before looser shapes.
_BUILTIN_DETECTORS: tuple[tuple[frozenset[str], Detector | NumberDetector], ...] = (
    (frozenset({RRN, FOREIGNER_RN, CORPORATE_RN}), id_numbers.find_thirteen_digit),
    (frozenset({BUSINESS_RN}), id_numbers.find_business_rn),
    (frozenset({CARD}), id_numbers.find_card),
    (frozenset({EMAIL}), contact.find_email),
    (frozenset({PHONE}), contact.find_phone),
    (frozenset({DRIVER_LICENSE}), id_numbers.find_driver_license),
    (frozenset({PASSPORT}), id_numbers.find_passport),
    (frozenset({IP}), contact.find_ip),
    (frozenset({ACCOUNT}), id_numbers.find_account),
    (frozenset({NAME}), context_names.find_names),
    (frozenset({ADDRESS}), context_names.find_addresses),
)
_NUMBER_DETECTORS = frozenset({
    id_numbers.find_thirteen_digit, id_numbers.find_business_rn, id_numbers.find_card, contact.find_phone,
    id_numbers.find_driver_license, contact.find_ip, id_numbers.find_account,
})


@dataclass(frozen=True)
class Redaction:
    """The redacted text and how many spans of each type were replaced (never the values)."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)


def _regex_detector(pattern: re.Pattern[str], kind: str) -> Detector:
    def find(text: str) -> Iterator[Finding]:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                yield Finding(m.start(), m.end(), kind)
    return find


def _resolve_overlaps(findings: list[Finding], rank: dict[str, int]) -> list[Finding]:
    """Keep the longest span where spans overlap (ties: detector order); return by position."""
    findings.sort()
    if all(a.end <= b.start for a, b in zip(findings, findings[1:])):
        return findings  # the common case, checked first: a third of the time went to the general path
    findings.sort(key=lambda f: (f.start - f.end, rank.get(f.type, len(rank)), f.start))
    starts: list[int] = []
    kept: list[Finding] = []
    for f in findings:
        i = bisect.bisect_right(starts, f.start)
        if i > 0 and kept[i - 1].end > f.start:
            continue  # the kept span on the left reaches into this one
        if i < len(kept) and kept[i].start < f.end:
            continue  # this one reaches into the kept span on the right
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


class Deidentifier:
    """Built once per config (all patterns compiled here); ``redact`` is then called per document."""

    def __init__(self, config: DeidConfig | None = None) -> None:
        self.config = config or DeidConfig()
        enabled = set(self.config.types)
        self._detectors: list[Detector] = []
        self._number_detectors: list[NumberDetector] = []
        self._rank: dict[str, int] = {}
        for kinds, detector in _BUILTIN_DETECTORS:
            if kinds & enabled:
                into = self._number_detectors if detector in _NUMBER_DETECTORS else self._detectors
                into.append(_only(kinds & enabled, detector) if kinds - enabled else detector)
        if PHONE in enabled and self.config.redact_representative_numbers:
            self._number_detectors.append(contact.find_representative)
        for i, (kinds, _) in enumerate(_BUILTIN_DETECTORS):
            for kind in kinds:
                self._rank[kind] = i
        # A ministry's patterns and terms come last in the tie-break order.
        for p in self.config.sensitive_patterns:
            self._detectors.append(_regex_detector(re.compile(p.regex), p.label))
        if self.config.sensitive_terms:
            terms = sorted(set(self.config.sensitive_terms), key=len, reverse=True)
            alternation = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
            self._detectors.append(_regex_detector(alternation, SENSITIVE))
        # Fails here, once, when pseudonym mode has no key.
        self._replace = replacer_for(self.config)

    def __repr__(self) -> str:
        return f"Deidentifier(mode={self.config.mode!r}, types={len(self.config.types)})"

    def find(self, text: str) -> list[Finding]:
        """Non-overlapping spans to replace, in text order."""
        findings: list[Finding] = []
        if self._number_detectors:
            runs = number_runs(text)
            for number_detector in self._number_detectors:
                findings.extend(number_detector(text, runs))
        for detector in self._detectors:
            findings.extend(detector(text))
        return _resolve_overlaps(findings, self._rank) if findings else findings

    def redact(self, text: str) -> Redaction:
        findings = self.find(text)
        if not findings:
            return Redaction(text, {})
        parts: list[str] = []
        counts: dict[str, int] = {}
        pos = 0
        for f in findings:
            parts.append(text[pos:f.start])
            parts.append(self._replace(f.type, text[f.start:f.end]))
            counts[f.type] = counts.get(f.type, 0) + 1
            pos = f.end
        parts.append(text[pos:])
        return Redaction("".join(parts), counts)


def _only(kinds: frozenset[str], detector: Callable[..., Iterable[Finding]]) -> Callable[..., Iterator[Finding]]:
    """A detector (of either kind) restricted to some of the types it can report."""
    def find(*args: object) -> Iterator[Finding]:
        return (f for f in detector(*args) if f.type in kinds)
    return find


def deidentify(text: str, config: DeidConfig | None = None) -> Redaction:
    """One-off convenience; for many documents build one ``Deidentifier`` and reuse it."""
    return Deidentifier(config).redact(text)
