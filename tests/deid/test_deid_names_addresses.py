"""Names and addresses where context marks them."""

import pytest

from nuri.deid import Deidentifier

DEID = Deidentifier()


@pytest.mark.parametrize("text,expected", [
    ("성명: 홍길동", "성명: [NAME]"),
    ("성 명 : 김철수 (남)", "성 명 : [NAME] (남)"),
    ("이름：이영희", "이름：[NAME]"),
    ("담당자: 박민수 주무관", "담당자: [NAME] 주무관"),
    ("홍길동 의원이 질의하였다", "[NAME] 의원이 질의하였다"),
    ("(정의화의원 대표발의 )", "([NAME]의원 대표발의 )"),
    ("김철수 씨가 민원을 냈다", "[NAME] 씨가 민원을 냈다"),
    ("남궁민 위원장", "[NAME] 위원장"),
    # Names ending in a particle's syllable are still names.
    ("김지은 대통령", "[NAME] 대통령"), ("박하은 의원이", "[NAME] 의원이"),
])
def test_names_in_context(text, expected):
    assert DEID.redact(text).text == expected


def test_sponsor_list_ends_at_the_next_heading():
    red = DEID.redact("발의자 : 홍길동․김철수\n\n제안이유\n\n이 법은")
    assert red.text == "발의자 : [NAME]․[NAME]\n\n제안이유\n\n이 법은"


def test_sponsor_list_of_a_bill():
    text = "발  의  자 : 정의화․이명수․김을동 \n\n이사철ㆍ여상규·안규백\n\n김학송 의원(10인)\n\n제안이유"
    red = DEID.redact(text)
    assert red.counts == {"NAME": 7}
    assert "제안이유" in red.text and "의원(10인)" in red.text


@pytest.mark.parametrize("text", [
    "국회의원 정수", "지방의회의원 선거", "민주당 의원 다수", "대통령령 제31234호", "해당 의원은",
    "성명서를 발표하였다", "제 출 자 : 정 부", "고객님께 안내", "상임위 위원장", "임용대기자 또는 일용직",
    "15일 이내에 대통령이 공포한다", "②국회는 의원의 자격을 심사하며",
    # A noun and its particle before a title (seen in a model's answer, evaluation of run law-head).
    "① 모든 국민은 대통령의 임기는", "정부가 위원을 위촉한다", "국가도 의원의",
])
def test_name_look_alikes_untouched(text):
    assert DEID.redact(text).text == text


@pytest.mark.parametrize("text,expected", [
    ("주소: 서울특별시 종로구 세종대로 209", "주소: [ADDRESS]"),
    ("주 소 : 경기도 성남시 분당구 판교역로 235, 101동 1203호", "주 소 : [ADDRESS]"),
    ("거주지: 부산 해운대구 우동 1234-5번지 방문", "거주지: [ADDRESS] 방문"),
    ("사무실은 대전광역시 서구 둔산로 100에 있다", "사무실은 [ADDRESS]에 있다"),
    ("제주특별자치도 제주시 문연로 6", "[ADDRESS]"),
    ("서울특별시 종로구 세종대로 209 (세종로, 정부서울청사) 방문", "[ADDRESS] 방문"),
    ("경기도 성남시 분당구 판교역로 159 (장호성의원 대표발의)", "[ADDRESS] ([NAME]의원 대표발의)"),
])
def test_addresses(text, expected):
    assert DEID.redact(text).text == expected


@pytest.mark.parametrize("text", [
    "서울특별시 및 광역시의 경우", "서울특별시 종로구 소재 기관", "이메일 주소: 미기재", "주소를 변경한 경우",
])
def test_address_look_alikes_untouched(text):
    assert DEID.redact(text).text == text
