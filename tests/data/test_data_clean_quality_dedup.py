"""Cleaning, quality heuristics and de-duplication, directly."""

from nuri.data.clean import clean_text, korean_ratio, normalise, remove_boilerplate, strip_html, strip_markdown
from nuri.data.config import CleaningConfig
from nuri.data.dedup import Deduplicator
from nuri.data.quality import quality_reason

C = CleaningConfig()
GOOD = ("기초연금은 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신에게 매달 지급되는 연금입니다. "
        "신청은 주소지 행정복지센터나 국민연금공단 지사에서 할 수 있으며 신분증과 통장 사본이 필요합니다.")


LONGER = ("소득인정액은 월 소득평가액과 재산의 월 소득환산액을 합산한 금액이며, 근로소득에서는 기본 공제액을 뺀 "
          "뒤 30%를 추가로 공제합니다. 선정기준액은 매년 보건복지부 장관이 고시하며 배우자가 있는 부부가구는 "
          "단독가구 기준액의 160%가 적용됩니다. 국민연금을 받는 분은 연금액에 따라 기초연금이 일부 감액될 수 있고, "
          "부부가 모두 받는 경우에도 각각 20%가 감액됩니다.")


def test_normalise_nfc_controls_spaces():
    decomposed = "\u1100\u1161\u11a8"  # 각 in jamo
    assert normalise(f"  {decomposed}\u200b  A\u3000B \r\n\r\n\r\nC ") == "각 A B\n\nC"


def test_markup_and_boilerplate_removed():
    assert strip_html("<p>복지&amp;안내</p><script>x()</script><br>끝") == "복지&안내\n\n끝"
    assert strip_markdown("# 제목\n**굵게** [링크](http://x)") == "제목\n굵게 링크"
    text, dropped = remove_boilerplate("본문입니다\n무단 전재 및 재배포 금지\n이전글\n- 3 -", C.boilerplate_patterns)
    assert text == "본문입니다" and dropped == 3
    cleaned, n = clean_text("<div>안내</div>\nCopyright 2024 보건복지부", boilerplate=C.boilerplate_patterns)
    assert cleaned == "안내" and n == 1


def test_quality_reasons():
    assert quality_reason(GOOD, C) is None
    assert quality_reason("", C) == "empty"
    assert quality_reason("짧은 글", C) == "too_short"
    assert quality_reason("This is an English notice about pensions for older people. " * 3, C) == "not_korean"
    assert quality_reason("복지 ▶▶▶ ★★★ ■■■ ◆◆◆ ※※※ ◎◎◎ ●●● " * 5, C) == "too_many_symbols"
    assert quality_reason("\n".join(["같은 줄이 반복됩니다 복지 안내"] * 10 + ["다른 줄"]), C) == "repeated_lines"
    assert quality_reason("지금 바로 신청하세요 " * 30, C) == "repeated_ngrams"
    assert quality_reason("This is English text only, written for a test.", C, check_language=False) is None
    assert 0.99 < korean_ratio(GOOD) <= 1.0


def test_exact_and_near_duplicates():
    d = Deduplicator(threshold=0.8, num_perm=64)
    long = GOOD + " " + LONGER
    assert d.check("a", long) is None
    assert d.check("b", long) == ("exact_duplicate", "a")
    near = long.replace("매달", "매월")  # one word of ~70 changed
    assert d.check("c", near) == ("near_duplicate", "a")
    other = "아동수당은 8세 미만 모든 아동에게 월 10만 원을 지급하는 제도로 부모의 소득과 관계없이 받을 수 있습니다."
    assert d.check("d", other) is None


def test_near_dup_off_keeps_near_copies():
    d = Deduplicator(near=False)
    assert d.check("a", GOOD) is None and d.check("c", GOOD.replace("매달", "매월")) is None
