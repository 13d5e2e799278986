"""Labelled synthetic Korean text for tests and the benchmark.

Each document is a few sentences; some carry one personal value of a known
type at a known character span, others carry look-alikes (dates, amounts,
law and bill numbers, representative and short public phone numbers, postal
codes, programme names, titles without a name, numbers with impossible dates
or failing check digits) that must stay untouched. ``lookalikes`` gives the
look-alikes alone, by category. Deterministic by seed. All values are
generated: none belongs to a real person.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker
from stdnum import luhn
from stdnum.kr import rrn as stdnum_rrn

from nuri.deid import checksums
from nuri.deid.pii_types import (
    ACCOUNT, ADDRESS, BUSINESS_RN, CARD, CORPORATE_RN, DRIVER_LICENSE, EMAIL, FOREIGNER_RN, IP, NAME,
    PASSPORT, PHONE, RRN, Finding,
)


@dataclass
class Sample:
    text: str
    spans: list[Finding] = field(default_factory=list)


# ---------------------------------------------------------------- values
# Names and e-mail user names come from Faker's ko_KR providers, drawing from the
# caller's rng. The numbers are made here, each passing the check the de-identifier
# applies: Faker's ko_KR ssn() has the right check digit about one time in ten, it has
# no foreigner, business or corporate numbers, and its cards (Luhn-valid) lack the
# domestic 9-prefixed ones and include 12-19 digit lengths no Korean issuer prints.
# Its phone_number() knows no +82 or dotted spellings and its address() puts districts
# in other cities (울산광역시 서초구), so phones and addresses are made here too.

_FAKER = Faker("ko_KR")


def _faker(rng: random.Random) -> Faker:
    """The one Faker, drawing from rng (so the caller's seed decides; one caller at a time)."""
    _FAKER.random = rng
    return _FAKER


def person_name(rng: random.Random) -> str:
    # Faker's surnames have one syllable; a few people have two (남궁, 황보), and they
    # must be found too.
    if rng.random() < 0.03:
        return rng.choice(["남궁", "황보", "제갈", "선우"]) + _faker(rng).first_name()
    return _faker(rng).name()


def _birth(rng: random.Random, foreigner: bool) -> str:
    day = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 80))
    male = rng.random() < 0.5
    if day.year < 2000:
        gender = ("5" if male else "6") if foreigner else ("1" if male else "2")
    else:
        gender = ("7" if male else "8") if foreigner else ("3" if male else "4")
    return day.strftime("%y%m%d") + gender


def rrn_digits(rng: random.Random) -> str:
    body = _birth(rng, False) + f"{rng.randrange(0, 97):02d}" + f"{rng.randrange(10000):04d}"[:3]
    if rng.random() < 0.15:  # issued since October 2020: random final digit
        return body + str(rng.randrange(10))
    return body + stdnum_rrn.calc_check_digit(body)


def foreigner_digits(rng: random.Random) -> str:
    while True:
        body = _birth(rng, True) + f"{rng.randrange(10 ** 5):05d}"
        for d in "0123456789":
            if checksums.foreigner_checksum_ok(body + d):
                return body + d


def business_digits(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(101, 1000)}{rng.randrange(1, 100):02d}{rng.randrange(1, 10000):04d}"
        for d in "0123456789":
            if checksums.business_rn_valid(digits + d):
                return digits + d


def corporate_digits(rng: random.Random) -> str:
    # Registry office (4) + corporation kind (2) + serial (6) + check digit.
    while True:
        digits = f"{rng.choice([1101, 1201, 1301, 1344, 1601, 2001, 1711])}{rng.choice([11, 12, 13, 71, 81])}"
        digits += "0" + f"{rng.randrange(10 ** 5):05d}"
        for d in "0123456789":
            if checksums.corporate_rn_valid(digits + d):
                return digits + d


