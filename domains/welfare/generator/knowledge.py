"""The knowledge base of the welfare sample: programmes and vocabulary, read from
knowledge.yaml; `table` reads the phrase pools beside it for the other modules.

The facts (amounts, thresholds, start years) are *plausible* values modelled on public
programmes around 2024; they are deliberately simplified and must not be used as
authoritative information. Everything generated from them is synthetic sample data for
exercising the Nuri pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_HERE = Path(__file__).parent


@cache
def table(name: str) -> dict[str, Any]:
    """The YAML file `name`.yaml beside this module."""
    return yaml.safe_load((_HERE / f"{name}.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Programme:
    key: str
    name: str  # full name
    short: str  # short name used in running text
    ministry: str  # responsible ministry
    operator: str  # operating/enquiry agency
    category: str
    target: str  # noun phrase: who is eligible
    income: str | None  # noun phrase: income criterion, None = no income test
    amount: str  # noun phrase: benefit amount
    benefit: str  # noun phrase: what is provided
    payment: str  # noun phrase: how/when it is paid or provided
    places: tuple[str, ...]  # offline application places
    online: str | None  # online channel
    phone: str  # enquiry phone
    docs: tuple[str, ...]  # required documents
    start: int  # start year
    law: str  # legal basis
    notes: tuple[str, ...] = field(default_factory=tuple)  # 합니다-style sentences
    keywords: tuple[str, ...] = field(default_factory=tuple)


_KB = table("knowledge")
_LISTS = ("places", "docs", "notes", "keywords")

PROGRAMMES: tuple[Programme, ...] = tuple(
    Programme(**{k: tuple(v) if k in _LISTS else v for k, v in p.items()}) for p in _KB["programmes"])
BY_KEY = {p.key: p for p in PROGRAMMES}

# (시·도, its 시·군·구) and the 시·도's area code for office landlines.
REGIONS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (sido, tuple(r["districts"])) for sido, r in _KB["regions"].items())
AREA_CODES: dict[str, str] = {sido: r["area_code"] for sido, r in _KB["regions"].items()}

DONG_STEMS: tuple[str, ...] = tuple(_KB["dong_stems"])
SURNAMES: tuple[str, ...] = tuple(_KB["surnames"])
GIVEN_SYLLABLES: tuple[str, ...] = tuple(_KB["given_syllables"])
OCCUPATIONS: tuple[str, ...] = tuple(_KB["occupations"])
CRISES: tuple[str, ...] = tuple(_KB["crises"])
HOUSEHOLDS: tuple[str, ...] = tuple(_KB["households"])
OFFICIAL_TITLES: tuple[str, ...] = tuple(_KB["official_titles"])
# category -> {ages: [min, max], households, situations}
PERSONAS: dict[str, dict[str, list]] = _KB["personas"]
