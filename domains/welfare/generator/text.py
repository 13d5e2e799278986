"""Korean text helpers: particles (josa), templates, random places, dates and personas,
and synthetic personal data."""

from __future__ import annotations

import random
import re

from stdnum.kr.rrn import calc_check_digit

from .knowledge import (AREA_CODES, CRISES, DONG_STEMS, GIVEN_SYLLABLES, HOUSEHOLDS, OCCUPATIONS, OFFICIAL_TITLES,
                        PERSONAS, REGIONS, SURNAMES, Programme)

# batchim of digits read in Sino-Korean: 영 일 이 삼 사 오 육 칠 팔 구
_DIGIT_BATCHIM = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True, "7": True, "8": True, "9": False}
_DIGIT_RIEUL = {"1", "7", "8"}  # 일 칠 팔 end in ㄹ


def _last_char(word: str) -> str:
    w = word.rstrip()
    # skip a trailing parenthetical: "복지로(www...)" -> "로"
    while w.endswith(")") and "(" in w:
        w = w[: w.rfind("(")].rstrip()
    if w.endswith("%"):
        return "트"  # 퍼센트
    w = w.rstrip("'\"”’.")
    return w[-1] if w else ""


def _batchim(word: str) -> tuple[bool, bool]:
    """Return (has_final_consonant, final_is_rieul)."""
    c = _last_char(word)
    if not c:
        return False, False
    if c.isdigit():
        return _DIGIT_BATCHIM[c], c in _DIGIT_RIEUL
    code = ord(c) - 0xAC00
    if 0 <= code < 11172:
        jong = code % 28
        return jong != 0, jong == 8
    return False, False


_PAIRS = {
    "은": ("은", "는"), "는": ("은", "는"),
    "이": ("이", "가"), "가": ("이", "가"),
    "을": ("을", "를"), "를": ("을", "를"),
    "과": ("과", "와"), "와": ("과", "와"),
    "이다": ("이다", "다"), "입니다": ("입니다", "입니다"),
    "이며": ("이며", "이며"), "이고": ("이고", "이고"),
    "이나": ("이나", "나"), "나": ("이나", "나"),
    "이라": ("이라", "라"), "라": ("이라", "라"),
    "이라는": ("이라는", "라는"),
    "이라면": ("이라면", "라면"),
    "이면": ("이면", "면"),
    "인데요": ("인데요", "인데요"),
    "이란": ("이란", "란"),
    "아": ("아", "야"),
}


def josa(word: str, particle: str) -> str:
    if particle in ("으로", "로"):
        has, rieul = _batchim(word)
        return word + ("으로" if has and not rieul else "로")
    if particle in ("으로서", "로서"):
        has, rieul = _batchim(word)
        return word + ("으로서" if has and not rieul else "로서")
    pair = _PAIRS.get(particle)
    if pair is None:
        return word + particle
    has, _ = _batchim(word)
    return word + (pair[0] if has else pair[1])


_SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")


def fill(template: str, **kw: str) -> str:
    def rep(m: re.Match[str]) -> str:
        val = str(kw[m.group(1)])
        return josa(val, m.group(2)) if m.group(2) else val

    return _SLOT.sub(rep, template)


# --------------------------------------------------------------------------
# Random helpers (all take an explicit random.Random)
# --------------------------------------------------------------------------

# Places come from knowledge.yaml, not from Faker's ko_KR address(), which puts districts
# in other cities (울산광역시 서초구) and invents 동 names (정숙김오동): the documents
# name real 시·군·구 and give their office landlines the matching area code.
def region(rng: random.Random) -> tuple[str, str]:
    sido, sgg = rng.choice(REGIONS)
    return sido, rng.choice(sgg)


def dong(rng: random.Random) -> str:
    stem = rng.choice(DONG_STEMS)
    return stem + rng.choice(("동", "동", "동", "1동", "2동", "3동", "읍", "면"))


def official(rng: random.Random) -> str:
    return person_name(rng) + " " + rng.choice(OFFICIAL_TITLES)


def _persona_spec(p: Programme) -> dict[str, list] | None:
    return PERSONAS["청년"] if p.key == "leaving_care" else PERSONAS.get(p.category)


def generic_persona(p: Programme) -> bool:
    """No persona fits the programme: its people are any household with any crisis."""
    return _persona_spec(p) is None


