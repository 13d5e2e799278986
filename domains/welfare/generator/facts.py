"""Fact sentences about a programme, in many phrasings.

style "h" = 합니다체 (notices, guides), style "p" = 한다체 (press, reports).
Every sentence is built from the knowledge base so the corpus, the SFT answers
and the evaluation questions stay consistent.
"""

from __future__ import annotations

import random

from .knowledge import Programme
from .text import fill


def _pick(rng: random.Random, options: list[str], **kw: str) -> str:
    return fill(rng.choice(options), **kw)


def _join(items: list[str] | tuple[str, ...], last: str = "와") -> str:
    items = list(items)
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ", " + items[-1] if last == "," else ", ".join(items[:-1]) + " 및 " + items[-1]


def places_text(p: Programme) -> str:
    if len(p.places) == 1:
        return p.places[0]
    return ", ".join(p.places[:-1]) + " 또는 " + p.places[-1]


def docs_text(p: Programme) -> str:
    return ", ".join(p.docs)


def target(p: Programme, rng: random.Random, style: str = "h") -> str:
    if style == "h":
        opts = [
            "지원 대상은 {t}입니다.",
            "{n:은} {t:을} 대상으로 합니다.",
            "{t:이라면} {n:을} 신청할 수 있습니다.",
            "{n:을} 받을 수 있는 분은 {t}입니다.",
            "{t:이} {n}의 지원 대상에 해당합니다.",
            "대상자는 {t}입니다.",
            "이 제도의 혜택은 {t:을} 위한 것입니다.",
            "{t:이라면} 누구든 상담을 거쳐 {n:을} 받을 수 있습니다.",
            "지원 자격은 {t}에게 주어집니다.",
            "{n}의 수혜 범위는 {t}입니다.",
        ]
    else:
        opts = [
            "지원 대상은 {t:이다}.",
            "{n:은} {t:을} 대상으로 한다.",
            "{t:이} 지원 대상에 해당한다.",
            "{n}의 대상은 {t:으로} 정해져 있다.",
            "수혜 대상은 {t:이다}.",
            "{t:이} 주된 수혜층이다.",
            "{n:은} {t:을} 지원하기 위해 마련되었다.",
            "지원을 받을 수 있는 사람은 {t:으로} 한정된다.",
        ]
    return _pick(rng, opts, n=p.name if rng.random() < 0.6 else p.short, t=p.target)


def income(p: Programme, rng: random.Random, style: str = "h") -> str:
    n = p.name if rng.random() < 0.5 else p.short
    if p.income is None:
        opts_h = [
            "{n:은} 소득이나 재산 기준이 없어 요건만 맞으면 누구나 받을 수 있습니다.",
            "소득 기준은 따로 없습니다.",
            "가구의 소득 수준과 관계없이 신청할 수 있습니다.",
        ]
        opts_p = [
            "{n:은} 소득·재산 기준을 두지 않는다.",
            "소득과 관계없이 보편적으로 지원한다는 점이 특징이다.",
        ]
        return _pick(rng, opts_h if style == "h" else opts_p, n=n)
    opts_h = [
        "소득 기준은 {i}입니다.",
        "선정 기준은 {i}입니다.",
        "소득 요건으로는 {i:이} 적용됩니다.",
        "{i}에 해당해야 {n:을} 받을 수 있습니다.",
        "소득 수준이 {i}인지 확인한 뒤 선정합니다.",
    ]
    opts_p = [
        "소득 기준은 {i:이다}.",
        "선정 기준은 {i:으로} 설정되어 있다.",
        "{i:이} 소득 요건으로 적용된다.",
    ]
    return _pick(rng, opts_h if style == "h" else opts_p, n=n, i=p.income)


def amount(p: Programme, rng: random.Random, style: str = "h") -> str:
    n = p.name if rng.random() < 0.5 else p.short
    opts_h = [
        "지원 금액은 {a}입니다.",
        "{n}의 지원 수준은 {a}입니다.",
        "지원 내용은 {b}이며, 금액은 {a}입니다.",
        "{b:을} 지원하며 그 규모는 {a}입니다.",
        "받을 수 있는 금액은 {a}입니다.",
        "수급자가 되면 {a:을} 받게 됩니다.",
        "{n}의 급여 수준은 해마다 조정되며, 현재 {a}입니다.",
        "구체적인 지원 규모는 {a}입니다.",
    ]
    opts_p = [
        "지원 금액은 {a:이다}.",
        "{n}의 지원 수준은 {a:이다}.",
        "{b:을} 지원하며 규모는 {a:이다}.",
        "지원액은 {a:으로} 책정되었다.",
        "현재 지원 수준은 {a:이다}.",
        "수급자는 {a:을} 받는다.",
    ]
    return _pick(rng, opts_h if style == "h" else opts_p, n=n, a=p.amount, b=p.benefit)


def benefit(p: Programme, rng: random.Random, style: str = "h") -> str:
    n = p.name if rng.random() < 0.5 else p.short
    opts_h = [
        "{n:은} {b:을} 지원하는 제도입니다.",
        "이 제도를 통해 {b:을} 받을 수 있습니다.",
        "주요 지원 내용은 {b}입니다.",
    ]
    opts_p = [
        "{n:은} {b:을} 지원하는 제도다.",
        "지원 내용은 {b:이다}.",
    ]
    return _pick(rng, opts_h if style == "h" else opts_p, n=n, b=p.benefit)


def payment(p: Programme, rng: random.Random, style: str = "h") -> str:
    opts_h = ["지급 방식은 {x}입니다.", "지급 방법: {x}.", "{n}의 지급 방식은 {x}입니다."]
    opts_p = ["지급 방식은 {x:이다}.", "{n}의 지급 방식은 {x:이다}."]
    return _pick(rng, opts_h if style == "h" else opts_p, x=p.payment, n=p.short)


