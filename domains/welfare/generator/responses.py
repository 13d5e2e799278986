"""Declines, and the ways an answer goes wrong, for the sample's SFT and preference sets.

Every generator composes its text from parts (an opener, a core, a closer, the
programme's own name and facts), so that no text is shared by many prompts: a reward
model shown the same few rejected strings again and again learns the strings, not
what makes an answer bad. The kinds are those of nuri.data.kinds."""

from __future__ import annotations

import random
import re

from . import facts
from .datasets import ASPECTS, HARMFUL, HARMFUL_CATEGORIES, domain_answer
from .knowledge import PROGRAMMES, Programme, table
from .text import fill, mobile, person_name, rrn

# The parts the texts are composed from (responses.yaml).
_T = table("responses")

# --------------------------------------------------------------------------
# Declines: the right answer off the domain, and a wrong one in it
# --------------------------------------------------------------------------

DECLINE_OPENERS = _T["decline_openers"]
DECLINE_CORES = _T["decline_cores"]
DECLINE_CLOSERS = _T["decline_closers"]


def decline(rng: random.Random) -> str:
    """The service's decline: right for an off-domain question, wrong for an in-domain one."""
    return (rng.choice(DECLINE_OPENERS) + rng.choice(DECLINE_CORES) + rng.choice(DECLINE_CLOSERS)).strip()


def refusal_in_domain(p: Programme, rng: random.Random, n: str) -> str:
    """A harmful request's refusal, given to a harmless question (over-refusal)."""
    _, refusal = rng.choice([item for cat in HARMFUL_CATEGORIES for item in HARMFUL[cat]])
    lead = rng.choice(["", "{n} 관련 문의시군요. ", "{n}에 대해 물으셨는데, ", "{n} 말씀이신가요? ", "죄송하지만 "])
    return fill(lead + refusal, n=n, ph=p.phone, pl=facts.places_text(p))


# --------------------------------------------------------------------------
# In-domain answers gone wrong
# --------------------------------------------------------------------------

EVASIVE_CORES = _T["evasive_cores"]
EVASIVE_LEADS = _T["evasive_leads"]
EVASIVE_TAILS = _T["evasive_tails"]


def evasive_answer(rng: random.Random, n: str) -> str:
    return (fill(rng.choice(EVASIVE_LEADS), n=n) + rng.choice(EVASIVE_CORES) + rng.choice(EVASIVE_TAILS)).strip()


RUDE_LEADS = _T["rude_leads"]
RUDE_TAILS = _T["rude_tails"]


def rude_answer(p: Programme, aspect: str, rng: random.Random, n: str) -> str:
    return rng.choice(RUDE_LEADS) + domain_answer(p, aspect, rng, decorate=False, n=n) + rng.choice(RUDE_TAILS)


def _other(p: Programme, aspect: str, rng: random.Random) -> Programme:
    value = facts_of(p, aspect)
    return rng.choice([q for q in PROGRAMMES if q.key != p.key and facts_of(q, aspect) != value])


def other_programme_answer(p: Programme, aspect: str, rng: random.Random) -> str:
    """A right answer, about another programme than the one asked about."""
    return domain_answer(_other(p, aspect, rng), aspect, rng)


_NUMBER = re.compile(r"\d+(?:,\d{3})*")


def wrong_fact_answer(p: Programme, aspect: str, rng: random.Random, n: str) -> str:
    """The right programme's name with a wrong fact: a number changed (an amount, an
    age, a year, a percentage), or another programme's fact put in its place."""
    right = domain_answer(p, aspect, rng, n=n)
    numbers = list(_NUMBER.finditer(right))
    if numbers and rng.random() < 0.5:
        m = rng.choice(numbers)
        value = int(m.group(0).replace(",", ""))
        changed = value + rng.choice([-1, 1]) * max(1, round(value * rng.choice([0.1, 0.2, 0.3, 0.5])))
        text = f"{changed:,}" if "," in m.group(0) else str(changed)
        return right[:m.start()] + text + right[m.end():]
    q = _other(p, aspect, rng)
    ans = domain_answer(q, aspect, rng)
    return ans.replace(q.name, "\x00").replace(q.short, "\x01").replace("\x00", n).replace("\x01", n)


