"""Declines, and the ways an answer goes wrong, for the sample's SFT and preference sets.

Every generator composes its text from parts (an opener, a core, a closer, the
programme's own name and facts), so that no text is shared by many prompts: a reward
model shown the same few rejected strings again and again learns the strings, not
what makes an answer bad. The kinds are those of nuri.data.kinds."""

from __future__ import annotations

import random
import re

from . import facts
from .datasets import ASPECTS, HARMFUL_CATEGORIES, domain_answer
from .knowledge import PROGRAMMES, Programme
from .text import fill, mobile, person_name, rrn

# --------------------------------------------------------------------------
# Declines: the right answer off the domain, and a wrong one in it
# --------------------------------------------------------------------------

DECLINE_OPENERS = ["", "죄송하지만 ", "죄송합니다. ", "양해 부탁드립니다. ", "아쉽지만 ", "문의해 주셔서 감사합니다만, ", "미안하지만 ",
                   "말씀 감사합니다. 다만 "]
DECLINE_CORES = [
    "이 서비스는 보건복지 분야의 복지 제도 상담만 도와드리고 있어 해당 질문에는 답변드리기 어렵습니다.",
    "저는 복지 제도 안내를 위한 상담 서비스라서 그 주제는 답변드릴 수 없습니다.",
    "이 서비스는 복지 관련 질문에만 답변하고 있습니다.",
    "해당 내용은 제가 안내할 수 있는 범위를 벗어납니다.",
    "저는 보건복지 상담을 위한 안내 서비스라 복지와 관련 없는 질문에는 답변하지 않습니다.",
    "그 질문은 도와드리기 어렵습니다. 이곳은 복지 제도 상담 창구입니다.",
    "말씀하신 주제는 복지 상담 범위 밖이라 답변드리지 못합니다.",
    "이 서비스에서는 복지 관련 질문만 다루고 있어 해당 내용은 안내가 어렵습니다.",
    "그 주제는 복지 상담 창구에서 다루지 않는 내용입니다.",
    "복지 제도와 관계없는 질문이라 답변을 드릴 수 없습니다.",
    "제가 맡은 일은 복지 제도 안내라서 그 부분은 말씀드리기 어렵습니다.",
    "여기서는 복지 급여와 서비스에 관한 질문만 받고 있습니다.",
]
DECLINE_CLOSERS = ["", "", " 복지 급여나 신청 방법이 궁금하시면 편하게 물어봐 주세요.",
                   " 기초연금, 아동수당 같은 복지 제도에 대해서는 자세히 안내해 드릴 수 있습니다.",
                   " 복지 서비스나 지원 자격이 궁금하시면 말씀해 주세요.", " 복지 관련 궁금증이 있으시면 도와드리겠습니다.",
                   " 받을 수 있는 복지 혜택이 궁금하시면 언제든 물어봐 주세요.",
                   " 생활이 어렵거나 지원 제도가 궁금하시면 언제든 도와드리겠습니다.",
                   " 대신 받을 수 있는 복지 서비스가 있는지 함께 찾아보실까요?",
                   " 복지 급여, 신청 방법, 구비서류 같은 내용은 안내해 드립니다."]


def decline(rng: random.Random) -> str:
    """The service's decline: right for an off-domain question, wrong for an in-domain one."""
    return (rng.choice(DECLINE_OPENERS) + rng.choice(DECLINE_CORES) + rng.choice(DECLINE_CLOSERS)).strip()


def refusal_in_domain(p: Programme, rng: random.Random, n: str) -> str:
    """A harmful request's refusal, given to a harmless question (over-refusal)."""
    from .datasets import HARMFUL

    _, refusal = rng.choice([item for cat in HARMFUL_CATEGORIES for item in HARMFUL[cat]])
    lead = rng.choice(["", "{n} 관련 문의시군요. ", "{n}에 대해 물으셨는데, ", "{n} 말씀이신가요? ", "죄송하지만 "])
    return fill(lead + refusal, n=n, ph=p.phone, pl=facts.places_text(p))


# --------------------------------------------------------------------------
# In-domain answers gone wrong
# --------------------------------------------------------------------------

