"""Real text: National Assembly bills name their sponsoring members; those names are found."""

import re
from pathlib import Path

import pytest

from nuri.deid import Deidentifier

KOBILL = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "kobill"
BILLS = sorted(KOBILL.glob("*.txt")) if KOBILL.is_dir() else []

pytestmark = pytest.mark.skipif(not BILLS, reason=f"real bill samples not found at {KOBILL}")

SPONSOR_BLOCK = re.compile(r"발\s*의\s*자\s*:(.*?)의원", re.S)


def sponsor_names(text):
    """The names in "발 의 자 : A․B․C ... Z 의원", read independently of the detector."""
    block = SPONSOR_BLOCK.search(text)
    return re.findall(r"[가-힣]{2,4}", block.group(1)) if block else []


def test_sponsoring_members_are_redacted():
    deid = Deidentifier()
    checked = 0
    for bill in BILLS:
        text = bill.read_text(encoding="utf-8")
        names = sponsor_names(text)
        lead = re.search(r"\(([가-힣]{2,4})의원 대표발의", text)
        if lead:
            names.append(lead.group(1))
        red = deid.redact(text)
        for name in names:
            assert name not in red.text, f"{bill.name}: a sponsoring member's name survived"
        checked += len(names)
        assert red.counts.get("NAME", 0) >= len(set(names))
    assert checked >= 50


def test_bill_text_keeps_everything_but_personal_data():
    deid = Deidentifier()
    for bill in BILLS:
        text = bill.read_text(encoding="utf-8")
        red = deid.redact(text)
        # Sponsors' names, and in some bills the budget analyst's office phone
        # and e-mail address; dates, bill and article numbers stay.
        assert set(red.counts) <= {"NAME", "PHONE", "EMAIL"}, f"{bill.name}: {sorted(red.counts)}"
        for kept in re.findall(r"발의연월일 : [0-9. ]+|제[0-9]+조", text):
            assert kept in red.text


def test_constitution_names_no_one():
    constitution = KOBILL.parent / "kolaw" / "constitution.txt"
    if not constitution.is_file():
        pytest.skip(f"{constitution} not found")
    red = Deidentifier().redact(constitution.read_text(encoding="utf-8"))
    assert red.counts == {}, sorted(red.counts.items())
