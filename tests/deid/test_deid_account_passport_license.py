"""Bank accounts (format plus context), passports, driver's licences."""

import pytest

from nuri.deid import Deidentifier

DEID = Deidentifier()


@pytest.mark.parametrize("text", [
    "국민은행 계좌 123456-12-123456로 입금", "신한은행 110-123-456789", "우리은행 1002-123-456789",
    "입금 계좌: 3333-01-1234567 (카카오뱅크)", "농협 301-1234-5678-91 예금주 홍씨", "계좌번호 123456789012",
    "환급금은 110-123-456789 (신한은행)으로",
])
def test_account_with_context(text):
    assert DEID.redact(text).counts == {"ACCOUNT": 1}


@pytest.mark.parametrize("text", ["문서번호 110-123-456789", "계좌 2024-01-15 개설", "은행 1,234,567원"])
def test_account_shape_without_context_or_too_short_untouched(text):
    assert DEID.redact(text).text == text


@pytest.mark.parametrize("passport", ["M12345678", "S98765432", "M123A4567", "R987Z6543"])
def test_passport_old_and_new_formats(passport):
    red = DEID.redact(f"여권번호 {passport}로 출국")
    assert red.text == "여권번호 [PASSPORT]로 출국"


@pytest.mark.parametrize("text", ["모델 XM12345678", "M1234567", "제품 M123A45678"])
def test_passport_look_alikes_untouched(text):
    assert DEID.redact(text).text == text


@pytest.mark.parametrize("licence", ["11-12-345678-90", "28-09-123456-01", "서울 12-345678-90",
                                     "경기남부12-345678-90", "부산 05-654321-11"])
def test_driver_license_numeric_and_region_forms(licence):
    red = DEID.redact(f"운전면허 {licence} 확인")
    assert red.text == "운전면허 [DRIVER_LICENSE] 확인"


def test_driver_license_bare_digits_need_context():
    assert DEID.redact("면허번호 111234567890").counts == {"DRIVER_LICENSE": 1}
    assert DEID.redact("99-12-345678-90").text == "99-12-345678-90"  # no region 99
