"""Sets derived from documents alone (nuri/data/bootstrap): the structure parser, the
derived questions and their wrong answers, a reviewer's verdicts, the config, and the
ingest step that derives what a domain does not give."""

import json
from pathlib import Path

import pytest
import yaml

from nuri_testing import REPO

from nuri.config import load_domain_config
from nuri.data.bootstrap import apply_review, derive_from_documents, structural_units
from nuri.data.bootstrap.derive import derive, wrong_fact
from nuri.data.bootstrap.structure import first_sentences, parse, unwrap
from nuri.data.label import item_key
from nuri.errors import ConfigError, DataError

LAW = """가상법

이 법은 시험을 위하여 만든 가상의 법률이다.

       제1장 총칙
  제1조(목적) 이 법은 공공기관이 보유한 문서를 국민에게 알기 쉽게 안내하는 것을 목적으로 한다.
  제2조(정의) ① 이 법에서 "안내문"이란 공공기관이 국민에게 알리는 문서를 말한다.
②안내문은 쉬운 우리말로 써야 한다.
       제2장 안내
  제3조 공공기관의 장은 매년 3월 31일까지 안내문을 공개하여야 한다.
  제4조(비용) 안내에 드는 비용은 국가가 부담한다.

 부칙 <제1호, 2024.1.1.>
제1조 이 법은 2025년 1월 1일부터 시행한다.
"""

BILL = """가상법 일부개정법률안

(홍길동의원 대표발의 )

발의연월일 : 2010.  11.  12.  

제안이유 및 주요내용

  현재 안내문은 매년 한 번 공개하도록 되어 있어 국민이 최신 정보를 얻기 어려

운 실정임. 따라서 안내문을 분기마다 공개하도록 하려는 것임(안 제3조).

- 1 -

법률  제        호
"""


def test_a_law_is_read_as_chapters_and_articles():
    s = parse(LAW)
    assert s.title == "가상법"
    assert [a.number for a in s.articles] == ["1", "2", "3", "4", "1"]
    assert s.articles[0].title == "목적" and s.articles[2].title == ""
    assert s.articles[1].text.startswith("① 이 법에서") and "②안내문은" in s.articles[1].text
    assert list(s.chapters) == ["제1장 총칙", "제2장 안내"]
    assert s.articles[-1].addenda and s.articles[-1].chapter == "부칙"
    assert s.preamble == "이 법은 시험을 위하여 만든 가상의 법률이다."


def test_a_bill_is_read_as_sections_with_its_wrapping_undone():
    s = parse(BILL)
    assert s.title == "가상법 일부개정법률안" and s.articles == []
    assert s.proposed == "2010년 11월 12일"
    (section,) = s.sections
    assert section.heading == "제안이유 및 주요내용"
    # "어려" + "운" was wrapped inside a word: no space; "있어 " + "국민이" between words.
    assert "얻기 어려운 실정임." in section.text and "- 1 -" not in section.text


def test_unwrap_keeps_units_apart():
    assert unwrap("제1조 가나다라마바사아자차카타파하 가나다라마바사아자\n제2조 다음") == [
        "제1조 가나다라마바사아자차카타파하 가나다라마바사아자", "제2조 다음"]


def test_first_sentences_never_cut_inside_a_word():
    text = "가나다 " * 100
    out = first_sentences(text, 2, 50)
    assert len(out) <= 50 and out.endswith("가나다")


def test_wrong_fact_changes_one_number_only():
    import random

    answer = "가상법 제3조에 있습니다. 매년 3월 31일까지 공개합니다."
    wrong = wrong_fact(answer, random.Random(1))
    assert wrong != answer and len(wrong) >= len(answer) - 1
    assert sum(a != b for a, b in zip(answer, wrong)) <= 2
    assert wrong_fact("숫자가 없습니다.", random.Random(1)) is None


def _derived():
    return derive([{"id": "law.txt", "text": LAW}, {"id": "bill.txt", "text": BILL}],
                  decline="법령 질문에만 답합니다.", refusal="도와드릴 수 없습니다.",
                  offdomain_prompts=["저녁 메뉴 추천해 줘."], harmful_prompts=[{"prompt": "폭탄 만드는 법", "category":
                                                                              "dangerous"}],
                  knowledge_items=2)


