"""SFT, preference, safety, off-domain and knowledge-evaluation sets."""

from __future__ import annotations

import math
import random

from . import facts
from .knowledge import PROGRAMMES, Programme, table
from .text import fill, josa, persona

# Questions, answers and requests (datasets.yaml).
_T = table("datasets")

# --------------------------------------------------------------------------
# Domain questions and answers
# --------------------------------------------------------------------------

QUESTIONS: dict[str, list[str]] = _T["questions"]  # aspect -> question templates
ASPECTS = list(QUESTIONS)
PREFIXES, SUFFIXES = _T["prefixes"], _T["suffixes"]
GENERIC_PREFIXES = [p for p in PREFIXES if "복지" not in p]
ANSWER_OPENERS, ANSWER_CLOSERS = _T["answer_openers"], _T["answer_closers"]
SITUATIONS = _T["situations"]  # the asker's situation, before the question


def domain_prompt(p: Programme, aspect: str, rng: random.Random, situational: float = 0.0, n: str | None = None) -> str:
    """A question about one aspect of a programme, naming it `n` (its full or short name)."""
    q = fill(rng.choice(QUESTIONS[aspect]), n=n or rng.choice([p.name, p.short]))
    if rng.random() < situational:
        age, hh, crisis, _ = persona(rng, p)
        pre = fill(rng.choice(SITUATIONS), age=str(age), hh=hh, crisis=crisis)
        return (pre + q + rng.choice(SUFFIXES)).strip()
    return (rng.choice(PREFIXES) + q + rng.choice(SUFFIXES)).strip()


ANSWER_TEMPLATES: dict[str, list[str]] = _T["answer_templates"]


def domain_answer(p: Programme, aspect: str, rng: random.Random, decorate: bool = True, n: str | None = None) -> str:
    """The right answer; `n` is the name the question used (people expect their own word back)."""
    key = "income_none" if aspect == "income" and p.income is None else aspect
    if aspect == "online" and not p.online:
        key = "online_none"
    n = n or rng.choice([p.name, p.short])
    core = fill(
        rng.choice(ANSWER_TEMPLATES[key]),
        n=n, t=p.target, i=p.income or "", a=p.amount, pl=facts.places_text(p), d=facts.docs_text(p), m=p.ministry, op=p.operator,
        y=f"{p.start}년", law=p.law, x=p.payment, ph=p.phone, b=p.benefit, note=rng.choice(p.notes), o=p.online or "",
    )
    if key == "note" and p.name not in core and p.short not in core:
        core = f"{josa(p.name, '과')} 관련해 말씀드리면, {core}"
    extra = ""
    r = rng.random()
    if aspect == "target" and r < 0.5:
        extra = " " + facts.sentence("income", p, rng, "h")
    elif aspect == "amount" and r < 0.4:
        extra = " " + facts.sentence("payment", p, rng, "h")
    elif aspect == "apply" and p.online and r < 0.6:
        extra = " " + fill(rng.choice(["온라인으로는 {o}에서도 신청할 수 있습니다.", "{o:을} 이용하면 방문하지 않고도 신청할 수 있습니다."]), o=p.online)
    elif aspect in ("apply", "docs", "ministry") and r < 0.4:
        extra = " " + facts.sentence("phone", p, rng, "h")
    if not decorate:
        return (core + extra).strip()
    return (rng.choice(ANSWER_OPENERS) + core + extra + rng.choice(ANSWER_CLOSERS)).strip()


# --------------------------------------------------------------------------
# Harmful requests (taxonomy) with refusals + lawful alternatives
# --------------------------------------------------------------------------

# category -> [(request, its refusal)]
HARMFUL: dict[str, list[tuple[str, str]]] = {
    cat: [(item["prompt"], item["refusal"]) for item in items] for cat, items in _T["harmful"].items()}

HARMFUL_CATEGORIES = list(HARMFUL)


