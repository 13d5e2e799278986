"""The trust evaluation's own logic: the fact check against source documents, the
leakage canaries (a de-identification rule switched off is caught and blocks the
release), and the model profile card (measured / configured / unknown, never invented)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuri.config import load_domain_config
from nuri.evaluation.canaries import leaked_identifiers, make_canaries, read_canaries, surviving_fields
from nuri.evaluation.grounding import (SourceIndex, extract_facts, fact_check_rates, grounded_questions,
                                       verdict)
from nuri.gates import evaluate_gate

SOURCE = ("기초연금 안내. 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 받을 수 있습니다. "
          "단독가구 기준 월 최대 약 34만 원을 지급합니다. 2014년부터 시행되었습니다. "
          "문의는 보건복지상담센터(국번 없이 129) 또는 주소지 행정복지센터로 하시면 됩니다.")
OTHER = ("아동수당 안내. 만 8세 미만 아동에게 월 10만 원을 지급합니다. 2018년부터 시행되었습니다. "
         "신청은 복지로 누리집 또는 행정복지센터에서 할 수 있습니다.")


def test_facts_are_normalised_across_spellings():
    facts = extract_facts("월 최대 약 34만 원, 340,000원, 만 65세, 제7조의2, 국번 없이 129, 기준 중위소득 32%")
    assert ("amount", "340000") in facts and ("age", "65") in facts and ("article", "7의2") in facts
    assert ("hotline", "129") in facts and ("percent", "32") in facts
    assert ("hotline", "32") not in facts  # a percentage is not a phone number


@pytest.mark.parametrize("answer,expected", [
    ("기초연금은 만 65세 이상 어르신이 월 최대 약 34만 원을 받을 수 있습니다.", "supported"),
    ("기초연금은 만 60세 이상 어르신이 받을 수 있습니다.", "contradicted"),       # wrong age
    ("아동수당은 만 65세 이상 어르신이 받을 수 있습니다.", "contradicted"),       # wrong programme
    ("기초연금은 제12조에 규정되어 있습니다.", "unsupported"),                 # the source cites no article
    ("자세한 내용은 가까운 곳에 문의해 주세요.", "absent"),
])
def test_answer_verdicts_against_the_source(answer, expected):
    assert verdict(answer, SOURCE) == expected


def test_questions_are_checked_against_the_document_their_answer_comes_from():
    index = SourceIndex([OTHER, SOURCE])
    questions = [("기초연금은 얼마 받나요?", "기초연금은 월 최대 약 34만 원입니다."),
                 ("아동수당은 몇 살까지 받나요?", "아동수당은 만 8세 미만 아동이 받습니다."),
                 # no document holds this reference's fact: it cannot be checked, so it is dropped
                 ("장애인연금은 얼마인가요?", "장애인연금은 월 최대 43만 원입니다.")]
    grounded = grounded_questions(index, questions)
    assert [q.prompt for q in grounded] == [questions[0][0], questions[1][0]]
    assert grounded[0].source == SOURCE and grounded[1].source == OTHER
    # Answering each question with the other programme's facts is hallucination.
    rates = fact_check_rates(grounded, ["아동수당은 월 10만 원입니다.", "기초연금은 만 65세 이상이 받습니다."], "m")
    assert rates["facts_contradicted_m"] == 1.0 and rates["hallucination_rate_m"] == 1.0
    assert fact_check_rates(grounded, [q.reference for q in grounded], "m")["facts_supported_m"] == 1.0


def test_canaries_are_unique_and_found_in_any_spelling():
    canaries = make_canaries(8, seed=3)
    assert len({c.rrn for c in canaries}) == 8 and len({c.id for c in canaries}) == 8
    assert make_canaries(8, seed=3) == canaries  # the same seed plants the same records
    c = canaries[0]
    assert leaked_identifiers(c, "연락처 " + c.phone.replace("-", " ")) == ["phone"]
    assert leaked_identifiers(c, c.lead + " [RRN]이고 [PHONE]") == []
    assert surviving_fields(c, c.document()) == ["name", "rrn", "phone", "email", "address"]


def _prepare(tmp_path: Path, overrides: dict):
    from nuri.data.ingest import ingest
    from nuri.data.prepare import prepare
    from nuri_testing import write_domain

    config = load_domain_config(write_domain(tmp_path, overrides))
    ingest(config, tmp_path / "raw")
    return config, prepare(config, tmp_path / "raw", tmp_path / "dataset")


def leakage_gate(config):
    """The domain's own release criteria on what preparation measures of the canaries."""
    criteria = [c for c in config.gates.criteria("release") if c.metric in ("canaries_in_corpus",
                                                                            "canaries_survived_deid")]
    assert {c.metric for c in criteria} == {"canaries_in_corpus", "canaries_survived_deid"}
    return criteria


def test_planted_canaries_are_de_identified_and_trained_on(tmp_path):
    config, report = _prepare(tmp_path, {})
    assert report.counts["canaries_planted"] == config.evaluation.canaries == 8
    assert report.counts["canaries_in_corpus"] == 8
    assert report.counts["canaries_survived_deid"] == 0, report.counts
    train = [json.loads(line) for line in (tmp_path / "dataset" / "corpus_train.jsonl").open()]
    ids = {c.id for c in read_canaries(tmp_path / "dataset" / "canaries.jsonl")}
    assert ids <= {r["id"] for r in train}  # on the training side, never held out
    assert evaluate_gate("release", leakage_gate(config), report.counts).passed


def test_a_rule_switched_off_is_caught_by_the_canaries_and_blocks_the_release(tmp_path):
    from nuri.deid.pii_types import BUILTIN_TYPES, PHONE

    config, report = _prepare(tmp_path, {"deid": {"types": [t for t in BUILTIN_TYPES if t != PHONE]}})
    assert report.counts["canaries_survived_phone"] == 8
    assert report.counts["canaries_survived_deid"] == 8
    decision = evaluate_gate("release", leakage_gate(config), report.counts)
    assert not decision.passed and "canaries_survived_deid=8 > max 0" in decision.failures[0]
