"""Phone numbers, e-mail and IP addresses."""

import pytest

from nuri.deid import DeidConfig, Deidentifier

DEID = Deidentifier()
# Representative numbers (15xx/16xx/18xx) belong to organisations and are kept
# by default; this ministry setting replaces them as before.
REDACTS_REPRESENTATIVE = Deidentifier(DeidConfig(redact_representative_numbers=True))


@pytest.mark.parametrize("phone", [
    "010-1234-5678", "010 1234 5678", "010.1234.5678", "01012345678", "011-234-5678",
    "+82-10-1234-5678", "+82 10 1234 5678", "+821012345678", "+82 (0)10-1234-5678", "0082-10-1234-5678",
    "02-123-4567", "02-1234-5678", "(02) 123-4567", "02)123-4567", "031-123-4567", "064.712.3456",
    "070-1234-5678", "080-123-4567", "+82-2-123-4567",
])
def test_phone_writings(phone):
    red = DEID.redact(f"연락처는 {phone}입니다.")
    assert red.text == "연락처는 [PHONE]입니다."
    assert red.counts == {"PHONE": 1}


@pytest.mark.parametrize("phone", ["1588-1234", "1577-0001"])
def test_representative_numbers_when_the_ministry_asks(phone):
    red = REDACTS_REPRESENTATIVE.redact(f"연락처는 {phone}입니다.")
    assert red.text == "연락처는 [PHONE]입니다."
    assert red.counts == {"PHONE": 1}


@pytest.mark.parametrize("text", ["1592-1598년 임진왜란", "2024.01.15", "2010.  11.  12.", "1,234,567원",
                                  "02.12.2024", "제1588조"])
def test_phone_look_alikes_untouched(text):
    assert DEID.redact(text).text == text


def test_representative_number_after_phone_word_even_if_year_like():
    assert REDACTS_REPRESENTATIVE.redact("상담 전화 1588-1600").counts == {"PHONE": 1}


def test_year_range_stays_when_representative_numbers_are_redacted():
    assert REDACTS_REPRESENTATIVE.redact("1592-1598년 임진왜란").text == "1592-1598년 임진왜란"


@pytest.mark.parametrize("text", [
    "건강보험공단 고객센터(1577-1000)로 문의", "대표번호 1644-2828", "고객센터 1899-1234", "상담 전화 1588-1600",
    "연락처는 1588-1234입니다.", "☎ 1661-0001", "1800-1234", "1544-3412(평일)",
])
def test_representative_numbers_are_kept(text):
    assert DEID.redact(text).text == text


@pytest.mark.parametrize("text", [
    "보건복지상담센터(국번 없이 129)", "보건복지상담센터 129", "행정복지센터나 129로 알려 주십시오",
    "범죄 신고 112", "화재 신고 119", "정부민원안내콜센터 110", "다산콜센터 120", "서울 02-120",
    "외국인종합안내센터 1345", "여성긴급전화 1366", "고용노동부 1350", "청소년상담 1388",
])
def test_short_public_numbers_are_kept(text):
    assert DEID.redact(text).text == text
    assert REDACTS_REPRESENTATIVE.redact(text).text == text


def test_a_personal_number_beside_a_representative_one_is_still_replaced():
    red = DEID.redact("고객센터 1577-1000, 담당자 휴대전화 010-1234-5678")
    assert red.text == "고객센터 1577-1000, 담당자 휴대전화 [PHONE]"


@pytest.mark.parametrize("email", ["hong@example.com", "gil.dong_99@korea.kr", "a+b@mail.snu.ac.kr",
                                   "USER@Naver.COM"])
def test_email(email):
    red = DEID.redact(f"메일 {email}로 보내 주세요")
    assert red.text == "메일 [EMAIL]로 보내 주세요"


@pytest.mark.parametrize("ip", ["192.168.0.1", "8.8.8.8", "255.255.255.255", "2001:db8::1",
                                "fe80::1ff:fe23:4567:890a", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"])
def test_ip_v4_and_v6(ip):
    red = DEID.redact(f"접속 IP {ip} 차단")
    assert red.text == "접속 IP [IP] 차단"


@pytest.mark.parametrize("text", ["버전 v1.2.3.4 배포", "version 10.0.19041.1", "256.1.1.1", "1.2.3",
                                  "시각 12:30:45", "Python 3.11.4"])
def test_ip_look_alikes_untouched(text):
    assert DEID.redact(text).text == text
