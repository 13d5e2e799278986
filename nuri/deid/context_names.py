"""Names and addresses, found only where the context marks them.

There is no reliable way to tell a Korean name from any other 2-4 syllable
word on its own, so a name is taken only after a label ("성명: 홍길동"),
before a title ("홍길동 의원", "정의화의원"), or inside a bill's sponsor list
("발 의 자 : 정의화․이명수․김을동"); and it must start with a common surname.
An address is taken after a label ("주소: ...") or as a full road/lot
address that starts with a province or metropolitan city and ends in a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nuri.deid.pii_types import ADDRESS, NAME, Finding

# The ~100 most common Korean surnames (single syllable; 남궁/황보/제갈/선우 etc.
# start with 남/황/제/선, which are in the list too).
SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지"
    "엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가"
    "복태목형피두감음빈동온호범좌팽승간상갈시")

# Titles that follow a person's name.
_TITLES = ("의원|부위원장|위원장|위원|부의장|의장|장관|차관|총리|대통령|시장|군수|구청장|도지사|교육감|대표|회장|사장"
           "|이사|부장|과장|팀장|국장|실장|주무관|사무관|서기관|교수|박사|선생|기자|변호사|판사"
           "|검사|씨|님|군|양")
# Three syllables before a title that are not a name: organisations (민주당,
# 상임위) and words ending in a particle or verb ending (이내에 대통령이,
# 국회는 의원의, 위하여 대통령).
_NOT_A_NAME_ENDINGS = ("당", "회", "위", "청", "처", "부", "에", "는", "를", "을", "의", "여", "와", "고",
                       "며", "면", "다", "게")

_NAME_AFTER_LABEL = re.compile(
    r"(?:성\s?명|이\s?름|성함|신청인|대표자|담당자|작성자|보호자|환자명|수령인|예금주|고객명|피해자|피의자"
    r"|민원인|성명\(한글\))\s*[:：]\s*([가-힣]{2,4})(?![가-힣])")
# A title followed by at most one Hangul syllable (a particle: 의원이, 씨가);
# "대통령령" and "총리령" are decrees, not people. The scan finds the title and
# reads the three syllables before it in Python: a pattern starting with
# [가-힣]{3} would be tried at every syllable. Keep it a plain alternation: a
# look-behind inside it disables re's fast first-character scan (measured
# 140 -> 20 MB/s), so nouns that merely end in a title are excluded afterwards.
_TITLE = re.compile(r"(?:" + _TITLES + r")(?!령)(?![가-힣]{2})")
_NOUNS_ENDING_IN_TITLE = ("대기자",)  # 임용대기자: people waiting for appointment
_SPONSOR_LABEL = re.compile(r"(?:대표\s?발\s?의\s?자|공동\s?발\s?의\s?자|발\s*의\s*자|찬\s*성\s*자)\s*[:：]")
_LIST_TOKEN = re.compile(r"[\s․·ㆍ・,、]*([가-힣]{2,4})(?![가-힣])")
# Words that end a sponsor list: its closing "의원(10인)" or the next heading.
_LIST_END = frozenset({"의원", "제안이유", "주요내용", "제안", "이유", "참고사항", "비용추계"})


def _is_hangul_before(text: str, pos: int) -> bool:
    return pos > 0 and "가" <= text[pos - 1] <= "힣"


def _looks_like_name(word: str) -> bool:
    return word[0] in SURNAMES


def find_names(text: str) -> Iterator[Finding]:
    for m in _NAME_AFTER_LABEL.finditer(text):
        if _looks_like_name(m.group(1)):
            yield Finding(m.start(1), m.end(1), NAME)
    for m in _TITLE.finditer(text):
        if any(text.startswith(noun, m.end() - len(noun)) for noun in _NOUNS_ENDING_IN_TITLE):
            continue
        end = m.start() - 1 if m.start() > 0 and text[m.start() - 1] == " " else m.start()
        start = end - 3
        if start < 0 or _is_hangul_before(text, start):
            continue
        word = text[start:end]
        if (all("가" <= c <= "힣" for c in word) and _looks_like_name(word)
                and not word.endswith(_NOT_A_NAME_ENDINGS)):
            yield Finding(start, end, NAME)
    for label in _SPONSOR_LABEL.finditer(text):
        pos = label.end()
        while (token := _LIST_TOKEN.match(text, pos)) is not None:
            word = token.group(1)
            if word in _LIST_END or not _looks_like_name(word):
                break
            yield Finding(token.start(1), token.end(1), NAME)
            pos = token.end()


_SIDO = ("서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|인천광역시|인천시|인천"
         "|광주광역시|광주시|광주|대전광역시|대전시|대전|울산광역시|울산시|울산|세종특별자치시|세종시|세종"
         "|경기도|경기|강원특별자치도|강원도|강원|충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북"
         "|전라남도|전남|경상북도|경북|경상남도|경남|제주특별자치도|제주도|제주")
_DISTRICTS = r"(?:\s+[가-힣]{1,8}(?:시|군|구))*"
_TOWNS = r"(?:\s+[가-힣0-9]{1,10}(?:읍|면|동|리|가))"
# Unit and floor, then the reference note in parentheses: "(도렴동)", "(세종로, 정부서울청사)".
_DETAIL = (r"(?:,?\s*\d{1,4}동)?(?:\s*\d{1,5}호)?(?:\s*\d{1,3}층)?"
           r"(?:\s*\([가-힣0-9]{1,10}(?:동|리|가|로)(?:,\s?[가-힣0-9 ]{1,15})?\))?")
_SIDO_ANYWHERE = re.compile(_SIDO)
_ROAD_ADDRESS = re.compile(
    r"(?:" + _SIDO + r")" + _DISTRICTS + _TOWNS + r"*"
    r"\s+[가-힣0-9.]{1,20}(?:로|길)\s?\d{1,5}(?:-\d{1,5})?(?![\d.])" + _DETAIL)
_LOT_ADDRESS = re.compile(
    r"(?:" + _SIDO + r")" + _DISTRICTS + _TOWNS + r"+"
    r"\s+(?:산\s?)?\d{1,5}(?:-\d{1,5})?(?:번지)?(?![\d.])" + _DETAIL)
# After a label, an address is Hangul words (digits allowed: 역삼1동) ending in a
# building or lot number, plus unit details: "주소: 서울특별시 종로구 세종대로 209".
_ADDRESS_LABEL = re.compile(r"(?:주\s?소|주소지|현주소|거주지|자택|본적|등록기준지)\s*[:：]\s*")
_LABELLED_ADDRESS = re.compile(
    r"[가-힣][가-힣0-9]*(?:\s+[가-힣0-9.·-]*[가-힣][가-힣0-9]*){0,7}?\s?(?:산\s?)?\d{1,5}(?:-\d{1,5})?"
    r"(?:번지)?(?![\d.])" + _DETAIL)
# "이메일 주소:", "IP 주소:" label something else.
_NOT_POSTAL = re.compile(r"(?:메일|회신|IP|ip|서버|웹|인터넷|홈페이지|MAC|URL)\s?$")


def find_addresses(text: str) -> Iterator[Finding]:
    for label in _ADDRESS_LABEL.finditer(text):
        if _NOT_POSTAL.search(text, max(0, label.start() - 6), label.start()):
            continue
        m = _LABELLED_ADDRESS.match(text, label.end())
        if m:
            yield Finding(m.start(), m.end(), ADDRESS)
    if _SIDO_ANYWHERE.search(text) is None:
        return
    for pattern in (_ROAD_ADDRESS, _LOT_ADDRESS):
        for m in pattern.finditer(text):
            if not _is_hangul_before(text, m.start()):
                yield Finding(m.start(), m.end(), ADDRESS)