def card_digits(rng: random.Random) -> str:
    if rng.random() < 0.15:
        body = "37" + "".join(rng.choice(string.digits) for _ in range(12))
    else:
        body = rng.choice("4596") + "".join(rng.choice(string.digits) for _ in range(14))
    return body + luhn.calc_check_digit(body)


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _rrn_like(rng: random.Random, digits: str) -> str:
    return rng.choice([digits[:6] + "-" + digits[6:], digits[:6] + "-" + digits[6:], digits])


def phone(rng: random.Random) -> str:
    a, b = _d(rng, 4), _d(rng, 4)
    mobile = "01" + rng.choice("016789")
    area = rng.choice(["02", "031", "032", "051", "053", "062", "064", "070", "044"])
    mid3 = str(rng.randrange(200, 1000))
    return rng.choice([
        f"{mobile}-{a}-{b}", f"{mobile} {a} {b}", f"{mobile}.{a}.{b}", f"{mobile}{a}{b}",
        f"+82-{mobile[1:]}-{a}-{b}", f"+82 {mobile[1:]} {a} {b}", f"+82{mobile[1:]}{a}{b}",
        f"{area}-{mid3}-{b}", f"{area}-{a}-{b}", f"({area}) {mid3}-{b}", f"{area}.{mid3}.{b}",
    ])


def representative_number(rng: random.Random) -> str:
    """A nationwide representative number (1577-1000): an organisation's, not a person's."""
    prefix = rng.choice(["1577", "1588", "1544", "1566", "1600", "1644", "1661", "1688", "1800", "1899"])
    return f"{prefix}-{_d(rng, 4)}"


def email(rng: random.Random) -> str:
    user = _faker(rng).user_name()  # a romanised Korean name, sometimes with digits
    user += rng.choice(["", ".", "_", "-"]) + _d(rng, rng.randrange(0, 4))
    user = user.rstrip("._-")
    return user + "@" + rng.choice(["naver.com", "korea.kr", "gmail.com", "daum.net", "moel.go.kr",
                                     "hanmail.net", "snu.ac.kr"])


def account(rng: random.Random) -> str:
    return rng.choice([
        f"{_d(rng, 6)}-{_d(rng, 2)}-{_d(rng, 6)}", f"110-{_d(rng, 3)}-{_d(rng, 6)}",
        f"1002-{_d(rng, 3)}-{_d(rng, 6)}", f"3333-{_d(rng, 2)}-{_d(rng, 7)}",
        f"{rng.choice(['301', '302', '351'])}-{_d(rng, 4)}-{_d(rng, 4)}-{_d(rng, 2)}", "1" + _d(rng, 11),
    ])


def passport(rng: random.Random) -> str:
    letter = rng.choice("MMMMSRO")
    if rng.random() < 0.5:
        return letter + _d(rng, 8)
    return letter + _d(rng, 3) + rng.choice(string.ascii_uppercase) + _d(rng, 4)


def driver_license(rng: random.Random) -> str:
    tail = f"{_d(rng, 2)}-{_d(rng, 6)}-{_d(rng, 2)}"
    if rng.random() < 0.6:
        return f"{rng.randrange(11, 29)}-{tail}"
    return rng.choice(["서울", "부산", "경기", "경기남부", "대구", "제주"]) + rng.choice(["", " "]) + tail