def apply(p: Programme, rng: random.Random, style: str = "h") -> str:
    pl = places_text(p)
    if style == "h":
        opts = ["신청은 {pl}에서 할 수 있습니다.", "{pl:을} 방문하여 신청하시면 됩니다.", "가까운 {pl}에 방문해 신청할 수 있습니다.", "신청 장소는 {pl}입니다.",
                "본인이나 가족이 {pl}에 직접 방문하여 접수하시면 됩니다.", "신분증을 가지고 {pl}에 오시면 담당자가 신청을 도와드립니다.",
                "거동이 어려운 분은 {pl}에 전화하시면 방문 접수를 안내받을 수 있습니다."]
        if p.online:
            opts += [
                "{pl}에 방문하거나 {o}에서 온라인으로 신청할 수 있습니다.",
                "방문 신청은 {pl}, 온라인 신청은 {o}에서 가능합니다.",
                "{o:을} 이용하면 방문하지 않고도 신청할 수 있으며, {pl}에서도 접수합니다.",
            ]
    else:
        opts = ["신청은 {pl}에서 받는다.", "신청 창구는 {pl:이다}."]
        if p.online:
            opts += ["{pl}에 방문하거나 {o}에서 온라인으로 신청할 수 있다.", "온라인 신청은 {o}에서 가능하다."]
    return _pick(rng, opts, pl=pl, o=p.online or "")


def docs(p: Programme, rng: random.Random, style: str = "h") -> str:
    d = docs_text(p)
    if style == "h":
        opts = ["신청할 때는 {d:을} 준비해 주십시오.", "필요한 서류는 {d}입니다.", "구비서류로 {d:이} 필요합니다.", "{d:을} 지참하시기 바랍니다.",
                "접수 시 {d:을} 제출하셔야 하며, 일부 서류는 담당자가 행정정보로 대신 확인할 수 있습니다.", "제출 서류: {d}", "미리 {d:을} 챙겨 오시면 접수가 빨라집니다."]
    else:
        opts = ["필요 서류는 {d:이다}.", "신청 시 {d:을} 제출해야 한다."]
    return _pick(rng, opts, d=d)


def ministry(p: Programme, rng: random.Random, style: str = "h") -> str:
    n = p.name if rng.random() < 0.6 else p.short
    if style == "h":
        opts = ["{n:은} {m:이} 담당하며, {op:이} 실무를 맡고 있습니다.", "소관 부처는 {m}입니다.", "{n}의 주관 부처는 {m}입니다.", "{m:이} 총괄하는 사업입니다."]
    else:
        opts = ["{n:은} {m} 소관 사업이다.", "주관 부처는 {m}이며, {op:이} 운영을 맡는다.", "{n:은} {m:이} 총괄한다."]
    return _pick(rng, opts, n=n, m=p.ministry, op=p.operator)


def start(p: Programme, rng: random.Random, style: str = "h") -> str:
    n = p.name if rng.random() < 0.6 else p.short
    y = str(p.start) + "년"
    if style == "h":
        opts = ["{n:은} {y}에 처음 시행되었습니다.", "이 제도는 {y}부터 시행되고 있습니다.", "{n:은} {y} 도입된 제도입니다.", "{law}에 근거하여 {y}부터 운영되고 있습니다.",
                "{n:은} {y}에 첫발을 뗀 뒤 여러 차례 개선되어 왔습니다.", "{law:을} 근거로 하는 {n:은} {y}에 시작되었습니다."]
    else:
        opts = ["{n:은} {y}에 도입되었다.", "{y} 시행 이후 꾸준히 확대되어 왔다.", "{law}에 근거해 {y}부터 시행되었다."]
    return _pick(rng, opts, n=n, y=y, law=p.law)


def phone(p: Programme, rng: random.Random, style: str = "h") -> str:
    if style == "h":
        opts = ["자세한 내용은 {ph}에 문의하시기 바랍니다.", "궁금한 점은 {ph:으로} 전화하시면 안내받을 수 있습니다.", "문의: {ph}", "상담이 필요하면 {ph}에 연락하십시오."]
    else:
        opts = ["문의는 {ph}에서 받는다.", "관련 문의는 {ph:으로} 하면 된다."]
    return _pick(rng, opts, ph=p.phone)


def note(p: Programme, rng: random.Random, style: str = "h") -> str:
    s = rng.choice(p.notes)
    if style == "p":
        s = to_plain(s)
    return s


def to_plain(s: str) -> str:
    """Crude 합니다체 -> 한다체 conversion for the endings used in the KB."""
    rules = (
        ("받을 수 있습니다.", "받을 수 있다."), ("수 있습니다.", "수 있다."), ("됩니다.", "된다."), ("합니다.", "한다."),
        ("입니다.", "이다."), ("습니다.", "다."), ("줍니다.", "준다."), ("냅니다.", "낸다."), ("받습니다.", "받는다."),
    )
    for a, b in rules:
        if s.endswith(a):
            return s[: -len(a)] + b
    return s


ASPECTS = ("target", "income", "amount", "benefit", "payment", "apply", "docs", "ministry", "start", "phone", "note")
FUNCS = {
    "target": target, "income": income, "amount": amount, "benefit": benefit, "payment": payment, "apply": apply,
    "docs": docs, "ministry": ministry, "start": start, "phone": phone, "note": note,
}


def sentence(aspect: str, p: Programme, rng: random.Random, style: str = "h") -> str:
    return FUNCS[aspect](p, rng, style)


__all__ = ["sentence", "ASPECTS", "places_text", "docs_text", "to_plain"]