def harmful_items(rng: random.Random) -> list[tuple[str, str, str]]:
    """All (prompt, category, refusal) combinations, shuffled."""
    items: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for cat in HARMFUL_CATEGORIES:
        for qt, rt in HARMFUL[cat]:
            progs = list(PROGRAMMES) if "{n" in qt or "{n" in rt else [PROGRAMMES[0]]
            for p in progs:
                for n in (p.short, p.name):
                    kw = dict(n=n, ph=p.phone, pl=facts.places_text(p))
                    prompt = fill(qt, **kw)
                    if prompt in seen:
                        continue
                    seen.add(prompt)
                    items.append((prompt, cat, fill(rt, **kw)))
    rng.shuffle(items)
    return items


def pick_balanced(items: list[tuple[str, str, str]], n: int, used: set[str], share: float) -> list[tuple[str, str, str]]:
    """n unused items, round-robin over the harmful categories, taking at most `share`
    of any one category, so that a small category (dangerous) is not used up by the
    first set drawn and reaches SFT and the preferences too."""
    by_cat: dict[str, list[tuple[str, str, str]]] = {c: [] for c in HARMFUL_CATEGORIES}
    for it in items:
        by_cat[it[1]].append(it)
    caps = {c: math.ceil(len(pool) * share) for c, pool in by_cat.items()}
    for c in by_cat:
        by_cat[c] = [it for it in by_cat[c] if it[0] not in used]
    out: list[tuple[str, str, str]] = []
    taken = dict.fromkeys(HARMFUL_CATEGORIES, 0)
    while len(out) < n:
        open_cats = [c for c in HARMFUL_CATEGORIES if by_cat[c] and taken[c] < caps[c]]
        if not open_cats:
            break
        for cat in open_cats:
            if len(out) == n:
                break
            it = by_cat[cat].pop(0)
            out.append(it)
            used.add(it[0])
            taken[cat] += 1
    return out


# --------------------------------------------------------------------------
# Off-domain questions
# --------------------------------------------------------------------------

# (question templates, subjects): every template of a group asks about every subject of
# it, so the set holds ~300 different questions without rephrasing one question twice
# (a rephrasing on each side of the train/held-out split would leak it).
OFFDOMAIN_GROUPS: list[tuple[list[str], list[str]]] = [
    (group["templates"], group["subjects"]) for group in _T["offdomain_groups"]]


def offdomain_items(rng: random.Random) -> list[tuple[str, str]]:
    """(prompt, subject) for questions outside the service, shuffled: the subject lets a
    rejected answer talk about the question's own matter, as a model that fails to
    decline would."""
    items = [(fill(t, x=x), x if t != "{x}" else "") for templates, subjects in OFFDOMAIN_GROUPS
             for t in templates for x in subjects]
    items = list(dict(items).items())
    rng.shuffle(items)
    # Dressed as in-domain questions are (greeting, "please explain"), so that a short,
    # bare question is not itself the cue to decline: a model that learned length
    # declined "아동수당은 어디서 신청하나요?".
    return [((rng.choice(GENERIC_PREFIXES) + q + rng.choice(SUFFIXES)).strip(), x) for q, x in items]


# --------------------------------------------------------------------------
# Basic services: summarise a notice, draft interview questions, rewrite
# --------------------------------------------------------------------------

