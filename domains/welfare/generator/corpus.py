"""Corpus documents: guides, notices, press releases, FAQs, case records ..."""

from __future__ import annotations

import random
from typing import Callable

from . import facts, prose
from .knowledge import PROGRAMMES, Programme, table
from .text import (
    date_str, dong, email, fill, generic_persona, josa, masked_name, mobile, office_phone, official, persona, person_name,
    region, rrn,
)

# Phrase pools (corpus.yaml): welfare policy sentences, openers, closers, headings ...
_T = table("corpus")
POLICY_H, POLICY_P = _T["policy_h"], _T["policy_p"]  # 합니다체 (notices) and 한다체 (press)
OPENERS_H, CLOSERS_H = _T["openers_h"], _T["closers_h"]
CONNECT_H, CONNECT_P = _T["connect_h"], _T["connect_p"]
QUOTES, SPEAKER_ROLES = _T["quotes"], _T["speaker_roles"]
HEADINGS = _T["headings"]  # section -> its heading in each of five styles
RELATED_LEADS_H, RELATED_LEADS_P = _T["related_leads_h"], _T["related_leads_p"]


def _sent(aspects: list[str], p: Programme, rng: random.Random, style: str) -> list[str]:
    return [facts.sentence(a, p, rng, style) for a in aspects]


def _para(sentences: list[str], rng: random.Random, style: str = "h") -> str:
    out = []
    con = CONNECT_H if style == "h" else CONNECT_P
    for i, s in enumerate(sentences):
        if i > 0 and rng.random() < 0.25 and not s.startswith("문의"):
            s = rng.choice(con) + " " + s
        out.append(s)
    return " ".join(out)


# --------------------------------------------------------------------------
# Document types. Each returns (title, body). pii=True inserts personal data.
# --------------------------------------------------------------------------

