"""Names and addresses, found only where the context marks them.

There is no reliable way to tell a Korean name from any other 2-4 syllable
word on its own, so a name is taken only where public documents put one:
after a role label ("성명: 홍길동", "신청인 홍길동 (인)", "민원인 정보: 김철수"),
before a title ("홍길동 의원", "정의화의원", "김민수 주무관에게",
"이영희 사회복지주무관"), in a list that ends in a title ("홍길동ㆍ김철수 의원
등 10인"), in a bill's sponsor list ("발 의 자 : 정의화․이명수․김을동"), or
before a signature mark ("홍길동 (서명 또는 인)"); and it must start with a
common surname and not be a word known to follow those labels ("담당자 배정",
"신청인 연락처", "보호자: 부모").
An address is taken after a label ("주소: ...") or as a full road/lot
address that starts with a province or metropolitan city and ends in a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nuri.deid.patterns import alternation
from nuri.deid.pii_types import ADDRESS, NAME, Finding

# The ~100 most common Korean surnames (single syllable; 남궁/황보/제갈/선우 etc.
# start with 남/황/제/선, which are in the list too).
SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지"
    "엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가"
    "복태목형피두감음빈동온호범좌팽승간상갈시")
# Two-syllable surnames: with them a name has four syllables (남궁민수).
_COMPOUND_SURNAMES = frozenset({"남궁", "황보", "제갈", "선우", "독고", "사공", "서문"})

# Words starting with a surname syllable that stand where a name could: role
# and kin nouns, contact fields, forms ("신청인 (인)", "보호자: 부모",
# "담당자 연락처 (044-...)", "신청인 배우자의").
_NOT_NAMES = frozenset(
    "신청인 신청자 신고인 신고자 민원인 민원실 위임인 상담자 제보자 제출인 제출자 진정인 배우자 가구원 부양자"
    " 상속인 공무원 구성원 연락처 주소지 소재지 이메일 사무실 부서명 성명란 서명란 연락망 신분증 안내문 신청서"
    " 동의서 위임장 제출서 명의인 방문객 가운데 노인 장애인 부모 부모님 가족 주민 전원 전체 공란 상동 피해자"
    " 피의자 고객명 예금주 성명 이름 서명 동의 지정 배정 변경 정보 명의 소득 가구 주소 부서 전화 안내 상담"
    " 공동 신규 기존 전담 정규 임시 소속 부재 방문 우편 유선 전자 이하 위와 상기 추후 변경시 지정시 부재시"
    " 선정자 차상위 한부모 조손 임산부 어르신 노부모 가정 담당관 전담관 관리자 사무관 주무관 팀장님 과장님"
    .split())

# Titles that follow a person's name; the trie reads the longest one (이사장, not 이사).
_TITLES = alternation((
           "의원|부위원장|위원장|위원|부의장|의장|장관|차관|총리|대통령|부시장|시장|군수|구청장|도지사|교육감|대표"
           "|회장|사장|이사장|이사|부장|과장|팀장|국장|실장|원장|청장|총장|센터장|본부장|주무관|사무관|서기관|상담관"
           "|관리사|복지사|찾아가는 보건복지 전담공무원|전담공무원|교수|박사|선생|기자|변호사|판사|검사|씨|님|군|양"
           ).split("|"))
# Titles that head a compound ("사회복지주무관", "맞춤형복지팀장"): the name
# stands before the whole compound.
_COMPOUND_HEADS = frozenset({"주무관", "사무관", "서기관", "팀장", "상담관", "관리사", "복지사"})
# Titles that also end place names or common nouns when written attached
# (동대문구청장, 방문요양, 해군): taken only after a space ("김민지 양").
_SPACED_TITLES = frozenset({"시장", "부시장", "군수", "구청장", "도지사", "군", "양"})
# Three syllables before a title that are not a name: organisations (민주당,
# 상임위, 김해시), words ending in a particle or verb ending (이내에 대통령이,
# 국회는 의원의, 위하여 대통령, 남구로 이사), and 가운데 (가운데 군 복무).
_NOT_A_NAME_ENDINGS = ("당", "회", "위", "청", "처", "부", "시", "군", "에", "는", "를", "을", "의", "여", "와",
                       "고", "며", "면", "다", "게", "로", "데")

# What may follow a title: a particle (의원이, 주무관에게, 과장님께서), a word
# naming the person's office or group (의원실, 의원안, 의원 외), or no syllable.
# "대통령령" and "총리령" are decrees, "위원회" and "관리사무소" bodies.
_AFTER_TITLE = (r"(?![가-힣])|(?:에게|께서|으로|이나|이며|이고|이다|이자|이었|이라|과의|와의|한테|님|께)"
                r"|[이가은는을를의과와도에로만외등실안측팀들](?![가-힣])")
# The scan finds the title and reads the syllables before it in Python: a
# pattern starting with [가-힣]{3} would be tried at every syllable. Keep it a
# plain alternation (a trie): a look-behind inside it disables re's fast
# first-character scan (measured 140 -> 20 MB/s), so nouns that merely end in
# a title are excluded afterwards.
_TITLE = re.compile(_TITLES + r"(?=" + _AFTER_TITLE + r")")
_NOUNS_ENDING_IN_TITLE = ("대기자",)  # 임용대기자: people waiting for appointment
# 은/이/가/도 end names too (김지은, 박하은), so they are not in _NOT_A_NAME_ENDINGS; a
# two-syllable noun of public texts that starts with a surname syllable, with one of them
# attached, is the subject of a sentence, not a name: "모든 국민은 대통령을", "정부가 위원을".
_SUBJECT_NOUNS = frozenset("국민 국가 정부 주민 시민 공무 감사 조약 위원 기관 정당 지방".split())
_SUBJECT_PARTICLES = frozenset("은이가도")

# Role labels of public forms. After a colon any 2-4 syllable word is taken
# ("성명: 홍길동"); without one, a three-syllable word followed by a title, a
# bracket or punctuation, or carrying a particle ("신청인 홍길동 (인)",
# "담당자 김민수 주무관", "신청인 홍길동이") - two-syllable words after a bare
# label are mostly nouns ("담당자 배정", "신청인 정보").
# One trie, spaced spellings included: "성\s?명|...|신청인" as a plain
# alternation scanned 4x slower (3.6 vs 0.8 ms on the bills).
_LABELS = alternation((
    "성명|성 명|이름|이 름|성함|서명|서 명"
    "|신청인|민원인|신고인|청구인|진정인|제보자|대상자|수급자|보호자|대리인|위임인|수임인|세대주|수령인|예금주"
    "|대표자|담당자|작성자|확인자|상담자|접수자|처리자|피해자|피의자|환자명|고객명").split("|"))
_NAME_LABEL = re.compile(
    _LABELS +
    r"(?:\s?(?:정보|인적\s?사항|성\s?명|이\s?름|성함)|\(한글\))?"
    r"(\s*[:：]\s*|[ \t]+)([가-힣]+)")
_AFTER_BARE_NAME = re.compile(
    r"\s*(?:$|[,.()\[\]/·ㆍ․<>\n]|" + _TITLES + r"|귀하|외\s?[0-9]|등\s?[0-9])")
_PARTICLES = frozenset("이가은는의을를과와도님씨")
_TWO_SYLLABLE_PARTICLES = frozenset({"에게", "께서", "님께", "님이", "님은", "님의", "님을", "씨가", "씨는", "씨의",
                                     "씨를"})

_SPONSOR_LABEL = re.compile(r"(?:대표\s?발\s?의\s?자|공동\s?발\s?의\s?자|발\s*의\s*자|찬\s*성\s*자)\s*[:：]")
_LIST_TOKEN = re.compile(r"[\s․·ㆍ・,、]*([가-힣]{2,4})(?![가-힣])")
# Words that end a sponsor list: its closing "의원(10인)" or the next heading.
_LIST_END = frozenset({"의원", "제안이유", "주요내용", "제안", "이유", "참고사항", "비용추계"})
# Separators of names listed before a shared title ("홍길동ㆍ김철수 의원").
_LIST_SEPARATORS = "․·ㆍ・,、"
# Signature marks on forms: "홍길동 (인)", "홍길동 (서명 또는 인)".
_SIGNATURE = re.compile(r"\((?:인|印|서명|날인|서명\s?또는\s?날?인)\)")


def _is_hangul(char: str) -> bool:
    return "가" <= char <= "힣"


def _is_hangul_before(text: str, pos: int) -> bool:
    return pos > 0 and _is_hangul(text[pos - 1])


def _looks_like_name(word: str) -> bool:
    return word[0] in SURNAMES and word not in _NOT_NAMES


def _hangul_run_before(text: str, end: int) -> int:
    """Start of the run of Hangul syllables that ends at ``end``."""
    start = end
    while start > 0 and _is_hangul(text[start - 1]):
        start -= 1
    return start


def _name_in_bare_run(text: str, start: int, run: str) -> int:
    """Length of the name that opens ``run`` after a label without a colon, or 0."""
    size = 4 if run[:2] in _COMPOUND_SURNAMES else 3
    rest = run[size:]
    particle = rest == "" or (len(rest) == 1 and rest in _PARTICLES) or rest in _TWO_SYLLABLE_PARTICLES
    if len(run) < size or not particle:
        return 0
    if not _looks_like_name(run[:size]):
        return 0
    if rest == "" and not _AFTER_BARE_NAME.match(text, start + size):
        return 0
    return size


def _names_after_labels(text: str) -> Iterator[Finding]:
    for m in _NAME_LABEL.finditer(text):
        run, start = m.group(2), m.start(2)
        if ":" in m.group(1) or "：" in m.group(1):
            if 2 <= len(run) <= 4 and _looks_like_name(run):
                yield Finding(start, m.end(2), NAME)
        elif size := _name_in_bare_run(text, start, run):
            yield Finding(start, start + size, NAME)


def _name_before_title(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    pos, title = m.start(), m.group()
    if pos == 0 or any(text.startswith(noun, m.end() - len(noun)) for noun in _NOUNS_ENDING_IN_TITLE):
        return None
    spaced = text[pos - 1] == " "
    if title in _SPACED_TITLES and not spaced:
        return None
    end = pos - 1 if spaced else pos
    if not spaced and title in _COMPOUND_HEADS and _is_hangul_before(text, pos):
        run_start = _hangul_run_before(text, pos)  # 사회복지주무관: the name is before the compound
        if pos - run_start <= 6 and run_start > 1 and text[run_start - 1] == " " and _is_hangul(text[run_start - 2]):
            end = run_start - 1
    start = end - 3
    if start < 0 or not all(_is_hangul(c) for c in text[start:end]):
        return None
    if _is_hangul_before(text, start):
        start -= 1  # only a name with a two-syllable surname has four syllables
        if text[start:start + 2] not in _COMPOUND_SURNAMES or _is_hangul_before(text, start):
            return None
    word = text[start:end]
    if word[:2] in _SUBJECT_NOUNS and word[2:] in _SUBJECT_PARTICLES:
        return None
    if _looks_like_name(word) and not word.endswith(_NOT_A_NAME_ENDINGS):
        return start, end
    return None


def _names_listed_before(text: str, pos: int) -> Iterator[Finding]:
    """Names joined by middle dots or commas before a name already found ("홍길동ㆍ[김철수] 의원")."""
    for _ in range(50):  # a list of 50 sponsors is long even for a bill
        sep = pos
        while sep > 0 and text[sep - 1] == " ":
            sep -= 1
        if sep == 0 or text[sep - 1] not in _LIST_SEPARATORS:
            return
        end = sep - 1
        while end > 0 and text[end - 1] == " ":
            end -= 1
        start = _hangul_run_before(text, end)
        word = text[start:end]
        # After a comma only a three-syllable word: "기획, 홍길동 의원" lists a noun.
        sizes = (3, 4) if text[sep - 1] in ",、" else (2, 3, 4)
        if len(word) not in sizes or not _looks_like_name(word):
            return
        yield Finding(start, end, NAME)
        pos = start


def _names_before_signature(text: str) -> Iterator[Finding]:
    for m in _SIGNATURE.finditer(text):
        end = m.start()
        if end > 0 and text[end - 1] == " ":
            end -= 1
        start = _hangul_run_before(text, end)
        word = text[start:end]
        if 2 <= len(word) <= 4 and _looks_like_name(word):
            yield Finding(start, end, NAME)


def find_names(text: str) -> Iterator[Finding]:
    yield from _names_after_labels(text)
    for m in _TITLE.finditer(text):
        span = _name_before_title(text, m)
        if span is not None:
            yield Finding(span[0], span[1], NAME)
            yield from _names_listed_before(text, span[0])
    if ":" in text or "：" in text:  # every sponsor label ends in one
        yield from _sponsors(text)
    if "(" in text:
        yield from _names_before_signature(text)


def _sponsors(text: str) -> Iterator[Finding]:
    for label in _SPONSOR_LABEL.finditer(text):
        pos = label.end()
        while (token := _LIST_TOKEN.match(text, pos)) is not None:
            word = token.group(1)
            if word in _LIST_END or not _looks_like_name(word):
                break
            yield Finding(token.start(1), token.end(1), NAME)
            pos = token.end()


_SIDO = alternation((
         "서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|인천광역시|인천시|인천"
         "|광주광역시|광주시|광주|대전광역시|대전시|대전|울산광역시|울산시|울산|세종특별자치시|세종시|세종"
         "|경기도|경기|강원특별자치도|강원도|강원|충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북"
         "|전라남도|전남|경상북도|경북|경상남도|경남|제주특별자치도|제주도|제주").split("|"))
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
    labels = _ADDRESS_LABEL.finditer(text) if ":" in text or "：" in text else ()  # every label ends in one
    for label in labels:
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
