"""Registration numbers, cards: detected in several writings; impossible ones untouched."""

import pytest

from nuri.deid import Deidentifier

DEID = Deidentifier()


def redact(text):
    return DEID.redact(text)


@pytest.mark.parametrize("text", [
    "주민등록번호 951119-1458687 입니다",
    "주민번호:9511191458687",
    "번호 951119 - 1458687 확인",
    "090812-4830844",            # born 2009, gender digit 4
    "(500226-1316232)",
])
def test_rrn_found_in_several_writings(text):
    red = redact(text)
    assert red.counts == {"RRN": 1}
    assert "[RRN]" in red.text and "1458687" not in red.text


def test_rrn_issued_since_2020_needs_no_check_digit():
    # Since October 2020 the tail is random: a real date and gender digit suffice.
    for last in "0123456789":
        assert redact(f"주민등록번호 201105-301234{last}").counts == {"RRN": 1}


@pytest.mark.parametrize("text", [
    "991332-1234567",   # month 13
    "990230-1234567",   # 30 February
    "990101-9234567",   # gender digit 9 (born in the 1800s: nobody alive)
    "12345678901234",   # 14 digits, not 13
])
def test_impossible_rrn_untouched(text):
    assert redact(text).text == text


def test_foreigner_registration_number():
    red = redact("외국인등록번호 910628-5958371, 590611-5238655")
    assert red.counts == {"FOREIGNER_RN": 2}


@pytest.mark.parametrize("text", ["사업자등록번호 116-82-00276", "사업자 989-99-63814", "사업자번호: 1348672683",
                                  "사업자등록번호 264 98 11791"])
def test_business_rn_found(text):
    assert redact(text).counts == {"BUSINESS_RN": 1}


@pytest.mark.parametrize("text", ["번호 116-82-00277",          # check digit off by one
                                  "코드 1348672683 참조"])       # bare 10 digits, no 사업자 context
def test_business_rn_invalid_or_without_context_untouched(text):
    assert redact(text).text == text


def test_corporate_rn_with_context_and_checksum():
    assert redact("법인등록번호 110111-0012346").counts == {"CORPORATE_RN": 1}
    assert redact("법인번호: 1201120002327").counts == {"CORPORATE_RN": 1}
    # "법인" wins over an RRN reading of the same digits.
    assert redact("법인등록번호 171111-0274539").counts == {"CORPORATE_RN": 1}


def test_corporate_rn_bad_checksum_untouched():
    assert redact("법인등록번호 110111-0012345").text == "법인등록번호 110111-0012345"


@pytest.mark.parametrize("text", [
    "카드 9538-3236-4056-2243", "카드 9538 3236 4056 2243", "카드번호 9538323640562243",
    "아멕스 3749-909514-54750", "6204056086569079로 결제",
])
def test_card_found_in_several_writings(text):
    red = redact(text)
    assert red.counts == {"CARD": 1}
    assert "[CARD]" in red.text


@pytest.mark.parametrize("text", ["카드 9538-3236-4056-2244", "주문 1234-5678-9012-3456"])
def test_card_failing_luhn_untouched(text):
    assert redact(text).text == text
