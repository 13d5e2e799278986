"""Names where public documents put them (officials, applicants, sponsors, signatories), and the
words around them that must stay: titles alone, nouns after a label, programme names."""

from pathlib import Path

import pytest

from nuri.deid import Deidentifier
from nuri.deid.synthetic import LOOKALIKE_CATEGORIES, lookalikes

DEID = Deidentifier()
CORPUS = Path(__file__).resolve().parents[2] / "domains" / "welfare" / "data" / "corpus"


@pytest.mark.parametrize("text,expected", [
    # Officials: the title after the name may carry a two-syllable particle.
    ("담당자 김민수 주무관에게 문의하세요", "담당자 [NAME] 주무관에게 문의하세요"),
    ("담당: 복지정책과 이영희 사무관", "담당: 복지정책과 [NAME] 사무관"),
    ("홍길동 과장님께서 설명하였다", "[NAME] 과장님께서 설명하였다"),
    ("박지성 팀장으로 교체", "[NAME] 팀장으로 교체"),
    ("상담자: 홍상승 복지상담관", "상담자: [NAME] 복지상담관"),
    ("이영희 사회복지주무관이 방문하였다", "[NAME] 사회복지주무관이 방문하였다"),
    ("류하은 맞춤형복지팀장", "[NAME] 맞춤형복지팀장"),
    ("김한승 통합사례관리사", "[NAME] 통합사례관리사"),
    ("제보를 받은 배순태 찾아가는 보건복지 전담공무원이", "제보를 받은 [NAME] 찾아가는 보건복지 전담공무원이"),
    ("홍길동 이사장", "[NAME] 이사장"),
    # Applicants and other roles, with or without a colon.
    ("신청인 홍길동", "신청인 [NAME]"),
    ("신청인 홍길동 (인)", "신청인 [NAME] (인)"),
    ("신청인 홍길동이 제출한 서류", "신청인 [NAME]이 제출한 서류"),
    ("[상담 기록] 신청인 홍길동 (주민등록번호 생략)", "[상담 기록] 신청인 [NAME] (주민등록번호 생략)"),
    ("민원인 김철수 씨가 방문하였다", "민원인 [NAME] 씨가 방문하였다"),
    ("민원인 정보: 노윤동 / 회신 요청", "민원인 정보: [NAME] / 회신 요청"),
    ("대상자 김민수(만 72세)", "대상자 [NAME](만 72세)"),
    ("신청인 성명: 남상경, 주민등록번호 생략", "신청인 성명: [NAME], 주민등록번호 생략"),
    ("신청인 남궁민수 귀하", "신청인 [NAME] 귀하"),
    # Sponsors of bills, alone or listed before one title.
    ("대표발의 홍길동 의원", "대표발의 [NAME] 의원"),
    ("홍길동 의원 대표발의", "[NAME] 의원 대표발의"),
    ("홍길동ㆍ김철수 의원 등 10인", "[NAME]ㆍ[NAME] 의원 등 10인"),
    ("홍길동·김철수·이영희 의원", "[NAME]·[NAME]·[NAME] 의원"),
    ("공동발의 홍길동, 김철수 의원 등 12인", "공동발의 [NAME], [NAME] 의원 등 12인"),
    ("남궁민수 의원", "[NAME] 의원"),
    # Signatories.
    ("서명: 홍길동", "서명: [NAME]"),
    ("위 신청인 홍길동 (서명 또는 인)", "위 신청인 [NAME] (서명 또는 인)"),
    ("김구 (인)", "[NAME] (인)"),
    ("확인자 이순신(서명)", "확인자 [NAME](서명)"),
])
def test_names_in_public_document_contexts(text, expected):
    assert DEID.redact(text).text == expected


@pytest.mark.parametrize("text", [
    # Nouns after a role label.
    "담당자 배정", "담당자 배정 후 안내한다", "담당자 지정 및 변경", "담당자 교육자료", "담당자에게 문의하십시오",
    "신청인 본인이 직접 방문", "신청인 정보를 입력하십시오", "신청인 가구의 소득", "신청인 명의로 된 계좌",
    "담당자 연락처 (대표번호)", "신청인 배우자의 소득", "보호자: 부모", "대상자: 노인", "신청인 (서명 또는 인)",
    "작성자 (인)", "서명 날인", "이름 없는 영웅", "민원인 안내문",
    # Titles with no name.
    "주무관", "담당 주무관에게 문의하세요", "해당 사무관이 검토한다", "사무관 승진 심사", "팀장 회의에서 결정",
    "복지정책과장 전결", "과장님께서 결재하셨다", "보건복지부 사회복지주무관", "사회복지 전담공무원이 방문한다",
    "상임위원장", "위원회", "시설 관리사무소",
    # Programme names and everyday words that contain a title.
    "방문요양", "방문요양, 방문목욕, 방문간호", "장기요양 등급", "노인장기요양보험", "노인복지사업", "홍보용 노인복지사업",
    "국민취업지원제도", "희망두배 청년통장", "가운데 군 복무 중인 자녀", "남구로 이사 온 뒤", "동대문구청장 명의",
    "주식 시장에서", "해군 복무", "기초연금 관련 문의시군요",
])
def test_public_document_look_alikes_untouched(text):
    assert DEID.redact(text).text == text


def test_no_name_placeholder_glued_to_a_word():
    # "방문요양" once became "[NAME]양": the honorific 양 needs a space before it.
    red = DEID.redact("노인장기요양보험은 방문요양, 방문목욕을 지원한다. 김민지 양이 신청하였다.")
    assert red.text == "노인장기요양보험은 방문요양, 방문목욕을 지원한다. [NAME] 양이 신청하였다."


def test_account_word_in_a_programme_name_does_not_make_a_code_an_account():
    text = "희망저축계좌 관련 문의 (접수번호 3AA-2480-512929)"
    assert DEID.redact(text).text == text
    assert DEID.redact("희망저축계좌 입금 계좌 110-123-456789").counts == {"ACCOUNT": 1}


@pytest.mark.parametrize("category", LOOKALIKE_CATEGORIES)
def test_generated_look_alikes_untouched(category):
    items = [text for c, text in lookalikes(600, seed=5) if c == category]
    assert items
    changed = [text for text in items if DEID.redact(text).text != text]
    assert not changed, f"{len(changed)} of {len(items)} {category} look-alikes changed"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"sample corpus not found at {CORPUS}")
def test_sample_corpus_keeps_programme_names_and_public_numbers():
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        red = DEID.redact(text).text
        assert "[NAME]양" not in red and "[NAME]군" not in red, path.name
        for kept in ("방문요양", "장기요양", "국번 없이 129", "1577-1000", "1600-1004"):
            assert red.count(kept) == text.count(kept), (path.name, kept)