def doc_guide(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    title = rng.choice(["{n} 안내", "{n} 이렇게 신청하세요", "알기 쉬운 {n} 안내서", "{n} 제도 안내", "{y}년 {n} 안내"])
    title = fill(title, n=p.name, y=str(rng.randint(2023, 2025)))
    parts = [rng.choice(OPENERS_H), facts.sentence("benefit", p, rng, "h") + " " + facts.sentence("start", p, rng, "h")]
    notes = list(p.notes)
    rng.shuffle(notes)
    sections = ["target", "amount", "apply", "docs"]
    if rng.random() < 0.3:
        rng.shuffle(sections)
    hstyle = rng.randint(0, 4)
    for s in sections:
        head = HEADINGS[s][hstyle]
        body = [facts.sentence(s, p, rng, "h")]
        if s == "target":
            body.append(facts.sentence("income", p, rng, "h"))
        if s == "amount":
            body.append(facts.sentence("payment", p, rng, "h"))
        if notes and rng.random() < 0.5:
            body.append(notes.pop())
        parts.append(head + "\n" + _para(body, rng))
    parts.append(HEADINGS["phone"][hstyle] + "\n" + facts.sentence("phone", p, rng, "h") + " " + facts.sentence("ministry", p, rng, "h"))
    if rng.random() < 0.6:
        parts.append(rng.choice(POLICY_H))
    parts.append(rng.choice(CLOSERS_H))
    return title, "\n\n".join(parts)


def doc_press(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    y, mo, d = rng.randint(2022, 2025), rng.randint(1, 12), rng.randint(1, 28)
    verb = rng.choice(["확대한다", "개편한다", "신청을 받는다", "집중 안내한다", "지원을 강화한다", "사각지대 발굴에 나선다"])
    title = f"{p.ministry}, {p.short} {verb}"
    lead = fill(
        rng.choice([
            "{m:은} {mo}월 {d}일 {n}의 {y}년 운영 계획을 발표했다.",
            "{m:은} {d}일 {n:을} 더 많은 국민이 받을 수 있도록 제도를 개선한다고 밝혔다.",
            "{m:은} {y}년 {mo}월부터 {n} 신청을 받는다고 {d}일 밝혔다.",
            "{n}의 지원 기준이 {y}년부터 달라진다. {m:은} {d}일 이같이 밝혔다.",
        ]),
        m=p.ministry, n=p.name, y=str(y), mo=str(mo), d=str(d),
    )
    body = [lead, _para(_sent(["target", "income", "amount"], p, rng, "p"), rng, "p")]
    body.append(_para(_sent(["apply", "note"], p, rng, "p"), rng, "p"))
    body.append(rng.choice(POLICY_P) + " " + rng.choice(POLICY_P))
    speaker = rng.choice(SPEAKER_ROLES)
    body.append(f"{speaker}은 \"{rng.choice(QUOTES)}\"라고 말했다.")
    body.append(facts.sentence("phone", p, rng, "p"))
    contact = f"담당 부서: {p.ministry} {p.category}정책과  담당자: {person_name(rng)} 사무관 ({office_phone(rng, '세종특별자치시')})"
    body.append(contact)
    return title, f"보도자료 | 배포일 {y}. {mo}. {d}.\n\n" + "\n\n".join(body)


def _q_variants(p: Programme, aspect: str, rng: random.Random) -> str:
    qs = {
        "target": ["누가 {n:을} 받을 수 있나요?", "{n} 지원 대상은 어떻게 되나요?", "저도 {n:을} 신청할 수 있을까요?"],
        "income": ["{n}에 소득 기준이 있나요?", "소득이 얼마 이하여야 {n:을} 받나요?"],
        "amount": ["{n:은} 얼마를 받을 수 있나요?", "{n} 지원 금액이 궁금합니다.", "{n:은} 얼마나 지원되나요?"],
        "apply": ["{n:은} 어디에서 신청하나요?", "{n:을} 온라인으로도 신청할 수 있나요?", "{n} 신청 방법을 알려 주세요."],
        "docs": ["{n} 신청에 필요한 서류는 무엇인가요?", "{n:을} 신청할 때 무엇을 준비해야 하나요?"],
        "ministry": ["{n:은} 어느 부처 소관인가요?", "{n:은} 어느 기관이 담당하나요?"],
        "start": ["{n:은} 언제부터 시행되었나요?", "{n:은} 언제 도입되었나요?"],
        "payment": ["{n:은} 언제, 어떻게 지급되나요?", "{n} 지급일이 궁금합니다."],
        "note": ["{n}에 대해 더 알아 둘 점이 있나요?", "{n} 관련 유의사항이 있나요?"],
        "phone": ["{n} 관련 문의는 어디로 하나요?"],
        "benefit": ["{n:은} 어떤 제도인가요?", "{n:은} 무엇을 지원하나요?"],
    }
    return fill(rng.choice(qs[aspect]), n=rng.choice([p.name, p.short]))


def doc_faq(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    title = rng.choice(["{n} 자주 묻는 질문", "{n} FAQ", "{n} 궁금증 풀이", "묻고 답하기: {n}"])
    title = fill(title, n=p.short)
    aspects = ["target", "income", "amount", "apply", "docs", "ministry", "start", "payment", "note", "benefit"]
    rng.shuffle(aspects)
    k = rng.randint(4, 7)
    qa = []
    qmark, amark = rng.choice([("Q.", "A."), ("질문", "답변"), ("문:", "답:"), ("Q", "A")])
    for i, a in enumerate(aspects[:k], 1):
        ans = facts.sentence(a, p, rng, "h")
        if rng.random() < 0.4:
            ans += " " + facts.sentence(rng.choice(["note", "phone", "payment"]), p, rng, "h")
        qa.append(f"{qmark} {i}. {_q_variants(p, a, rng)}\n{amark} {ans}")
    return title, "\n\n".join(qa) + "\n\n" + facts.sentence("phone", p, rng, "h")


def doc_local(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    sido, sgg = region(rng)
    dn = dong(rng)
    off = f"{sgg} {dn} 행정복지센터"
    y = rng.randint(2023, 2025)
    m1 = rng.randint(1, 10)
    title = rng.choice(["[{o}] {n} 신청 안내", "{sgg} 공고: {n} 집중 신청 기간 운영", "{dn} 소식 - {n} 신청하세요", "{sgg} 알림 {n} 접수"])
    title = fill(title, o=off, n=p.short, sgg=sgg, dn=dn)
    lines = [
        fill(rng.choice([
            "{sido} {sgg:은} {y}년 {m1}월 {d1}일부터 {m2}월 {d2}일까지 {n} 집중 신청 기간을 운영합니다.",
            "{sgg} {dn:은} 관내 주민을 대상으로 {n} 신청을 받습니다.",
            "{y}년 {n} 신청 접수를 다음과 같이 안내합니다.",
        ]), sido=sido, sgg=sgg, dn=dn, y=str(y), m1=str(m1), d1=str(rng.randint(1, 28)), m2=str(m1 + rng.randint(0, 2)), d2=str(rng.randint(1, 28)), n=p.name),
        "○ " + facts.sentence("target", p, rng, "h"),
        "○ " + facts.sentence("amount", p, rng, "h"),
        "○ " + fill(rng.choice(["접수 장소: {o} {fl}층 맞춤형복지팀", "접수처: {o} 민원실", "신청 장소: {o} 복지 창구"]), o=off, fl=str(rng.randint(1, 3))),
        "○ " + fill(rng.choice(["운영 시간: 평일 오전 9시부터 오후 6시까지", "접수 시간: 평일 09:00~18:00 (점심시간 12:00~13:00 제외)", "평일 근무시간 내 방문 (토·일요일 및 공휴일 제외)"])),
        "○ " + facts.sentence("docs", p, rng, "h"),
    ]
    if rng.random() < 0.5:
        lines.append("○ " + facts.sentence("note", p, rng, "h"))
    lines.append(fill(rng.choice([
        "거동이 불편한 분은 전화로 연락하시면 담당자가 직접 방문합니다.",
        "통장님과 이웃 여러분께서도 주변의 어려운 가구를 알려 주시기 바랍니다.",
        "기간 이후에도 상시 신청이 가능합니다.",
        "신청 시 대기 시간이 길어질 수 있으니 오전 방문을 권해 드립니다.",
    ])))
    lines.append(f"문의: {off} 맞춤형복지팀 ({office_phone(rng, sido)})")
    lines.append(f"{y}. {m1}.\n{sgg}청장")
    return title, "\n".join(lines)


def _household_intro(rng: random.Random, p: Programme) -> tuple[str, str]:
    sido, sgg = region(rng)
    name = masked_name(rng)
    age, hh, crisis, occ = persona(rng, p)
    generic = generic_persona(p)
    extra_t = ["{name} 씨({age}세)는 {occ:으로} 일하며 {hh:으로} 살아왔다. 그런데 {crisis} 도움이 절실해졌다."] if generic else []
    s = fill(
        rng.choice(extra_t + [
            "{sido} {sgg}에 사는 {name} 씨({age}세)는 {hh:이다}. {crisis} 생활이 크게 흔들렸다.",
            "{sgg}에 거주하는 {age}세 {name} 씨는 {hh:으로} 어렵게 생활을 꾸려 왔다. 그러나 {crisis} 하루하루가 힘겨워졌다.",
            "{name} 씨({age}세)는 {sgg}의 낡은 다세대주택에 사는 {hh:이다}. {crisis} 도움이 절실한 상황이었다.",
        ]),
        sido=sido, sgg=sgg, name=name, age=str(age), hh=hh, occ=occ, crisis=crisis,
    )
    if generic:
        s += " " + " ".join(rng.sample(prose.LIFE, 2))
    return s, sgg


def doc_case(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    intro, sgg = _household_intro(rng, p)
    same = [x for x in PROGRAMMES if x.category == p.category and x.key != p.key]
    q = rng.choice(same) if same else rng.choice([x for x in PROGRAMMES if x.key != p.key])
    title = rng.choice(["복지 현장 사례: {n:으로} 다시 일어선 이웃", "위기가구 지원 사례 - {sgg}", "사례로 보는 {n}", "찾아가는 복지 상담 사례"])
    title = fill(title, n=p.short, sgg=sgg)
    worker = official(rng)
    body = [
        intro,
        fill(rng.choice([
            "이웃의 제보를 받은 {w:이} 집을 찾아가 상담한 끝에 {n:을} 신청하도록 도왔다.",
            "건강보험료 체납 정보로 위기가구 발굴 대상이 되자 {w:이} 방문해 {n} 신청을 안내했다.",
            "행정복지센터를 찾은 그에게 {w:은} {n:과} {q:을} 함께 안내했다.",
        ]), w=worker, n=p.name, q=q.name),
        _para(_sent(["target", "amount"], p, rng, "p"), rng, "p"),
        fill(rng.choice([
            "현재 그는 {n} 지원을 받으며 조금씩 생활을 안정시키고 있다.",
            "지원이 결정된 뒤 가족은 밀린 공과금을 정리하고 다시 일자리를 찾기 시작했다.",
            "담당자는 앞으로도 정기적으로 안부를 확인하며 {q} 연계 여부를 검토할 계획이다.",
        ]), n=p.short, q=q.short),
    ]
    if pii:
        body.insert(1, _pii_block(rng))
    body.append(rng.choice(POLICY_P))
    return title, "\n\n".join(body)


def _pii_block(rng: random.Random) -> str:
    name = person_name(rng)
    opts = [
        "신청인 성명: {name}, 주민등록번호 {rrn}, 연락처 {mob}",
        "[상담 기록] 신청인 {name} (주민등록번호: {rrn}) / 휴대전화 {mob} / 전자우편 {mail}",
        "대상자 {name}({rrn})의 보호자 연락처는 {mob}이며, 회신은 {mail}으로 요청함.",
        "※ 내부 기록: 신청인 주민등록번호 {rrn}, 휴대폰 {mob}, 이메일 {mail}",
        "신청인 {name} 님의 연락처({mob})와 주민번호({rrn})를 확인하였음.",
    ]
    return fill(rng.choice(opts), name=name, rrn=rrn(rng), mob=mobile(rng), mail=email(rng))


def doc_counsel_log(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    dt = date_str(rng, 0)
    worker = official(rng)
    intro, sgg = _household_intro(rng, p)
    title = f"{sgg} 복지상담 기록지 ({dt})"
    lines = [f"상담일시: {dt} {rng.randint(9, 17)}시 {rng.choice(['00', '10', '20', '30', '40', '50'])}분", f"상담자: {worker}",
             "상담 경로: " + rng.choice(["방문 상담", "전화 상담(129 연계)", "가정 방문", "이웃 제보", "복지위기 알림 앱 신고"])]
    if pii:
        lines.append(_pii_block(rng))
    lines += [
        "상담 내용: " + intro,
        "안내 사항: " + _para(_sent(["target", "apply", "docs"], p, rng, "h"), rng),
        "조치 결과: " + fill(rng.choice([
            "{n} 신청서를 접수하고 소득·재산 조사를 의뢰함.", "{n} 대상 여부 검토 후 통합사례관리 대상으로 선정함.",
            "{n} 신청 안내 후 서류 보완을 요청함.", "긴급 생계비 지원과 함께 {n} 신청을 진행함.",
        ]), n=p.short),
        "향후 계획: " + rng.choice(["2주 후 재방문 예정.", "한 달 뒤 전화로 진행 상황 확인 예정.", "지역자활센터와 연계 검토.", "민간 후원 물품 연계 예정."]),
    ]
    return title, "\n".join(lines)


def doc_amend(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    y = rng.randint(2023, 2026)
    title = rng.choice(["{y}년부터 달라지는 {n}", "{n} 제도 개정 안내", "{n}, 이렇게 바뀝니다", "{y}년 {n} 주요 변경 사항"])
    title = fill(title, y=str(y), n=p.short)
    body = [
        fill(rng.choice([
            "{y}년 1월 1일부터 {n}의 일부 기준이 바뀝니다.",
            "{law} 시행령 개정에 따라 {n} 제도가 일부 개선되었습니다.",
            "{m:은} {y}년 예산 확정에 맞춰 {n}의 지원 기준을 조정했습니다.",
        ]), y=str(y), n=p.name, law=p.law, m=p.ministry),
        "[주요 변경 내용]",
        "- " + facts.sentence("amount", p, rng, "h"),
        "- " + facts.sentence("target", p, rng, "h"),
        "- " + facts.sentence("note", p, rng, "h"),
        fill(rng.choice([
            "기존 수급자는 별도로 신청하지 않아도 바뀐 기준이 자동으로 적용됩니다.",
            "새로 대상이 되는 분은 {pl}에서 신청해 주셔야 합니다.",
            "변경된 기준은 {y}년 1월 지급분부터 반영됩니다.",
        ]), pl=facts.places_text(p), y=str(y)),
        facts.sentence("phone", p, rng, "h"),
    ]
    return title, "\n".join(body)


def doc_compare(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    q = rng.choice([x for x in PROGRAMMES if x.key != p.key])
    title = fill(rng.choice(["{a:과} {b}, 무엇이 다를까", "{a:과} {b} 비교", "헷갈리는 {a:과} {b} 정리"]), a=p.short, b=q.short)
    body = [
        fill(rng.choice([
            "{a:과} {b:은} 이름이 비슷하거나 대상이 겹쳐 헷갈리는 경우가 많다.",
            "상담 현장에서 {a:과} {b}의 차이를 묻는 질문이 자주 나온다.",
            "두 제도를 함께 받을 수 있는지 묻는 문의가 많아 차이를 정리했다.",
        ]), a=p.short, b=q.short),
        f"[{p.name}] " + _para(_sent(["target", "amount", "ministry"], p, rng, "p"), rng, "p"),
        f"[{q.name}] " + _para(_sent(["target", "amount", "ministry"], q, rng, "p"), rng, "p"),
        rng.choice([
            "두 제도는 요건을 각각 충족하면 함께 받을 수도 있으므로 상담 시 모두 확인하는 것이 좋다.",
            "자신의 상황에 맞는 제도를 고르기 어렵다면 행정복지센터의 맞춤형 상담을 받아 보는 것이 좋다.",
            "중복 지원 여부는 제도별 지침에 따라 달라지므로 담당 공무원에게 확인해야 한다.",
        ]),
    ]
    return title, "\n\n".join(body)


def doc_column(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    title = rng.choice([
        "복지 사각지대, 어떻게 줄일 것인가", "신청주의의 벽을 넘어", "동네에서 시작하는 복지", "숫자로 본 {n}",
        "{n} 현장의 목소리", "돌봄의 공백을 메우는 사람들", "복지 전달체계 개선 과제",
    ])
    title = fill(title, n=p.short)
    pool = POLICY_P[:]
    rng.shuffle(pool)
    body = [
        " ".join(pool[:3]),
        _para(_sent(["benefit", "start", "target"], p, rng, "p"), rng, "p"),
        fill(rng.choice([
            "{sgg}의 한 사회복지사는 \"{n:을} 알았더라면 더 일찍 도움을 받았을 것\"이라는 말을 자주 듣는다고 전했다.",
            "현장 담당자들은 {n}의 신청 절차를 더 쉽게 만들어야 한다고 입을 모은다.",
            "{n}의 효과를 높이려면 다른 제도와의 연계가 중요하다는 지적이 나온다.",
        ]), sgg=region(rng)[1], n=p.short),
        " ".join(pool[3:5]),
    ]
    return title, "\n\n".join(body)


def doc_blog(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    title = rng.choice(["놓치면 손해! {n} 꼼꼼 정리", "{n}, 저도 받을 수 있을까요?", "초보 부모를 위한 {n} 정리", "우리 동네 복지 소식: {n}"])
    title = fill(title, n=p.short)

    def yo(s: str) -> str:
        if s.endswith("입니다."):
            stem = s[: -len("입니다.")]
            return stem + ("이에요." if josa(stem, "이") .endswith("이") else "예요.")
        for a, b in (("수 있습니다.", "수 있어요."), ("없습니다.", "없어요."), ("있습니다.", "있어요."), ("었습니다.", "었어요."), ("았습니다.", "았어요."),
                     ("됩니다.", "돼요."), ("합니다.", "해요."), ("십시오.", "세요.")):
            if s.endswith(a):
                return s[: -len(a)] + b
        return s

    s = [yo(facts.sentence(a, p, rng, "h")) for a in ("benefit", "target", "income", "amount", "apply", "docs", "note")]
    intro = rng.choice([
        "오늘은 많은 분들이 궁금해하시는 제도를 정리해 봤어요.",
        "주변에서 자주 물어보셔서 한번 정리해 보았어요.",
        "알고 있으면 꼭 도움이 되는 복지 정보를 나눠요.",
    ])
    outro = rng.choice([
        "더 궁금한 점은 가까운 행정복지센터에 물어보시면 친절하게 알려 주실 거예요.",
        "필요한 분들께 꼭 공유해 주세요!",
        "신청 기간을 놓치지 않도록 미리 챙겨 두세요.",
    ])
    return title, "\n\n".join([intro, " ".join(s[:3]), " ".join(s[3:]), outro])


def doc_complaint(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    no = f"{rng.randint(1, 9)}AA-{rng.randint(2301, 2512)}-{rng.randint(100000, 999999)}"
    title = f"민원 답변: {p.short} 관련 문의 (접수번호 {no})"
    lines = [
        "1. 안녕하십니까? 귀하께서 국민신문고를 통해 신청하신 민원에 대한 검토 결과를 다음과 같이 알려 드립니다.",
        "2. 귀하의 민원 요지는 " + fill(rng.choice([
            "{n:을} 받을 수 있는지에 관한 것으로 이해됩니다.", "{n}의 지원 금액과 신청 장소에 관한 것입니다.",
            "{n} 신청 시 필요한 서류에 관한 것입니다.", "{n}의 소득 기준에 관한 것으로 보입니다.",
        ]), n=p.name),
        "3. " + _para(_sent(["target", "income", "amount", "apply"], p, rng, "h"), rng),
    ]
    if pii:
        lines.append("4. 민원인 정보: " + fill("{name} / {mob} / {mail}", name=person_name(rng), mob=mobile(rng), mail=email(rng)) + " (회신용)")
    lines.append(f"{len(lines) + 1}. 답변 내용에 대한 추가 설명이 필요한 경우 {p.operator} 담당자({office_phone(rng)})에게 연락 주시면 친절히 안내해 드리겠습니다. 감사합니다.")
    return title, "\n".join(lines)


def doc_training(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    title = rng.choice(["[담당자 교육자료] {n} 업무 요약", "{n} 업무 처리 지침 요약", "신규 복지공무원을 위한 {n} 핵심 정리"])
    title = fill(title, n=p.short)
    body = [
        "■ 제도 개요: " + facts.sentence("benefit", p, rng, "h") + " " + facts.sentence("start", p, rng, "h"),
        "■ 소관: " + facts.sentence("ministry", p, rng, "h"),
        "■ 대상 및 기준: " + facts.sentence("target", p, rng, "h") + " " + facts.sentence("income", p, rng, "h"),
        "■ 급여 내용: " + facts.sentence("amount", p, rng, "h") + " " + facts.sentence("payment", p, rng, "h"),
        "■ 접수: " + facts.sentence("apply", p, rng, "h") + " " + facts.sentence("docs", p, rng, "h"),
        "■ 유의사항: " + " ".join(dict.fromkeys(facts.sentence("note", p, rng, "h") for _ in range(2))),
        "■ 상담 팁: " + rng.choice([
            "신청인의 말을 끝까지 듣고 다른 제도와 연계할 수 있는지 함께 확인합니다.",
            "서류가 부족하더라도 일단 접수하고 보완을 요청하는 것을 원칙으로 합니다.",
            "어려운 용어 대신 쉬운 말로 설명하고, 결과 통지 일정을 반드시 안내합니다.",
            "민원인이 부끄러움을 느끼지 않도록 독립된 상담 공간을 이용합니다.",
        ]),
    ]
    if pii:
        body.append("■ 예시 사례(내부용): " + _pii_block(rng))
    return title, "\n".join(body)


def doc_stats(rng: random.Random, p: Programme, pii: bool = False) -> tuple[str, str]:
    y = rng.randint(2022, 2025)
    n1 = rng.randint(3, 900) * 1000
    inc = rng.randint(2, 25)
    sido = region(rng)[0]
    title = fill(rng.choice(["{y}년 {n} 수급 현황", "통계로 본 {n}", "{sido} {n} 이용 실적 분석"]), y=str(y), n=p.short, sido=sido)
    body = [
        fill(rng.choice([
            "{y}년 말 기준 {n} 수급자는 전국 약 {c:,}명으로 전년보다 {inc}% 늘었다.",
            "{y}년 {n} 이용자는 약 {c:,}명으로 집계되었으며, 이 가운데 {sido:이} 차지하는 비중은 {share}%였다.",
        ]).replace("{c:,}", f"{n1:,}"), y=str(y), n=p.name, inc=str(inc), sido=sido, share=str(rng.randint(2, 26))),
        fill(rng.choice([
            "연령별로는 {a}대 비중이 가장 높았고, 가구 유형별로는 1인 가구가 {s}%를 차지했다.",
            "신규 신청자 가운데 온라인 신청 비율은 {s}%로 해마다 높아지고 있다.",
            "지역별로는 수도권 비중이 {s}%였으며 농어촌 지역의 증가세가 두드러졌다.",
        ]), a=str(rng.choice([20, 30, 40, 50, 60, 70, 80])), s=str(rng.randint(18, 64))),
        _para(_sent(["target", "amount"], p, rng, "p"), rng, "p"),
        rng.choice(POLICY_P),
    ]
    return title, "\n\n".join(body)


PLAIN_KINDS = ("press", "compare", "column", "stats", "case", "community", "story", "interview")


def extra_paragraph(kind: str, rng: random.Random, p: Programme) -> str:
    """A paragraph about a related programme (adds length and cross-references)."""
    if kind in ("counsel", "complaint", "glossary", "season", "board", "minutes", "scam"):
        return ""
    same = [q for q in PROGRAMMES if q.key != p.key and q.category == p.category]
    others = [q for q in PROGRAMMES if q.key != p.key]
    q = rng.choice(same) if same and rng.random() < 0.6 else rng.choice(others)
    aspects = ["benefit", "target", "amount", "apply", "income", "ministry", "note", "start"]
    rng.shuffle(aspects)
    k = rng.randint(2, 4)
    if kind in PLAIN_KINDS:
        text = _para(_sent(aspects[:k], q, rng, "p"), rng, "p")
        lead = rng.choice(RELATED_LEADS_P)
        s = f"{lead} {josa(q.name, '도')} 있다. {text}" if lead.endswith("는") else f"{lead} {josa(q.name, '도')} 눈여겨볼 만하다. {text}"
        if rng.random() < 0.5:
            s += " " + rng.choice(POLICY_P)
        return "\n\n" + s
    text = _para(_sent(aspects[:k], q, rng, "h"), rng)
    name_lead = fill(rng.choice([
        "{n:도} 함께 살펴보시기 바랍니다.", "{n:도} 함께 신청할 수 있는지 확인해 보세요.", "{n}에 대해서도 알아 두시면 좋습니다.",
        "형편에 따라 {n:도} 받을 수 있습니다.", "{n:은} 다음과 같습니다.",
    ]), n=q.name)
    s = rng.choice(RELATED_LEADS_H) + "\n" + name_lead + " " + text
    if rng.random() < 0.5:
        s += " " + rng.choice(POLICY_H)
    return "\n\n" + s


DOC_TYPES: list[tuple[str, Callable[..., tuple[str, str]], int]] = [
    ("guide", doc_guide, 14),
    ("press", doc_press, 10),
    ("faq", doc_faq, 10),
    ("local", doc_local, 10),
    ("case", doc_case, 9),
    ("counsel", doc_counsel_log, 6),
    ("amend", doc_amend, 7),
    ("compare", doc_compare, 6),
    ("column", doc_column, 6),
    ("blog", doc_blog, 7),
    ("complaint", doc_complaint, 7),
    ("training", doc_training, 5),
    ("stats", doc_stats, 4),
    ("glossary", prose.doc_glossary, 3),
    ("community", prose.doc_community, 7),
    ("season", prose.doc_season, 4),
    ("interview", prose.doc_interview, 4),
    ("story", prose.doc_story, 6),
    ("board", prose.doc_board, 8),
    ("scam", prose.doc_scam, 3),
    ("minutes", prose.doc_minutes, 3),
]

PII_TYPES = ("case", "counsel", "complaint", "training", "board")


def generate_corpus(rng: random.Random, n_unique: int = 600, n_dup: int = 18, pii_rate: float = 0.1) -> tuple[list[str], dict]:
    """Return list of document texts (with duplicates inserted) and stats."""
    names = [t[0] for t in DOC_TYPES]
    weights = [t[2] for t in DOC_TYPES]
    funcs = {t[0]: t[1] for t in DOC_TYPES}
    docs: list[str] = []
    seen: set[str] = set()
    n_pii = 0
    target_pii = int(round(n_unique * pii_rate))
    i = 0
    while len(docs) < n_unique:
        p = PROGRAMMES[i % len(PROGRAMMES)]
        i += 1
        remaining = n_unique - len(docs)
        need_pii = target_pii - n_pii
        if need_pii > 0 and rng.random() < need_pii / max(remaining, 1) * 2.5:
            kind = rng.choice(PII_TYPES)
            pii = True
        else:
            kind = rng.choices(names, weights)[0]
            pii = False
        title, body = funcs[kind](rng, p, pii=pii)
        body = body + extra_paragraph(kind, rng, p)
        text = f"{title}\n\n{body}\n"
        if text in seen:
            continue
        seen.add(text)
        docs.append(text)
        n_pii += int(pii)
    dup_sources = rng.sample(range(len(docs)), n_dup)
    out = docs[:]
    for src in dup_sources:
        pos = rng.randint(0, len(out))
        out.insert(pos, docs[src])
    return out, {"unique": len(docs), "duplicates": n_dup, "pii_docs": n_pii, "total": len(out)}