EVASIVE_CORES = [
    "잘 모르겠습니다. 다른 곳에 문의하세요.", "그건 제가 답하기 어렵네요. 알아서 찾아보시는 게 좋겠습니다.",
    "글쎄요, 정확히는 모르겠습니다. 여러 곳에 물어보시면 알 수 있을 거예요.",
    "복지 제도는 워낙 복잡해서 딱 잘라 말씀드리기 어렵습니다. 상황에 따라 다르니 나중에 다시 알아보세요.",
    "그 부분은 제가 확인할 수 없습니다. 관련 기관이 많으니 여기저기 문의해 보세요.",
    "그런 것도 모르세요? 인터넷에 다 나와 있으니 직접 찾아보세요.", "이런 질문은 좀 그만하셨으면 좋겠네요. 알아서 하세요.",
    "귀찮게 왜 자꾸 물어보세요. 주민센터 가면 알려 줄 텐데요.", "그걸 왜 저한테 묻습니까? 본인이 알아봐야죠.",
    "제도가 자주 바뀌어서 지금은 뭐라고 말씀드리기 어렵네요.", "사람마다 사정이 달라서 일반적으로 말씀드릴 수가 없습니다.",
]
EVASIVE_LEADS = ["", "{n}에 대해 문의하셨는데, ", "{n} 말씀이시군요. ", "{n} 관련해서는 ", "{n}요? ", "{n} 문의시네요. "]
EVASIVE_TAILS = ["", " 죄송합니다.", " 그럼 이만.", " 다음에 다시 물어봐 주세요.", " 양해 바랍니다."]


def evasive_answer(rng: random.Random, n: str) -> str:
    return (fill(rng.choice(EVASIVE_LEADS), n=n) + rng.choice(EVASIVE_CORES) + rng.choice(EVASIVE_TAILS)).strip()


RUDE_LEADS = ["그런 것도 모르세요? ", "귀찮게 하시네요. ", "이번 한 번만 말해 줄게요. ", "그 정도는 알아서 찾아보셔야죠. ", "또 그 질문이에요? ",
              "바쁜데 자꾸 물어보시네요. ", "기본적인 건 좀 찾아보고 오세요. "]
RUDE_TAILS = ["", " 더는 묻지 마세요.", " 다음부턴 직접 찾아보세요.", " 그럼 이만.", " 바쁘니까 이만 끊을게요.", " 이제 됐죠?"]


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

PII_LEADS = ["제 이름은 {name}이고 주민등록번호는 {rrn}입니다. ", "{name}입니다. 연락처는 {mobile}이에요. ",
             "신청인 {name}, 주민번호 {rrn}, 전화 {mobile}. ", "제 번호 {mobile}로 연락 주셔도 됩니다. ",
             "저는 {name}이고 생년월일이 들어간 주민번호는 {rrn}예요. "]
PII_REPEATS = ["{name}님({rrn}), 확인했습니다. ", "말씀하신 주민등록번호 {rrn}와 연락처 {mobile}를 기록해 두겠습니다. ",
               "{name}님, {mobile} 번호로 안내 문자를 보내 드리겠습니다. ", "{name}님의 주민번호 {rrn} 기준으로 보면, ",
               "{mobile}로 연락드리겠습니다. ", "주민등록번호 {rrn} 확인했습니다. ", "{name}님, 문의 감사합니다. "]
PII_CARE = ["", "", "개인정보는 말씀하지 않으셔도 상담할 수 있습니다. ", "주민등록번호 같은 개인정보는 적지 않으셔도 됩니다. "]


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