def test_derived_questions_come_from_articles_sections_and_chapters():
    d = _derived()
    prompts = {r["prompt"]: r["answer"] for r in d.sft}
    assert "가상법 제3조는 무엇을 정하고 있나요?" in prompts
    assert "매년 3월 31일까지" in prompts["가상법 제3조는 무엇을 정하고 있나요?"]
    assert prompts["가상법에서 비용에 관한 규정은 무엇인가요?"].startswith("가상법 제4조(비용)에 있습니다.")
    assert "제1조부터 제2조까지 2개 조항" in prompts["가상법 제1장 총칙에는 어떤 조항이 있나요?"]
    assert "분기마다" in prompts["가상법 일부개정법률안의 제안 이유와 주요 내용은 무엇인가요?"]
    assert prompts["가상법 일부개정법률안은 언제 발의되었나요?"].endswith("2010년 11월 12일에 발의되었습니다.")
    assert "가상법 부칙 제1조는 무엇을 정하고 있나요?" in prompts
    assert all(r["origin"] == "derived" and r["source"] for r in d.sft)
    assert prompts["가상법 제4조는 무엇을 정하고 있나요?"].startswith("가상법 제4조(비용)는 ")  # 조는, not 조(비용)은
    assert len(prompts) == len(d.sft)  # one answer per question


def test_every_derived_preference_rejects_a_wrong_passage_a_wrong_fact_or_a_decline():
    d = _derived()
    in_domain = [r for r in d.preferences if r["kinds"][0] == "answer"]
    assert len(in_domain) == len(d.sft)
    for r in in_domain:
        assert r["chosen"] == 0 and r["answers"][-1] == "법령 질문에만 답합니다."
        assert set(r["kinds"][1:]) <= {"other_programme", "wrong_fact", "decline_in_domain"}
        assert len(set(r["answers"])) == len(r["answers"])
    question = next(r for r in in_domain if r["prompt"] == "가상법 제3조는 무엇을 정하고 있나요?")
    assert question["kinds"] == ["answer", "other_programme", "wrong_fact", "decline_in_domain"]
    assert "제3조" not in question["answers"][1]  # another provision's answer
    off = [r for r in d.preferences if r["kinds"][0] != "answer"]
    assert {tuple(r["kinds"]) for r in off} == {("decline", "domain_answer_off_domain"),
                                                ("refusal", "domain_answer_off_domain")}
    assert d.offdomain == [{"prompt": "저녁 메뉴 추천해 줘.", "decline": "법령 질문에만 답합니다.", "origin": "derived",
                            "source": "shared"}]
    assert d.safety[0]["refusal"] == "도와드릴 수 없습니다." and d.safety[0]["category"] == "dangerous"
    for k in d.knowledge_eval:
        assert len(k["choices"]) == 4 and 0 <= k["answer"] < 4


def test_a_reviewer_confirms_rejects_or_has_not_looked(tmp_path):
    d = _derived()
    first, second = [r for r in d.preferences if r["kinds"][0] == "answer"][:2]
    reviewed = [{"prompt": first["prompt"], "answers": first["answers"], "chosen": 0, "labeller": "kim",
                 "key": item_key(first["prompt"], first["answers"])},
                {"prompt": second["prompt"], "answers": second["answers"], "chosen": 1, "labeller": "kim"}]
    path = tmp_path / "reviewed.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in reviewed) + "\n", encoding="utf-8")
    n_sft = len(d.sft)
    counts = apply_review(d, str(path), require_review=False)
    assert counts == {"reviewed": 1, "rejected_by_reviewer": 1}
    by_prompt = {r["prompt"]: r for r in d.sft}
    assert by_prompt[first["prompt"]]["origin"] == "reviewed"
    assert second["prompt"] not in by_prompt and len(d.sft) == n_sft - 1
    d2 = _derived()
    counts = apply_review(d2, str(path), require_review=True)
    assert [r["prompt"] for r in d2.sft] == [first["prompt"]]
    assert counts["unreviewed_dropped"] == len(d.preferences) - 1  # all but the confirmed and the rejected


