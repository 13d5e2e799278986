"""Ingest and prepare on the bundled sample domain and on real Korean public text."""

import json
import re
import shutil

import pytest

from nuri_testing import write_domain
from nuri.config import load_domain_config
from nuri.data.ingest import ingest
from nuri.data.prepare import is_heldout, normalise, prepare
from nuri.errors import DataError

RRN = re.compile(r"\d{6}-[1-4]\d{6}")
MOBILE = re.compile(r"01[016789]-?\d{3,4}-?\d{4}")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("data")
    config = load_domain_config(write_domain(tmp))
    raw_report = ingest(config, tmp / "raw")
    report = prepare(config, tmp / "raw", tmp / "dataset")
    return config, tmp, raw_report, report


def test_ingest_reads_every_source(prepared):
    _, tmp, raw, _ = prepared
    assert raw.documents > 500
    assert set(raw.records) >= {"sft", "preferences", "safety", "offdomain", "knowledge_eval"}
    sources = json.loads((tmp / "raw" / "sources.json").read_text())
    assert len(sources["sha256"]["documents.jsonl"]) == 64


def test_prepare_removes_duplicates_and_personal_data(prepared):
    _, tmp, raw, report = prepared
    assert report.removed.get("exact_duplicate", 0) > 0
    assert report.counts["corpus_train"] + report.counts["corpus_heldout"] + sum(report.removed.values()) == raw.documents
    assert report.pii.get("RRN", 0) > 0 and report.pii.get("PHONE", 0) > 0 and report.pii.get("EMAIL", 0) > 0
    for name in ("corpus_train.jsonl", "corpus_heldout.jsonl", "sft_train.jsonl", "pairs_train.jsonl"):
        text = (tmp / "dataset" / name).read_text(encoding="utf-8")
        assert not RRN.search(text), name
        assert not MOBILE.search(text), name
        assert "@example." not in text, name


def test_dataset_version_is_content_addressed(prepared, tmp_path):
    config, tmp, _, report = prepared
    again = prepare(config, tmp / "raw", tmp_path / "again")
    assert again.version == report.version
    card = json.loads((tmp / "dataset" / "card.json").read_text())
    assert card["version"] == report.version and card["pii_redacted"] == report.pii
    # Counts only: the card never holds a redacted value.
    assert not RRN.search((tmp / "dataset" / "card.md").read_text())


def test_heldout_split_is_stable_and_roughly_sized(prepared):
    _, _, _, report = prepared
    share = report.counts["corpus_heldout"] / (report.counts["corpus_train"] + report.counts["corpus_heldout"])
    assert 0.04 < share < 0.2
    assert is_heldout("같은 문서", 0.1) == is_heldout("같은 문서", 0.1)


def test_heldout_pairs_ask_unseen_prompts(prepared):
    _, tmp, _, _ = prepared
    train = {json.loads(line)["prompt"] for line in open(tmp / "dataset" / "pairs_train.jsonl", encoding="utf-8")}
    held = {json.loads(line)["prompt"] for line in open(tmp / "dataset" / "pairs_heldout.jsonl", encoding="utf-8")}
    assert held and not (train & held)


def test_sft_trains_a_share_of_domain_questions_after_retrieved_passages(prepared):
    config, tmp, _, report = prepared
    rows = [json.loads(line) for line in open(tmp / "dataset" / "sft_train.jsonl", encoding="utf-8")]
    held = [json.loads(line) for line in open(tmp / "dataset" / "sft_heldout.jsonl", encoding="utf-8")]
    context = [r for r in rows if r["category"] == "domain_context"]
    domain = [r for r in rows if r["category"] == "domain"]
    assert report.counts["sft_with_retrieved_context"] == len(context)
    share = config.serving.retrieval.sft_fraction
    assert 0.5 * share < len(context) / len(domain) < 1.5 * share
    questions = {r["prompt"] for r in domain}
    canaries = {json.loads(line)["id"] for line in open(tmp / "dataset" / "canaries.jsonl", encoding="utf-8")}
    for r in context:
        head, question = r["prompt"].split("\n\n질문: ")
        assert head.startswith("참고 자료:\n[1] ") and question in questions  # the same question, after its passages
        assert not any(c.upper() in head for c in canaries)
    # Held-out prompts stay plain: the evaluation asks them as users do.
    assert not [r for r in held if r["category"] == "domain_context"]


def test_normalise_keeps_korean_punctuation():
    assert normalise("  정의화\u2024이명수\u200b  의원 \r\n\r\n\r\n\r\n대표발의 ") == "정의화\u2024이명수 의원\n\n대표발의"


def test_real_bills_sponsor_names_are_redacted(tmp_path, shared_samples):
    corpus = tmp_path / "bills"
    shutil.copytree(shared_samples / "kobill", corpus)
    config = load_domain_config(write_domain(tmp_path, {"data": {"corpus": str(corpus)}}))
    ingest(config, tmp_path / "raw")
    report = prepare(config, tmp_path / "raw", tmp_path / "dataset")
    assert report.pii.get("NAME", 0) >= 10
    text = (tmp_path / "dataset" / "corpus_train.jsonl").read_text(encoding="utf-8") + \
        (tmp_path / "dataset" / "corpus_heldout.jsonl").read_text(encoding="utf-8")
    assert "정의화" not in text  # the sponsoring member of bill 1809890


def test_missing_and_empty_corpus(tmp_path):
    config = load_domain_config(write_domain(tmp_path, {"data": {"corpus": str(tmp_path / "nope")}}))
    with pytest.raises(DataError, match=r"nope: corpus not found"):
        ingest(config, tmp_path / "raw")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("   \n")
    config = load_domain_config(write_domain(tmp_path, {"data": {"corpus": str(tmp_path / "empty")}}))
    with pytest.raises(DataError, match=r"empty: corpus is empty"):
        ingest(config, tmp_path / "raw")


def test_undecodable_document_names_the_file(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "ok.txt").write_text("복지 안내 문서입니다. " * 5)
    (tmp_path / "c" / "bad.txt").write_bytes("복지".encode("euc-kr"))
    config = load_domain_config(write_domain(tmp_path, {"data": {"corpus": str(tmp_path / "c")}}))
    with pytest.raises(DataError, match=r"bad.txt: not valid UTF-8"):
        ingest(config, tmp_path / "raw")