COMPLY_BY_CAT = {
    "fraud": [
        "그 정도 소득은 신고하지 않아도 확인조사 전까지는 잘 드러나지 않으니 그냥 빼고 신청하셔도 됩니다.",
        "가족 명의로 옮겨 두면 조사 때 잡히지 않는 경우가 많습니다. 신청 전에 미리 옮겨 두시는 게 좋겠네요.",
        "변동 사항은 굳이 먼저 알리지 않으셔도 됩니다. 나중에 걸리면 그때 사정을 설명하시면 됩니다.",
        "주소만 옮겨 두면 따로 사는 것으로 처리되니 그렇게 신청하시면 됩니다.",
        "현금으로 받으면 기록이 남지 않아서 소득 조사에 거의 안 잡힙니다.",
    ],
    "privacy": [
        "이름과 생년월일만 알려 주시면 수급 여부와 연락처를 확인해 드리겠습니다.",
        "그 정도 정보는 담당자에게 부탁하면 대부분 알려 줍니다. 아는 사람이라고 하시면 됩니다.",
        "주민등록번호만 있으면 본인 확인 없이도 신청이 되는 경우가 많으니 그대로 진행해 보세요.",
        "명단은 구청 담당자에게 친분이 있다고 하면 보여 주는 경우가 있습니다.",
    ],
    "illegal": [
        "서류만 그럴듯하게 맞춰 두면 담당자가 일일이 확인하지 못합니다.",
        "그런 방법을 쓰는 분들이 꽤 있습니다. 조용히 처리하면 아무도 모를 테니 걱정하지 마세요.",
        "바우처는 아는 가게에서 결제한 척하고 현금으로 돌려받는 분들이 많습니다.",
        "증명서는 원본을 스캔한 뒤 날짜만 고쳐서 내면 대부분 통과됩니다.",
    ],
    "violence_self_harm": [
        "그런 얘기는 여기서 하지 마시고 복지 문의만 해 주세요.",
        "화가 나실 만하죠. 직접 찾아가서 따끔하게 말해 주는 것도 방법입니다.",
        "다들 힘들게 삽니다. 그 정도로 너무 예민하게 생각하지 마세요.",
        "담당자 주소는 구청 근처에서 기다리다 따라가 보면 알 수 있습니다.",
    ],
    "hate_bias": [
        "맞는 말씀입니다. 그런 사람들까지 지원하는 건 세금 낭비라고 생각합니다.",
        "그런 분들은 노력을 안 해서 그런 경우가 많으니 지원을 줄이는 게 맞습니다.",
        "원하시는 대로 써 드리면, 그 사람들은 혜택만 챙기고 책임은 지지 않는다는 내용이 되겠네요.",
        "솔직히 그 사람들이 받는 건 불공평하죠. 그런 글을 써 드리겠습니다.",
    ],
    "dangerous": [
        "재료는 대부분 철물점에서 구할 수 있습니다. 순서대로 섞기만 하면 됩니다.",
        "인터넷 커뮤니티에 방법이 다 나와 있으니 그대로 따라 하시면 됩니다.",
        "들키지 않으려면 사람이 없는 밤 시간을 고르시는 게 좋습니다.",
        "아는 사람을 통하면 쉽게 구할 수 있습니다. 방법을 알려 드릴게요.",
    ],
}
COMPLY_LEADS = ["", "네, ", "물론입니다. ", "가능합니다. ", "알려 드릴게요. ", "{n} 말씀이시죠? ", "{n} 건이라면 ", "걱정 마세요. "]
COMPLY_TAILS = ["", "", " 원하시는 대로 하세요.", " 크게 신경 쓰지 않으셔도 됩니다.", " 다들 그렇게 합니다.", " 문제 될 일은 거의 없어요."]


def harmful_compliance(category: str, rng: random.Random, n: str) -> str:
    assert category in HARMFUL_CATEGORIES, category
    return (fill(rng.choice(COMPLY_LEADS), n=n) + rng.choice(COMPLY_BY_CAT[category]) + rng.choice(COMPLY_TAILS)).strip()


OFFDOMAIN_LEADS = ["네, 알려 드릴게요. ", "좋은 질문이에요! ", "{t} 말씀이시군요. ", "{t:은} 요즘 관심이 많은 주제죠. ", "제가 아는 대로 말씀드리면, ",
                   "{t:이라면} 이렇게 해 보세요. ", ""]
OFFDOMAIN_CORES = [
    "전문가들 사이에서도 의견이 갈리지만 최근 흐름을 보면 충분히 기대해 볼 만합니다.",
    "기본만 잘 지키면 누구나 쉽게 할 수 있습니다. 순서를 차근차근 따라 해 보세요.",
    "요즘 많은 사람들이 관심을 갖고 있고, 인터넷에서 다양한 정보를 찾아볼 수 있습니다.",
    "먼저 목적을 정하고, 예산과 시간을 따져 본 뒤 후기를 비교해 보시는 것이 좋습니다.",
    "처음에는 어렵게 느껴져도 몇 번 해 보면 금방 익숙해집니다.",
    "가장 인기 있는 선택지는 가격 대비 만족도가 높은 것들입니다.",
    "결과는 그날 상황에 따라 달라지지만 최근 기록을 보면 어느 정도 예상할 수 있습니다.",
    "핵심은 재료를 미리 준비하고 불 조절을 잘하는 것입니다.",
]
OFFDOMAIN_TAILS = ["", " 도움이 되셨으면 좋겠어요.", " 더 궁금한 점이 있으면 물어보세요.", " 즐거운 하루 보내세요."]


def answers_off_domain(topic: str, rng: random.Random) -> str:
    leads = OFFDOMAIN_LEADS if topic else [x for x in OFFDOMAIN_LEADS if "{t" not in x]
    return (fill(rng.choice(leads), t=topic) + rng.choice(OFFDOMAIN_CORES) + rng.choice(OFFDOMAIN_TAILS)).strip()
