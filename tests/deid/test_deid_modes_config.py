"""Replacement modes, the pseudonym key, ministry terms and patterns, config validation, counts."""

import pytest
from pydantic import ValidationError

from nuri.deid import DeidConfig, Deidentifier, PseudonymKeyMissing, deidentify

TEXT = "성명: 홍길동, 연락처 010-1234-5678, 메일 hong@example.com"
VALUES = ["홍길동", "010-1234-5678", "1234", "5678", "hong@example.com"]


def test_placeholder_is_the_default():
    red = deidentify(TEXT)
    assert red.text == "성명: [NAME], 연락처 [PHONE], 메일 [EMAIL]"
    assert red.counts == {"NAME": 1, "PHONE": 1, "EMAIL": 1}


def test_mask_keeps_length():
    red = deidentify(TEXT, DeidConfig(mode="mask"))
    assert len(red.text) == len(TEXT)
    assert red.text == "성명: ***, 연락처 *************, 메일 ****************"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("NURI_PSEUDONYM_KEY", "test-secret-key-0123456789")
    return "test-secret-key-0123456789"


def test_pseudonym_same_value_same_token_across_documents(key):
    deid = Deidentifier(DeidConfig(mode="pseudonym"))
    a = deid.redact("연락처 010-1234-5678")
    b = deid.redact("다시 010 1234 5678 으로, 다른 번호 010-9999-8888")
    token = a.text.removeprefix("연락처 ")
    assert token.startswith("[PHONE_") and token in b.text
    assert b.text.count("[PHONE_") == 2 and b.text.split()[1] != b.text.split()[5]
    # A second Deidentifier with the same key (another worker) agrees.
    assert Deidentifier(DeidConfig(mode="pseudonym")).redact("010-1234-5678").text == token


def test_pseudonym_depends_on_the_key(key, monkeypatch):
    first = deidentify("010-1234-5678", DeidConfig(mode="pseudonym")).text
    monkeypatch.setenv("NURI_PSEUDONYM_KEY", "another-key")
    assert deidentify("010-1234-5678", DeidConfig(mode="pseudonym")).text != first


def test_pseudonym_key_never_in_output_or_repr(key):
    deid = Deidentifier(DeidConfig(mode="pseudonym"))
    red = deid.redact(TEXT)
    assert key not in red.text and key not in repr(deid) and key not in repr(red)
    assert key not in repr(deid.config.model_dump())


def test_pseudonym_key_missing_is_a_clear_one_line_error(monkeypatch):
    monkeypatch.delenv("MINISTRY_KEY", raising=False)
    with pytest.raises(PseudonymKeyMissing) as exc:
        Deidentifier(DeidConfig(mode="pseudonym", pseudonym_key_env="MINISTRY_KEY"))
    message = str(exc.value)
    assert "MINISTRY_KEY" in message and "\n" not in message


def test_counts_never_contain_values():
    red = deidentify(TEXT)
    dumped = repr(red.counts)
    assert not any(v in dumped for v in VALUES)
    assert all(isinstance(n, int) for n in red.counts.values())


def test_ministry_terms_and_patterns():
    config = DeidConfig(
        sensitive_terms=["청해부대", "Project Haneul"],
        sensitive_patterns=[{"name": "case_no", "regex": r"사건\s?\d{4}-\d{3,6}"}],
    )
    red = deidentify("청해부대 파견, project haneul 문서, 사건 2024-12345 참조", config)
    assert red.text == "[SENSITIVE] 파견, [SENSITIVE] 문서, [CASE_NO] 참조"
    assert red.counts == {"SENSITIVE": 2, "CASE_NO": 1}


def test_types_restricts_detection():
    red = deidentify(TEXT, DeidConfig(types=["PHONE"]))
    assert red.counts == {"PHONE": 1}
    assert "홍길동" in red.text


def test_config_rejects_unknown_fields_and_types():
    with pytest.raises(ValidationError):
        DeidConfig(mdoe="mask")
    with pytest.raises(ValidationError, match="unknown de-identification types"):
        DeidConfig(types=["RRN", "SSN"])


def test_bad_ministry_regex_error_names_the_pattern():
    with pytest.raises(ValidationError, match="bad_one"):
        DeidConfig(sensitive_patterns=[{"name": "good", "regex": "a+"}, {"name": "bad_one", "regex": "(unclosed"}])


def test_config_from_yaml_mapping():
    import yaml
    raw = yaml.safe_load("mode: mask\nsensitive_terms: [특수임무]\n")
    assert deidentify("특수임무 수행", DeidConfig.model_validate(raw)).text == "**** 수행"


def test_overlapping_detections_longest_wins():
    # The address contains a number shaped like other things; one span is replaced.
    red = deidentify("주소: 서울특별시 종로구 세종대로 209, 101동 1203호")
    assert red.counts == {"ADDRESS": 1}


def test_redact_documents_streams_with_running_totals():
    from collections import Counter

    from nuri.deid import BadInput, redact_documents

    totals = Counter()
    lines = ['{"id": 1, "text": "010-1234-5678"}\n', "\n", '{"id": 2, "text": "a@b.com, c@d.org"}\n']
    stream = redact_documents(lines, jsonl=True, totals=totals)
    assert next(stream) == '{"id": 1, "text": "[PHONE]"}'
    assert totals == {"PHONE": 1}  # updated as documents go by
    assert list(stream) == ['{"id": 2, "text": "[EMAIL], [EMAIL]"}']
    assert totals == {"PHONE": 1, "EMAIL": 2}
    assert list(redact_documents(["가 010-1234-5678\r\n", "나\n"], jsonl=False)) == ["가 [PHONE]", "나"]
    with pytest.raises(BadInput) as exc:
        list(redact_documents(['{"text": 1}\n'], jsonl=True))
    assert exc.value.line_no == 1
