"""Richer prose pools and extra document types (glossary, community news,
seasonal notices, interviews, life stories) that widen the corpus vocabulary."""

from __future__ import annotations

import random

from . import datasets, facts
from .knowledge import PROGRAMMES, Programme, table
from .text import (date_str, dong, email, fill, generic_persona, josa, masked_name, mobile, office_phone, persona,
                   person_name, region, rrn)

# Phrase pools (prose.yaml).
_T = table("prose")
GLOSSARY: tuple[tuple[str, str], ...] = tuple(_T["glossary"].items())  # (term, definition)
EVENTS, ORGS, ITEMS, PLACES = _T["events"], _T["orgs"], _T["items"], _T["places"]
BENEFICIARIES, EVENT_SENTENCES = _T["beneficiaries"], _T["event_sentences"]
SEASON: dict[str, dict] = _T["season"]  # season -> {lead, shelter, tips}
INTERVIEW: tuple[tuple[str, list[str]], ...] = tuple(_T["interview"].items())  # (question, answers)
LIFE, OUTCOME = _T["life"], _T["outcome"]
BOARD_GREETINGS, BOARD_SELF, BOARD_CLOSE = _T["board_greetings"], _T["board_self"], _T["board_close"]
BOARD_ASK: dict[str, list[str]] = _T["board_ask"]  # aspect -> questions
SCAM_PATTERNS, SCAM_TIPS = _T["scam_patterns"], _T["scam_tips"]
AGENDA, DECISIONS, REMARKS = _T["agenda"], _T["decisions"], _T["remarks"]