def persona(rng: random.Random, p: Programme) -> tuple[int, str, str, str]:
    """(age, household, situation, occupation) consistent with the programme."""
    spec = _persona_spec(p)
    if spec is None:
        hh = rng.choice(HOUSEHOLDS)
        if any(k in hh for k in ("어르신", "노부부", "고령", "할머니", "조손")):
            age = rng.randint(66, 90)
        elif "청년" in hh:
            age = rng.randint(19, 34)
        else:
            age = rng.randint(27, 62)
        return age, hh, rng.choice(CRISES), rng.choice(OCCUPATIONS)
    a0, a1 = spec["ages"]
    return rng.randint(a0, a1), rng.choice(spec["households"]), rng.choice(spec["situations"]), rng.choice(OCCUPATIONS)


def date(rng: random.Random, y0: int = 2022, y1: int = 2025) -> tuple[int, int, int]:
    y = rng.randint(y0, y1)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return y, m, d


def date_str(rng: random.Random, style: int | None = None, y0: int = 2022, y1: int = 2025) -> str:
    y, m, d = date(rng, y0, y1)
    style = rng.randint(0, 3) if style is None else style
    if style == 0:
        return f"{y}년 {m}월 {d}일"
    if style == 1:
        return f"{y}. {m}. {d}."
    if style == 2:
        return f"{y}-{m:02d}-{d:02d}"
    return f"{y}년 {m}월 {d}일"


def sido_of(sgg: str) -> str | None:
    for sido, sggs in REGIONS:
        if sgg in sggs:
            return sido
    return None


def office_phone(rng: random.Random, where: str | None = None) -> str:
    """Office (landline) number; `where` is a 시·도 or 시·군·구 name to pick a matching area code."""
    code = AREA_CODES.get(where or "") or AREA_CODES.get(sido_of(where or "") or "")
    area = code or rng.choice(tuple(AREA_CODES.values()))
    return f"{area}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"


# --------------------------------------------------------------------------
# Synthetic personal data (random, seeded; not anyone's real data), all made here. Not
# Faker's ko_KR: its names and e-mails draw differently from the generator's random
# stream and so re-draw the whole corpus (see knowledge.yaml, surnames); its ssn() has
# the right check digit about one time in ten (and months like 00),
# and the de-identifier checks it; its phone_number() mixes landlines and retired
# 011-019 prefixes, where the sample needs mobiles in the spellings people write.
# --------------------------------------------------------------------------

def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_SYLLABLES) + rng.choice(GIVEN_SYLLABLES)


def masked_name(rng: random.Random) -> str:
    n = person_name(rng)
    return n[0] + "○" + n[2]


def rrn_is_valid(rrn: str) -> bool:
    """The check digit is right (the birth date and gender digit are not checked)."""
    digits = rrn.replace("-", "")
    return len(digits) == 13 and digits.isdigit() and calc_check_digit(digits[:12]) == digits[12]


def rrn(rng: random.Random) -> str:
    year = rng.randint(1938, 2020)
    month = rng.randint(1, 12)
    mdays = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    day = rng.randint(1, mdays[month - 1])
    female = rng.random() < 0.5
    g = (1 if not female else 2) if year < 2000 else (3 if not female else 4)
    front = f"{year % 100:02d}{month:02d}{day:02d}"
    back11 = f"{g}{rng.randint(0, 99999):05d}"
    first12 = front + back11
    return f"{front}-{back11}{calc_check_digit(first12)}"


def mobile(rng: random.Random) -> str:
    a, b = rng.randint(2000, 9999), rng.randint(0, 9999)
    style = rng.randint(0, 3)
    if style == 0:
        return f"010-{a}-{b:04d}"
    if style == 1:
        return f"010{a}{b:04d}"
    if style == 2:
        return f"+82 10-{a}-{b:04d}"
    return f"010 {a} {b:04d}"


_ROMAN = ("kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim", "han", "oh", "seo", "shin", "kwon",
          "hwang", "song", "hong")
_ROMAN_GIVEN = ("minji", "seojun", "jiho", "hyun", "sua", "dohyun", "yuna", "jimin", "eunji", "sungho", "mirae", "haneul",
                "dasom", "bora", "junho", "yejin", "taeho", "sora")
_MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "example.co.kr", "example.kr")


def email(rng: random.Random) -> str:
    """At reserved example domains, which deliver to no one."""
    user = rng.choice(_ROMAN_GIVEN) + rng.choice(("", ".", "_")) + rng.choice(_ROMAN) + str(rng.randint(1, 999))
    return f"{user}@{rng.choice(_MAIL_DOMAINS)}"