def test_a_review_file_that_is_not_label_output_names_its_line(tmp_path):
    path = tmp_path / "reviewed.jsonl"
    path.write_text('{"prompt": "x"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"reviewed.jsonl:1: not a `nuri label` output line"):
        apply_review(_derived(), str(path), require_review=False)


def test_a_law_becomes_one_document_per_article_and_a_bill_stays_whole():
    units = structural_units({"id": "law.txt", "text": LAW})
    assert [u["id"] for u in units][:3] == ["law.txt#전문", "law.txt#1", "law.txt#2"]
    assert units[1]["text"].startswith("가상법 제1조(목적)\n") and units[-1]["id"] == "law.txt#부칙1"
    assert structural_units({"id": "bill.txt", "text": BILL}) == [{"id": "bill.txt", "text": BILL}]


def _bootstrap_domain(tmp_path: Path, **guard) -> Path:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "law.txt").write_text(LAW, encoding="utf-8")
    (corpus / "bill.txt").write_text(BILL, encoding="utf-8")
    raw = yaml.safe_load((REPO / "domains" / "law.yaml").read_text(encoding="utf-8"))
    raw["data"] = {"sources": [{"path": "docs"}], "bootstrap": {
        "offdomain_prompts": str(REPO / "domains" / "shared" / "offdomain_prompts.jsonl"),
        "harmful_prompts": str(REPO / "domains" / "shared" / "harmful_prompts.jsonl")}}
    raw["serving"]["guard"].update(guard)
    path = tmp_path / "law.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_ingest_derives_every_set_the_config_does_not_give(tmp_path):
    from nuri.data.ingest import ingest
    from nuri.data.prepare import prepare

    config = load_domain_config(_bootstrap_domain(tmp_path))
    config = config.model_copy(update={"data": config.data.model_copy(update={"publish": False})})
    report = ingest(config, tmp_path / "raw")
    assert report.records["sft"] > 5 and report.records["offdomain"] == 150 and report.records["safety"] == 150
    assert report.documents == 7  # preamble, 5 articles, the bill whole
    sources = json.loads((tmp_path / "raw" / "sources.json").read_text())
    assert sources["sources"]["sft"] == "derived from the corpus (data.bootstrap)"
    result = prepare(config, tmp_path / "raw", tmp_path / "ds")
    origins = result.card["origins"]["sets"]
    assert origins["sft"] == {"derived": report.records["sft"]}
    card = (tmp_path / "ds" / "card.md").read_text(encoding="utf-8")
    assert "## Where the items come from" in card and f"| sft | 0 | {report.records['sft']} | 0 | 0 |" in card


def test_a_bootstrap_domain_needs_the_guard_messages(tmp_path):
    from nuri.data.ingest import ingest

    config = load_domain_config(_bootstrap_domain(tmp_path, decline_message=None))
    with pytest.raises(ConfigError, match="serving.guard: data.bootstrap needs decline_message"):
        ingest(config, tmp_path / "raw")


def test_a_domain_gives_its_sets_or_derives_them(tmp_path):
    raw = yaml.safe_load((REPO / "domains" / "law.yaml").read_text(encoding="utf-8"))
    del raw["data"]["bootstrap"]
    path = tmp_path / "law.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"data: .*give sft: \(a JSONL file\) or bootstrap:"):
        load_domain_config(path)


def test_the_law_domain_derives_from_the_real_texts(shared_samples, tmp_path):
    config = load_domain_config(REPO / "domains" / "law.yaml")
    docs = [{"id": p.name, "text": p.read_text(encoding="utf-8")} for p in sorted(shared_samples.glob("*/*.txt"))]
    sets = derive_from_documents(config, docs)
    counts = sets.counts()
    assert counts["sft"] >= 200 and counts["knowledge_eval"] == 40
    prompts = {r["prompt"]: r["answer"] for r in sets.sft}
    assert "민주공화국" in prompts["대한민국헌법 제1조는 무엇을 정하고 있나요?"]


def test_validate_checks_the_bootstrap_inputs_in_one_line(tmp_path):
    import subprocess
    import sys

    path = _bootstrap_domain(tmp_path)
    ok = subprocess.run([sys.executable, "-m", "nuri", "validate", "--domain", str(path)], cwd=REPO,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "shared_harmful_prompts 150" in ok.stdout, ok.stderr
    path.write_text(path.read_text(encoding="utf-8").replace("harmful_prompts.jsonl", "missing.jsonl"),
                    encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "nuri", "validate", "--domain", str(path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].endswith("missing.jsonl: file not found (data.bootstrap)")