def doc_glossary(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    terms = list(GLOSSARY)
    rng.shuffle(terms)
    k = rng.randint(4, 7)
    title = rng.choice(["알기 쉬운 복지 용어 풀이", "복지 용어 사전", "헷갈리는 복지 용어 정리", "복지 상담에서 자주 쓰는 말", "초보 상담원을 위한 용어집"])
    style = rng.randint(0, 2)
    rows = []
    for term, definition in terms[:k]:
        if style == 0:
            rows.append(f"■ {term}\n{definition}")
        elif style == 1:
            rows.append(f"{term}: {definition}")
        else:
            rows.append(f"· {josa(term, '이란')} {definition}")
    intro = rng.choice([
        "복지 제도를 안내받다 보면 낯선 용어를 자주 만나게 됩니다. 자주 쓰이는 말을 쉽게 풀어 보았습니다.",
        "상담 과정에서 자주 나오는 용어를 정리했습니다.",
        "신청서와 안내문에 나오는 어려운 용어를 모았습니다.",
    ])
    outro = f"예를 들어 {p.name}에서는 " + facts.sentence("income", p, rng, "h")
    return title, "\n\n".join([intro] + rows + [outro])


def doc_community(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    dn = dong(rng)
    ev = rng.choice(EVENTS)
    org = rng.choice(ORGS)
    title = rng.choice(["{sgg} {dn}, {ev} 열려", "{org}, {ev:으로} 이웃 사랑 실천", "[동네 소식] {dn} {ev}", "{ev}… {ben}에게 온기 전해"])
    ben = rng.choice(BENEFICIARIES)
    title = fill(title, sgg=sgg, dn=dn, ev=ev, org=org, ben=ben)
    items = rng.sample(ITEMS, 2)
    lead = fill(rng.choice([
        "{sido} {sgg} {dn:은} {date} {place}에서 {ev:을} 열었다고 밝혔다.",
        "{date} {sgg} {dn} {place}에서 {org:이} 주관한 {ev:이} 열렸다.",
        "{sgg} {dn} 주민들이 {ben:을} 위해 팔을 걷어붙였다. {org:은} {date} {place}에서 {ev:을} 진행했다.",
    ]), sido=sido, sgg=sgg, dn=dn, date=date_str(rng, 0), place=rng.choice(PLACES), ev=ev, org=org, ben=ben)
    pool = list(EVENT_SENTENCES)
    rng.shuffle(pool)
    body = [fill(s, org=org, k=str(rng.randint(8, 60)), item=items[0], item2=items[1], ben=ben, k2=str(rng.randint(20, 300)), dn=dn, k3=str(rng.randint(2, 15)))
            for s in pool[: rng.randint(3, 5)]]
    tail = fill(rng.choice([
        "한편 {dn} 행정복지센터는 행사장에서 {n} 등 복지 제도 신청 상담도 함께 진행했다. ",
        "행정복지센터는 이번 행사를 계기로 {n} 대상자 발굴에도 힘쓸 계획이다. ",
    ]), dn=dn, n=p.name) + facts.sentence("target", p, rng, "p")
    return title, "\n\n".join([lead, " ".join(body), tail, f"문의: {sgg} {dn} 행정복지센터 ({office_phone(rng, sido)})"])


def doc_season(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    season = rng.choice(list(SEASON))
    notice = SEASON[season]
    sido, sgg = region(rng)
    title = fill(rng.choice(["{sgg}, {s} 대비 취약계층 보호 대책 추진", "[{s} 대비] 취약계층 건강·안전 수칙 안내", "{s}철 복지 안전망 가동"]), sgg=sgg, s=season)
    tips = list(notice["tips"])
    rng.shuffle(tips)
    k = rng.randint(3, 5)
    mark = rng.choice(["- ", "○ ", "· ", "1) "])
    lead = notice["lead"]
    lines = [josa(sgg, "은") + " " + lead if rng.random() < 0.5 else lead]
    for i, t in enumerate(tips[:k]):
        lines.append((f"{i + 1}) " if mark == "1) " else mark) + t)
    lines.append(fill("가까운 {sh} 위치는 {sgg} 누리집이나 행정복지센터에서 확인할 수 있습니다.", sh=notice["shelter"], sgg=sgg))
    q = p if p.key in ("energy_voucher", "emergency", "elderly_care", "housing") else rng.choice(
        [x for x in PROGRAMMES if x.key in ("energy_voucher", "emergency", "elderly_care", "housing")])
    lines.append(fill(rng.choice(["어려운 가구는 {n:을} 활용할 수 있습니다.", "{n:도} 함께 확인해 보십시오.", "도움이 필요하면 {n:을} 신청해 보십시오."]), n=q.name)
                 + " " + facts.sentence("benefit", q, rng, "h") + " " + facts.sentence("apply", q, rng, "h"))
    lines.append(f"문의: {sgg}청 복지정책과 ({office_phone(rng, sido)}), 보건복지상담센터 129")
    return title, "\n".join(lines)


def doc_interview(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    dn = dong(rng)
    name = person_name(rng)
    years = rng.randint(2, 27)
    title = fill(rng.choice(["[인터뷰] {dn} 행정복지센터 {name} 주무관", "현장의 사람들: {years}년 차 복지 공무원 {name} 씨", "\"사람을 먼저 봅니다\" {sgg} 복지 현장 이야기"]),
                 dn=dn, name=name, years=str(years), sgg=sgg)
    qs = list(INTERVIEW)
    rng.shuffle(qs)
    k = rng.randint(3, 5)
    intro = fill("{sgg} {dn} 행정복지센터에서 {years}년째 일하고 있는 {name} 주무관을 만나 복지 현장의 이야기를 들었다.", sgg=sgg, dn=dn, years=str(years), name=name)
    qa = [f"— {q}\n{rng.choice(answers)}" for q, answers in qs[:k]]
    qa.append(f"— 주민들에게 꼭 알리고 싶은 제도가 있다면요?\n{p.name}입니다. " + facts.sentence("target", p, rng, "h") + " " + facts.sentence("apply", p, rng, "h"))
    return title, "\n\n".join([intro] + qa)


def doc_story(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    name = masked_name(rng)
    age, hh, crisis, occ = persona(rng, p)
    generic = generic_persona(p)
    title = fill(rng.choice(["다시 봄을 기다리며: {sgg} {name} 씨 이야기", "복지 사각지대에서 찾은 희망", "이웃의 관심이 살린 한 가정", "{age}세 {name} 씨의 겨울"]),
                 sgg=sgg, name=name, age=str(age))
    life = list(LIFE)
    rng.shuffle(life)
    outcome = list(OUTCOME)
    rng.shuffle(outcome)
    first = fill(rng.choice([
        "{sgg}에 사는 {name} 씨({age}세)의 하루는 늘 고단했다.", "{name} 씨({age}세)가 {sgg:으로} 이사 온 것은 몇 해 전이었다.",
        "{sido} {sgg}의 좁은 골목 끝 집에는 {age}세 {name} 씨가 산다.",
    ]), sgg=sgg, name=name, age=str(age), sido=sido)
    first += " " + fill(rng.choice(["그의 집은 {hh:이다}.", "{hh}인 이 집은 {crisis} 형편이 급격히 나빠졌다.", "{crisis} 삶이 송두리째 흔들렸다."]),
                        hh=hh, crisis=crisis)
    turn = fill(rng.choice([
        "그러던 중 동네 통장의 제보로 행정복지센터 담당자가 집을 찾아왔고, {n:을} 알게 되었다.",
        "우연히 복지관 게시판에서 {n} 안내문을 본 것이 변화의 시작이었다.",
        "검침원이 밀린 고지서를 보고 걱정하는 마음에 행정복지센터에 연락하면서 상황이 달라졌다.",
    ]), n=p.name)
    return title, "\n\n".join([
        first + (" " + " ".join(life[:3]) if generic else ""),
        turn + " " + facts.sentence("target", p, rng, "p") + " " + facts.sentence("amount", p, rng, "p"),
        " ".join(outcome[:2]),
    ])


# --------------------------------------------------------------------------
# Citizen Q&A board, scam warnings, committee minutes
# --------------------------------------------------------------------------

def doc_board(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    age, hh, crisis, occ = persona(rng, p)
    generic = generic_persona(p)
    selfs = list(BOARD_SELF) if generic else ["저는 {age}살이고 {hh:입니다}.", "{sgg}에 사는 {age}세 주민입니다. 집은 {hh:입니다}.", "얼마 전 {crisis} 앞이 캄캄합니다."]
    aspect = rng.choice(list(BOARD_ASK))
    n = rng.choice([p.name, p.short])
    title = fill(rng.choice(["[질문] {n} 문의드립니다", "{n} 관련 질문이요", "{n} 받을 수 있을까요?", "[묻고 답하기] {n}"]), n=p.short)
    q = " ".join([
        rng.choice(BOARD_GREETINGS),
        fill(rng.choice(selfs), age=str(age), hh=hh, occ=occ, sgg=sgg, crisis=crisis),
        fill(rng.choice(BOARD_ASK[aspect]), n=n),
        rng.choice(BOARD_CLOSE),
    ])
    ans = datasets.domain_answer(p, aspect, rng, decorate=False)
    a = " ".join([
        rng.choice(["안녕하세요. 문의하신 내용에 답변드립니다.", "먼저 어려운 상황에 위로의 말씀을 드립니다.", "질문해 주셔서 감사합니다.", "답변드립니다."]),
        ans,
        facts.sentence(rng.choice(["apply", "phone", "note"]), p, rng, "h"),
        rng.choice(["자세한 사항은 가까운 행정복지센터에서 상담받으시길 바랍니다.", "힘내시길 바랍니다.", "추가로 궁금하신 점은 언제든 글을 남겨 주세요."]),
    ])
    writer = masked_name(rng)
    if pii:
        q += " " + rng.choice(["연락 주실 분은 ", "답변은 문자로 주세요. ", "제 번호는 ", "메일로도 받고 싶어요: "]) + \
            (pii_contact(rng))
    return title, f"작성자: {writer} | 작성일: {date_str(rng, 1)}\n\n{q}\n\n[답변] {sgg} 복지정책과\n{a}"


def pii_contact(rng: random.Random) -> str:
    k = rng.randint(0, 2)
    if k == 0:
        return mobile(rng)
    if k == 1:
        return f"{mobile(rng)}, {email(rng)}"
    return f"{email(rng)} (주민번호 {rrn(rng)})"


def doc_scam(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    title = fill(rng.choice(["복지 지원금 사칭 스미싱 주의 안내", "{n} 사칭 문자에 속지 마세요", "[주의] 정부 기관 사칭 전화·문자 급증", "{sgg}, 복지급여 사칭 사기 예방 당부"]),
                 n=p.short, sgg=sgg)
    pats = list(SCAM_PATTERNS)
    rng.shuffle(pats)
    tips = list(SCAM_TIPS)
    rng.shuffle(tips)
    body = [
        fill(rng.choice([
            "최근 {n:을} 사칭하여 개인정보와 금융정보를 빼내려는 사기 시도가 잇따르고 있습니다.",
            "{sgg:은} 복지급여 지급 시기를 노린 사칭 사기가 늘고 있다며 주민들의 각별한 주의를 당부했습니다.",
            "정부 지원금 신청 기간을 틈타 공공기관을 사칭한 문자와 전화가 기승을 부리고 있습니다.",
        ]), n=p.name, sgg=sgg),
        "[주요 수법]\n" + "\n".join("- " + x for x in pats[: rng.randint(2, 4)]),
        "[예방 수칙]\n" + "\n".join("- " + x for x in tips[: rng.randint(3, 5)]),
        "참고로 " + facts.sentence("apply", p, rng, "h") + " " + facts.sentence("phone", p, rng, "h"),
    ]
    return title, "\n\n".join(body)


def doc_minutes(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    dn = dong(rng)
    d = date_str(rng, 0)
    title = f"{dn} 지역사회보장협의체 {rng.choice(['정기회의', '임시회의', '분기 회의', '운영위원회'])} 회의록"
    ag = list(AGENDA)
    rng.shuffle(ag)
    k = rng.randint(2, 4)
    lines = [f"일시: {d} {rng.randint(10, 17)}:00", f"장소: {sgg} {dn} 행정복지센터 {rng.choice(['회의실', '2층 대회의실', '주민자치실'])}",
             f"참석: 위원 {rng.randint(8, 20)}명, 담당 공무원 {rng.randint(1, 4)}명", ""]
    rem = list(REMARKS)
    rng.shuffle(rem)
    for i, a in enumerate(ag[:k], 1):
        lines.append(f"안건 {i}. {a}")
        for _ in range(rng.randint(1, 2)):
            if rem:
                lines.append("  " + fill(rem.pop(), name=person_name(rng)))
        lines.append("  결정: " + rng.choice(DECISIONS))
    lines.append("")
    lines.append("기타: " + fill(rng.choice([
        "담당 공무원이 {n} 신청 기간을 안내하고 위원들에게 대상 가구 발굴 협조를 요청함.",
        "{n}의 올해 변경 사항을 공유함. ",
    ]), n=p.name) + " " + facts.sentence("target", p, rng, "h"))
    return title, "\n".join(lines)
