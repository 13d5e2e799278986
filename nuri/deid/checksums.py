"""Check-digit and component validation for Korean identification numbers.

python-stdnum 2.2 covers some of this; where it falls short we say so:

* ``stdnum.kr.rrn`` validates the date, a place-of-birth code <= 96 and the
  check digit. Numbers issued since October 2020 have a random tail (no place
  code, no check digit), so only the date is required, read the way
  ``stdnum.kr.rrn.get_birth_date`` reads it (written out here: it is called for
  every 13-digit candidate and stdnum's version costs ~8 us a call).
* ``stdnum.kr.brn`` checks length and components but has no check digit; the
  National Tax Service check digit is implemented here.
* stdnum has no module for the corporate registration number (법인등록번호) or
  the foreigner registration number (외국인등록번호); both are implemented here.
* ``stdnum.luhn`` is used as is for card numbers.
"""

from __future__ import annotations

import datetime

from stdnum import luhn
from stdnum.kr import brn as stdnum_brn
from stdnum.kr import rrn as stdnum_rrn

# 7th digit: century and gender. 9/0 (born in the 1800s) are left out: nobody
# alive carries them, and leaving them out keeps corporate numbers (which
# often have 0 there) from being read as RRNs.
RRN_GENDER_DIGITS = frozenset("1234")
FOREIGNER_GENDER_DIGITS = frozenset("5678")

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def birth_date_valid(digits: str) -> bool:
    """True when the first six digits, read with the 7th (century) digit, are a past date."""
    if len(digits) != 13 or not digits.isdigit() or digits[6] not in "12345678":
        return False
    century = 1900 if digits[6] in "1256" else 2000  # as stdnum: 1/2/5/6 19xx, 3/4/7/8 20xx
    try:
        born = datetime.date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    return born < datetime.date.today()  # as stdnum: today and later rejected


def _weighted_rrn_sum(digits: str) -> int:
    return sum(w * int(d) for w, d in zip(_RRN_WEIGHTS, digits))


def rrn_checksum_ok(digits: str) -> bool:
    return digits[-1] == stdnum_rrn.calc_check_digit(digits[:-1])


def foreigner_checksum_ok(digits: str) -> bool:
    # Pre-2020 foreigner numbers: same weights, check = (13 - sum % 11) % 10.
    return int(digits[-1]) == (13 - _weighted_rrn_sum(digits[:-1]) % 11) % 10


def is_rrn(digits: str) -> bool:
    """Resident registration number: a real birth date and a 1-4 gender digit."""
    return digits[6:7] in RRN_GENDER_DIGITS and birth_date_valid(digits)


def is_foreigner_rn(digits: str) -> bool:
    """Foreigner registration number: a real birth date and a 5-8 gender digit."""
    return digits[6:7] in FOREIGNER_GENDER_DIGITS and birth_date_valid(digits)


def business_rn_valid(digits: str) -> bool:
    """사업자등록번호: the NTS check digit plus stdnum's component checks (the cheap test first)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(w * int(d) for w, d in zip(weights, digits))
    total += (int(digits[8]) * 5) // 10
    return int(digits[9]) == (10 - total % 10) % 10 and stdnum_brn.is_valid(digits)


_CORPORATE_WEIGHTS = (1, 2) * 6


def corporate_rn_valid(digits: str) -> bool:
    """법인등록번호: 13 digits, weights 1,2,1,2,... over 12, check = (10 - sum % 10) % 10."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    total = sum(w * int(d) for w, d in zip(_CORPORATE_WEIGHTS, digits))
    return int(digits[12]) == (10 - total % 10) % 10


# Registry offices are numbered 11xx-28xx; the 5th-6th digits give the kind
# of corporation (11-15 commercial companies, 21-22 civil-law associations and
# foundations, 31-34 special-law, 41-44 cooperatives, 71 foreign companies,
# 81-86 other). Used only when no "법인" marks the number: a random number
# passes a mod-10 check one time in ten.
_CORPORATE_KINDS = frozenset({11, 12, 13, 14, 15, 21, 22, 31, 32, 33, 34, 41, 42, 43, 44, 71,
                              81, 82, 83, 84, 85, 86})


def corporate_codes_plausible(digits: str) -> bool:
    return 11 <= int(digits[:2]) <= 28 and int(digits[4:6]) in _CORPORATE_KINDS


def card_valid(digits: str) -> bool:
    """Payment card: 15-16 digits, a known issuer prefix and the Luhn check."""
    return (len(digits) in (15, 16) and digits[0] in "345689"
            and luhn.is_valid(digits))