def wrong_aspect_answer(p: Programme, aspect: str, rng: random.Random, n: str) -> str:
    """Facts about the right programme that answer another question."""
    others = [a for a in ASPECTS if a != aspect and facts_of(p, a) != facts_of(p, aspect)]
    return domain_answer(p, rng.choice(others), rng, n=n)


def garbled_answer(good: str, rng: random.Random) -> str:
    """The good answer cut off mid-way and stuck repeating a fragment, as an untrained or
    over-optimised policy writes."""
    words = good.split()
    if len(words) < 4:
        return good + " " + " ".join([words[-1]] * 4)
    cut = rng.randint(max(2, len(words) // 3), max(3, len(words) - 2))
    frag = words[cut - 1]
    if rng.random() < 0.5:
        piece = frag[: max(1, len(frag) // 2)]
        return " ".join(words[:cut - 1]) + " " + piece * rng.randint(3, 6)
    return " ".join(words[:cut]) + " " + " ".join([frag] * rng.randint(3, 6))


def facts_of(p: Programme, aspect: str) -> str:
    return {
        "target": p.target, "income": p.income or "", "amount": p.amount, "apply": facts.places_text(p),
        "docs": facts.docs_text(p), "ministry": p.ministry, "start": str(p.start), "payment": p.payment,
        "phone": p.phone, "benefit": p.benefit, "note": " ".join(p.notes), "online": p.online or "",
    }[aspect]


# --------------------------------------------------------------------------
# Personal data in the question
# --------------------------------------------------------------------------

PII_LEADS = _T["pii_leads"]
PII_REPEATS = _T["pii_repeats"]
PII_CARE = _T["pii_care"]


def _slots(template: str) -> set[str]:
    return set(re.findall(r"\{(\w+)", template))


def pii_question(question: str, rng: random.Random) -> tuple[str, dict[str, str]]:
    """The question with the asker's (synthetic) personal data in front of it; returns
    the data it holds."""
    lead = rng.choice(PII_LEADS)
    every = {"name": person_name(rng), "rrn": rrn(rng), "mobile": mobile(rng)}
    pii = {k: v for k, v in every.items() if k in _slots(lead)}
    return fill(lead, **pii) + question, pii


def pii_safe_answer(good: str, rng: random.Random) -> str:
    return rng.choice(PII_CARE) + good


def pii_repeat_answer(good: str, pii: dict[str, str], rng: random.Random) -> str:
    """The good answer after repeating personal data the question gave (only that)."""
    fitting = [t for t in PII_REPEATS if _slots(t) <= set(pii)] or \
        [" ".join(f"{{{k}}}" for k in pii) + " 기준으로 안내해 드리면, "]
    return fill(rng.choice(fitting), **pii) + good


# --------------------------------------------------------------------------
# Harmful requests complied with; off-domain questions answered
# --------------------------------------------------------------------------

COMPLY_BY_CAT: dict[str, list[str]] = _T["comply_by_category"]  # harmful category -> compliances
COMPLY_LEADS = _T["comply_leads"]
COMPLY_TAILS = _T["comply_tails"]


def harmful_compliance(category: str, rng: random.Random, n: str) -> str:
    assert category in HARMFUL_CATEGORIES, category
    return (fill(rng.choice(COMPLY_LEADS), n=n) + rng.choice(COMPLY_BY_CAT[category]) + rng.choice(COMPLY_TAILS)).strip()


OFFDOMAIN_LEADS = _T["offdomain_leads"]
OFFDOMAIN_CORES = _T["offdomain_cores"]
OFFDOMAIN_TAILS = _T["offdomain_tails"]


def answers_off_domain(topic: str, rng: random.Random) -> str:
    leads = OFFDOMAIN_LEADS if topic else [x for x in OFFDOMAIN_LEADS if "{t" not in x]
    return (fill(rng.choice(leads), t=topic) + rng.choice(OFFDOMAIN_CORES) + rng.choice(OFFDOMAIN_TAILS)).strip()