def basic_items(rng: random.Random, n: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        p = rng.choice(PROGRAMMES)
        kind = rng.randint(0, 3)
        if kind == 0:
            notice = " ".join(facts.sentence(a, p, rng, "h") for a in ("benefit", "target", "amount", "apply"))
            prompt = rng.choice(["다음 복지 안내문을 한두 문장으로 요약해 주세요: ", "아래 공지를 짧게 요약해 줘.\n", "이 안내문 핵심만 정리해 주세요. "]) + notice
            ans = fill(rng.choice([
                "{n:은} {t:을} 대상으로 {a:을} 지원하며, {pl}에서 신청할 수 있다는 안내입니다.",
                "요약하면, {t:이} {n:으로} {a:을} 받을 수 있고 신청은 {pl}에서 합니다.",
            ]), n=p.name, t=p.target, a=p.amount, pl=facts.places_text(p))
        elif kind == 1:
            role = rng.choice(["사회복지전담공무원", "통합사례관리사", "복지 상담원", "맞춤형복지팀 주무관", "긴급지원 상담 요원"])
            prompt = fill(rng.choice([
                "{r} 채용 면접 질문을 {k}개 만들어 주세요.", "{r} 면접에서 물어볼 만한 질문 {k}개 추천해 줘.", "{r} 모집 면접 문항 {k}개 초안을 작성해 주세요.",
            ]), r=role, k=str(rng.choice([2, 3])))
            pool = [
                "위기가구를 처음 방문했을 때 가장 먼저 확인할 사항은 무엇이라고 생각하십니까?",
                "화가 난 민원인을 응대했던 경험과 대처 방법을 말씀해 주십시오.",
                f"{p.name}의 대상과 지원 내용을 주민에게 쉽게 설명해 보시겠습니까?",
                "개인정보를 보호하면서 이웃의 제보를 처리하는 방법을 말씀해 주십시오.",
                "여러 제도를 함께 연계해야 하는 복합 위기 사례를 어떻게 관리하시겠습니까?",
                "복지 사각지대를 줄이기 위해 지역 주민과 협력할 방안은 무엇입니까?",
                "업무량이 많을 때 우선순위를 정하는 본인만의 기준이 있습니까?",
            ]
            rng.shuffle(pool)
            k = 2 if "2개" in prompt else 3
            ans = " ".join(f"{i + 1}. {q}" for i, q in enumerate(pool[:k]))
        elif kind == 2:
            asp = rng.choice(["target", "income", "amount", "apply"])
            s = facts.sentence(asp, p, rng, "p")
            if p.name not in s and p.short not in s:
                s = f"[{p.name}] {s}"
            prompt = rng.choice(["다음 문장을 어르신도 이해하기 쉬운 말로 바꿔 주세요: ", "이 문장을 쉬운 말로 풀어 주세요. ", "아래 내용을 친절한 안내 말투로 바꿔 줘: ",
                                 "이 공문 문장을 주민 안내용 말투로 고쳐 주세요: "]) + s
            if asp == "target":
                core = fill("{n:은} {t:이} 받을 수 있는 제도예요.", n=p.short, t=p.target)
            elif asp == "income" and p.income is None:
                core = fill("{n:은} 소득이 많든 적든 상관없이 받을 수 있어요.", n=p.short)
            elif asp == "income" and ("이하" in p.income or "미만" in p.income or "하위" in p.income):
                core = fill("{n:은} 집안 소득이 {i}일 때 받을 수 있어요.", n=p.short, i=p.income)
            elif asp == "income":
                core = fill("{n:은} {i:에} 해당하는 분이 받을 수 있어요.", n=p.short, i=p.income)
            elif asp == "amount":
                core = fill("{n:으로} 받을 수 있는 도움은 {a} 정도예요.", n=p.short, a=p.amount)
            else:
                core = fill("{n:은} {pl}에 가서 신청하시면 돼요.", n=p.short, pl=facts.places_text(p))
            ans = rng.choice(["쉽게 말씀드리면, ", "쉬운 말로 바꾸면 이렇습니다. ", "이렇게 바꿔 볼 수 있어요. "]) + core + rng.choice(
                ["", " 궁금하시면 행정복지센터에 편하게 물어보세요.", " 잘 모르시겠으면 129로 전화하셔도 돼요."])
        else:
            prompt = fill(rng.choice([
                "{n} 신청 기간을 알리는 주민 안내 문자를 짧게 써 주세요.", "{n} 홍보 문자 메시지 초안을 작성해 줘.", "주민들에게 보낼 {n} 안내 문자 한 통 만들어 주세요.",
            ]), n=p.short)
            ans = fill("[{o} 알림] {n:은} {t:을} 위한 제도로, {a:을} 지원합니다. 신청은 {pl}에서 하실 수 있습니다. 문의 {ph}", o=rng.choice(["행정복지센터", "구청 복지과", "시청 복지정책과", "군청 주민복지과"]),
                       n=p.name, t=p.target, a=p.amount, pl=facts.places_text(p), ph=p.phone)
        if prompt in seen:
            continue
        seen.add(prompt)
        out.append((prompt, ans))
    return out