def ip_address(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    groups = [f"{rng.randrange(0x10000):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8::" + ":".join(groups[:2])
    return ":".join(groups)


def address(rng: random.Random) -> str:
    city, district, road = rng.choice([
        ("서울특별시", "종로구", "세종대로"), ("서울특별시", "강남구", "테헤란로"),
        ("부산광역시", "해운대구", "센텀중앙로"), ("경기도 성남시", "분당구", "판교역로"),
        ("대전광역시", "서구", "둔산로"), ("세종특별자치시", "", "한누리대로"),
        ("광주광역시", "북구", "용봉로"), ("제주특별자치도 제주시", "", "문연로"),
    ])
    where = " ".join(x for x in (city, district, road) if x)
    detail = rng.choice(["", f", {rng.randrange(101, 120)}동 {rng.randrange(101, 1500)}호", ""])
    return f"{where} {rng.randrange(1, 400)}{detail}"


# ------------------------------------------------------------- sentences

# (type, value maker, templates); "{}" marks where the value goes.
_PII_TEMPLATES = [
    (RRN, lambda r: _rrn_like(r, rrn_digits(r)), [
        "신청인의 주민등록번호는 {}입니다.", "주민번호 {} 확인 바랍니다.", "본인 확인용 번호: {}",
        "민원인({})의 서류가 접수되었다."]),
    (FOREIGNER_RN, lambda r: _rrn_like(r, foreigner_digits(r)), [
        "외국인등록번호 {}로 체류 연장을 신청하였다.", "등록번호: {} (외국인)"]),
    (BUSINESS_RN, lambda r: (lambda d: r.choice([f"{d[:3]}-{d[3:5]}-{d[5:]}", d]))(business_digits(r)), [
        "사업자등록번호 {}인 업체가 입찰에 참여하였다.", "사업자번호: {}"]),
    (CORPORATE_RN, lambda r: (lambda d: f"{d[:6]}-{d[6:]}")(corporate_digits(r)), [
        "법인등록번호 {}의 법인이 신고하였다.", "법인번호: {}"]),
    (PHONE, phone, [
        "연락처는 {}입니다.", "문의: {}", "담당 부서 전화 {}로 연락 바랍니다.", "휴대전화({}) 로 회신"]),
    (EMAIL, email, ["이메일 {}로 제출하십시오.", "회신 주소: {}", "문의는 {} 으로"]),
    (CARD, lambda r: (lambda d: r.choice([
        f"{d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:]}", f"{d[:4]} {d[4:8]} {d[8:12]} {d[12:]}", d])
        if len(d) == 16 else f"{d[:4]}-{d[4:10]}-{d[10:]}")(card_digits(r)), [
        "결제 카드번호 {}로 승인되었다.", "카드: {} (유효기간 12/27)"]),
    (ACCOUNT, account, [
        "국민은행 계좌 {}로 입금하였다.", "환급금은 {} (신한은행)으로 이체된다.", "입금 계좌번호: {}",
        "농협 {} 예금주 본인."]),
    (PASSPORT, passport, ["여권번호 {}로 출국하였다.", "여권: {}", "{} 여권 소지자"]),
    (DRIVER_LICENSE, driver_license, ["운전면허번호 {} 확인.", "면허번호: {}"]),
    (IP, ip_address, ["접속 IP {}에서 로그인하였다.", "서버 주소 {} 로 접근이 차단되었다."]),
    (NAME, person_name, [
        "성명: {}", "담당자: {} 주무관", "{} 의원이 질의하였다.", "({}의원 대표발의)", "{} 씨가 민원을 제기하였다.",
        "이름: {}, 나이 34세",
        # Officials, applicants, sponsors and signatories as public documents write them.
        "담당자 {} 주무관에게 문의하세요.", "담당: 복지정책과 {} 사무관", "{} 사회복지주무관이 방문하였다.",
        "상담자: {} 팀장", "{} 과장님께서 설명하였다.", "신청인 {} (인)", "신청인 {}의 서류를 접수하였다.",
        "민원인 {} 씨가 방문하였다.", "민원인 정보: {} / 회신 요청", "대상자 {}(만 72세)", "대표발의 {} 의원",
        "{} 의원 대표발의", "서명: {}", "위 신청인 {} (서명 또는 인)"]),
    (ADDRESS, address, ["주소: {}", "거주지: {}", "{}에 위치한 사무실", "우편물은 {}로 보냈다."]),
]

# (category, maker): text that looks like personal data but is not.
_LOOKALIKES: list[tuple[str, Callable[[random.Random], str]]] = [
    ("date", lambda r: f"시행일은 {r.randrange(2000, 2030)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}이다."),
    ("date", lambda r: f"회의는 {r.randrange(2000, 2030)}.{r.randrange(1, 13):02d}.{r.randrange(1, 29):02d}에 열렸다."),
    ("date", lambda r: f"발의연월일 : {r.randrange(2000, 2030)}.  {r.randrange(1, 13)}.  {r.randrange(1, 29)}."),
    ("date", lambda r: f"{r.randrange(1500, 1600)}-{r.randrange(1600, 1700)}년 사이의 기록"),
    ("amount", lambda r: f"예산 {r.randrange(1, 999)},{r.randrange(1000):03d},{r.randrange(1000):03d}원을 편성하였다."),
    ("amount", lambda r: f"1인 가구 기준 중위소득은 월 {r.randrange(1, 3)},{r.randrange(1000):03d},{r.randrange(1000):03d}원이다."),
    ("amount", lambda r: f"총 {r.randrange(2, 300)}명이 참석하였으며 {r.randrange(1, 99)}.{r.randrange(0, 9)}%가 찬성하였다."),
    ("article", lambda r: f"법률 제{r.randrange(10000, 20000)}호로 공포되었다."),
    ("article", lambda r: f"의안번호 {r.randrange(1000, 30000)}"),
    ("article", lambda r: f"대통령령 제{r.randrange(20000, 35000)}호"),
    ("article", lambda r: f"제{r.randrange(1, 200)}조제{r.randrange(1, 10)}항제{r.randrange(1, 10)}호를 개정한다."),
    ("representative_number", lambda r: f"건강보험공단 고객센터({representative_number(r)})로 문의하십시오."),
    ("representative_number", lambda r: f"대표번호 {representative_number(r)}"),
    ("representative_number", lambda r: f"상담 전화 {representative_number(r)}로 연락 바랍니다."),
    ("representative_number", lambda r: f"☎ {representative_number(r)} (평일 09시~18시)"),
    ("short_public_number", lambda r: r.choice([
        "보건복지상담센터(국번 없이 129)에 문의하십시오.", "범죄 신고는 112, 화재·구조 신고는 119",
        "정부민원안내콜센터 110으로 전화하세요.", "다산콜센터 120 또는 02-120", "외국인종합안내센터 1345",
        "여성긴급전화 1366", "고용노동부 고객상담센터 1350", "청소년상담 1388", "자살예방상담전화 109"])),
    ("postal_code", lambda r: f"우편번호 {r.randrange(1000, 64000):05d}로 발송한다."),
    ("postal_code", lambda r: f"(우){r.randrange(1000, 64000):05d} 담당 부서 앞"),
    ("programme_name", lambda r: r.choice([
        "방문요양, 방문목욕, 방문간호를 제공한다.", "장기요양 등급 판정을 받았다.", "노인장기요양보험 재가급여",
        "청년내일저축계좌 가입 안내", "희망두배 청년통장 모집", "국민취업지원제도 1유형", "에너지바우처 신청 기간",
        "아동수당, 부모급여, 첫만남이용권", "기초생활보장 생계급여", "긴급복지지원 생계지원",
        "가운데 군 복무 중인 자녀는 가구원에서 제외한다."])),
    ("programme_name", lambda r: f"희망저축계좌 관련 문의 (접수번호 {r.randrange(1, 10)}AA-{_d(r, 4)}-{_d(r, 6)})"),
    ("official_title", lambda r: r.choice([
        "담당 주무관에게 문의하세요.", "해당 사무관이 검토한다.", "팀장 회의에서 결정하였다.", "복지정책과장 전결",
        "담당자 배정 후 안내한다.", "담당자 지정 및 변경", "신청인 본인이 직접 방문한다.",
        "신청인 정보를 입력하십시오.", "담당자 연락처는 대표번호로 안내한다.", "보호자: 부모", "대상자: 노인",
        "신청인 (서명 또는 인)", "민원인 안내문", "사회복지 전담공무원이 방문한다.", "국회의원 정수와 지방의회의원 선거",
        "민주당 의원 다수가 찬성하였다.", "동대문구청장 명의로 통지한다.", "남구로 이사 온 뒤 전입신고를 하였다."])),
    ("code", lambda r: f"참고 문헌 ISBN {_isbn(r)}"),
    ("code", lambda r: (f"소프트웨어 버전 v{r.randrange(1, 10)}.{r.randrange(0, 20)}.{r.randrange(0, 20)}"
                        f".{r.randrange(0, 99)}")),
    ("code", lambda r: f"Python {r.randrange(2, 4)}.{r.randrange(0, 13)}.{r.randrange(0, 10)} 환경"),
    # A 6-7 number whose "date" is impossible (month 13+, day 32+).
    ("checksum_fail", lambda r: (
        f"접수번호 {r.randrange(10, 99)}{r.randrange(13, 99)}{r.randrange(32, 99)}-{r.randrange(10 ** 6, 10 ** 7)}")),
    # Check digit off by one: business and card numbers that do not exist.
    ("checksum_fail", lambda r: (lambda d: f"번호 {d[:3]}-{d[3:5]}-{d[5:9]}{(int(d[9]) + 1) % 10}")(
        business_digits(r))),
    ("checksum_fail", lambda r: (lambda d: f"코드 {d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:15]}{(int(d[15]) + 1) % 10}")(
        _card16(r))),
]
LOOKALIKE_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(category for category, _ in _LOOKALIKES))


def lookalikes(n: int = 500, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (category, text) pairs holding no personal data, the categories in turn."""
    rng = random.Random(seed)
    by_category = {c: [make for category, make in _LOOKALIKES if category == c] for c in LOOKALIKE_CATEGORIES}
    out = []
    for i in range(n):
        category = LOOKALIKE_CATEGORIES[i % len(LOOKALIKE_CATEGORIES)]
        out.append((category, rng.choice(by_category[category])(rng)))
    return out


def _card16(rng: random.Random) -> str:
    body = rng.choice("4596") + _d(rng, 14)
    return body + luhn.calc_check_digit(body)


def _isbn(rng: random.Random) -> str:
    body = "97889" + _d(rng, 7)
    check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(body)) % 10) % 10
    return f"{body[:3]}-{body[3:5]}-{body[5:9]}-{body[9:]}-{check}"


def _sponsor_list(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    names = [person_name(rng) for _ in range(rng.randrange(3, 8))]
    text, spans = "발  의  자 : ", []
    for i, name in enumerate(names[:-1]):
        if i and i % 3 == 0:
            text += " \n\n"
        elif i:
            text += "․"
        spans.append((len(text), len(text) + len(name)))
        text += name
    text += " \n\n"
    spans.append((len(text), len(text) + len(names[-1])))
    text += names[-1] + f" 의원({len(names)}인)"
    return text, spans


def _member_list(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """Names joined before one shared title: "홍길동ㆍ김철수 의원 등 10인"."""
    names = [person_name(rng) for _ in range(rng.randrange(2, 4))]
    sep = rng.choice(["ㆍ", "·", "․", ", "])
    text, spans = rng.choice(["", "대표발의 ", "공동발의 "]), []
    for i, name in enumerate(names):
        if i:
            text += sep
        spans.append((len(text), len(text) + len(name)))
        text += name
    return text + f" 의원 등 {rng.randrange(10, 30)}인", spans


def generate(n_docs: int = 200, seed: int = 0) -> list[Sample]:
    """``n_docs`` documents, each 3-6 sentences, a third of them look-alikes."""
    rng = random.Random(seed)
    docs: list[Sample] = []
    for _ in range(n_docs):
        text, spans = "", []
        for _ in range(rng.randrange(3, 7)):
            if text:
                text += rng.choice([" ", "\n"])
            roll = rng.random()
            if roll < 0.33:
                text += rng.choice(_LOOKALIKES)[1](rng)
            elif roll < 0.36:
                block, block_spans = rng.choice([_sponsor_list, _member_list])(rng)
                spans += [Finding(len(text) + s, len(text) + e, NAME) for s, e in block_spans]
                text += block
            else:
                kind, make, templates = rng.choice(_PII_TEMPLATES)
                value = make(rng)
                before, after = rng.choice(templates).split("{}")
                text += before
                spans.append(Finding(len(text), len(text) + len(value), kind))
                text += value + after
        docs.append(Sample(text, spans))
    return docs
