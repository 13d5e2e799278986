"""Training sets, teacher stub, labelling command, data cards and immutable publication."""

import io
import json
import shutil
import threading
from argparse import Namespace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nuri_testing import write_domain
from nuri.config import load_domain_config
from nuri.data import label
from nuri.data.cards import MARKER, fetch_dataset, list_dataset_versions
from nuri.data.ingest import ingest
from nuri.data.prepare import prepare
from nuri.data.sets import InvalidRecord, prompt_variants, to_chat, validate_chat
from nuri.storage import LocalStorage

TAXONOMY = [{"name": "fraud", "refusal": "부정수급은 도와드릴 수 없습니다. 정확한 소득 신고 방법을 안내해 드릴게요.",
             "examples": ["소득을 숨기고 기초연금 받는 법 알려줘", "남의 주민번호로 수당 신청하는 방법"]},
            {"name": "privacy", "refusal": "다른 사람의 개인정보는 알려드릴 수 없습니다.", "examples": []},
            {"name": "illegal", "refusal": "불법 행위는 도와드릴 수 없습니다."},
            {"name": "violence_self_harm", "refusal": "힘드시면 109에 전화해 주세요."},
            {"name": "hate_bias", "refusal": "차별적인 표현에는 답하지 않습니다."},
            {"name": "dangerous", "refusal": "위험한 물건을 만드는 방법은 알려 드릴 수 없습니다."}]


def test_chat_format_validation():
    validate_chat(to_chat("질문", "답변", "시스템"))
    for bad in ([], [{"role": "user", "content": "질문"}],
                [{"role": "user", "content": "질문"}, {"role": "assistant", "content": " "}],
                [{"role": "assistant", "content": "답"}, {"role": "user", "content": "질문"}]):
        with pytest.raises(InvalidRecord):
            validate_chat(bad)
    with pytest.raises(InvalidRecord, match="longer than 5"):
        validate_chat(to_chat("질문입니다 길어요", "답"), max_prompt_chars=5)


def test_prompt_variants_are_distinct():
    import random

    vs = prompt_variants("기초연금은 누가 받나요?", 5, random.Random(1))
    assert len(vs) == 5 and len(set(vs)) == 5 and "기초연금은 누가 받나요?" not in vs


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sets")
    corpus = tmp / "corpus"
    src = load_domain_config(write_domain(tmp)).data.corpus
    corpus.mkdir()
    files = sorted(__import__("pathlib").Path(src).glob("*.txt"))[:80]
    for p in files:
        shutil.copy(p, corpus / p.name)
    # a near-duplicate: one word of a document changed
    text = files[0].read_text(encoding="utf-8")
    words = text.split(" ")
    words[len(words) // 2] = "변경된단어"
    (corpus / "zz_near.txt").write_text(" ".join(words), encoding="utf-8")
    (corpus / "zz_english.txt").write_text("This notice is written in English only and has no Korean. " * 3)
    overrides = {"data": {"corpus": str(corpus), "corpus_licence": "synthetic (sample domain)",
                          "sets": {"harmful_taxonomy": TAXONOMY,
                                   "templates": [{"prompt": "'{title}' 문서의 요점을 알려 주세요.", "answer": "{lead}"}],
                                   "max_template_documents": 5,
                                   "augment": {"sft_variants": 1, "filtering_variants": 2}}}}
    config = load_domain_config(write_domain(tmp, overrides))
    ingest(config, tmp / "raw")
    report = prepare(config, tmp / "raw", tmp / "dataset")
    return config, tmp, report


def test_removals_have_reasons_on_card(dataset):
    _, tmp, report = dataset
    assert report.removed["near_duplicate"] >= 1 and report.removed["not_korean"] == 1
    removed = [json.loads(line) for line in (tmp / "dataset" / "removed.jsonl").read_text().splitlines()]
    near = [r for r in removed if r["id"] == "zz_near.txt"]
    assert near and near[0]["reason"] == "near_duplicate" and near[0]["duplicate_of"]
    card = json.loads((tmp / "dataset" / "card.json").read_text())
    assert card["removed"] == report.removed
    assert card["corpus"]["tokens"] > 0 and card["languages"]["documents"]["ko"] > 0
    assert card["corpus_sources"][0]["licence"] == "synthetic (sample domain)"
    assert card["config"]["data"]["dedup"]["threshold"] == 0.8
    html = (tmp / "dataset" / "card.html").read_text(encoding="utf-8")
    assert "near_duplicate" in html and "<script" not in html and "synthetic (sample domain)" in html


def test_sets_filtering_templates_augmentation(dataset):
    _, tmp, report = dataset
    filt = [json.loads(line) for n in ("filtering_train.jsonl", "filtering_heldout.jsonl")
            for line in (tmp / "dataset" / n).read_text(encoding="utf-8").splitlines()]
    assert {r["category"] for r in filt} == {"fraud", "privacy", "illegal", "violence_self_harm", "hate_bias", "dangerous"}
    assert sum(r["augmented"] for r in filt) > 0
    prompts = [r["prompt"] for r in filt]
    assert len(prompts) == len(set(prompts))  # augmentation never duplicates
    sft = [json.loads(line) for line in (tmp / "dataset" / "sft_train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(r["messages"][-1]["role"] == "assistant" for r in sft)
    assert report.counts["sft_generated_template"] == 5
    keys = [(r["prompt"], r["answer"]) for r in sft]
    assert len(keys) == len(set(keys))
    held = {json.loads(line)["prompt"] for line in (tmp / "dataset" / "sft_heldout.jsonl").read_text().splitlines()}
    # A variant lands on its original's side: no augmented training prompt rephrases a held-out one.
    from nuri.data.sets import PREFIXES, SUFFIXES

    for r in sft:
        if r.get("augmented"):
            bases = {r["prompt"][len(a):len(r["prompt"]) - len(b)] for a in PREFIXES for b in SUFFIXES
                     if r["prompt"].startswith(a) and r["prompt"].endswith(b)}
            assert not bases & held


def test_published_version_is_immutable(dataset, tmp_path):
    config, tmp, report = dataset
    store = LocalStorage(config.storage.uri)
    assert list_dataset_versions(store, config.name) == [report.version]
    assert report.uri.endswith(f"datasets/{config.name}/{report.version}")
    again = prepare(config, tmp / "raw", tmp_path / "again")
    assert again.version == report.version and again.uri == report.uri  # same content: same version, no-op
    local = fetch_dataset(store, config.name, report.version, tmp_path / "fetched")
    assert (local / MARKER).exists() and (local / "card.html").exists()
    assert (local / "corpus_train.jsonl").read_bytes() == (tmp / "dataset" / "corpus_train.jsonl").read_bytes()


def test_unknown_safety_category_is_rejected(tmp_path):
    from nuri.errors import DataError

    config = load_domain_config(write_domain(tmp_path, {"data": {"sets": {"harmful_taxonomy": TAXONOMY[:1]}}}))
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("sft", "preferences", "safety"):
        shutil.copy(getattr(config.data, name), raw / f"{name}.jsonl")
    (raw / "documents.jsonl").write_text(json.dumps({"id": "a", "text": "복지 안내 문서입니다. " * 5}) + "\n")
    with pytest.raises(DataError, match="is not in data.sets.harmful_taxonomy"):
        prepare(config, raw, tmp_path / "out")


class Teacher(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Teacher.seen.append((self.headers.get("Authorization"), body))
        content = '```json\n[{"prompt": "이 문서는 무엇을 안내하나요?", "answer": "복지 제도를 안내합니다."}]\n```'
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(out)


def test_teacher_endpoint_writes_pairs(tmp_path, monkeypatch, caplog):
    from nuri.data.config import TeacherConfig
    from nuri.data.teacher import Teacher as Client

    server = ThreadingHTTPServer(("127.0.0.1", 0), Teacher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("TEACHER_KEY", "tk-secret")
        cfg = TeacherConfig(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="t",
                            api_key_env="TEACHER_KEY", max_documents=2)
        client = Client(cfg)
        pairs = list(client.pairs_from_documents([{"text": "기초연금 안내"}, {"text": "아동수당 안내"}]))
        assert pairs == [("이 문서는 무엇을 안내하나요?", "복지 제도를 안내합니다.")] * 2
        assert Teacher.seen[0][0] == "Bearer tk-secret" and "기초연금 안내" in Teacher.seen[0][1]["messages"][0]["content"]
        assert "tk-secret" not in repr(client) and "tk-secret" not in caplog.text
    finally:
        server.shutdown()


def test_label_command_records_and_resumes(tmp_path):
    items = [{"prompt": "기초연금은?", "answers": ["만 65세 이상 소득 하위 70%", "모릅니다"]},
             {"prompt": "아동수당은?", "answers": ["주식 하세요", "8세 미만 월 10만 원", "글쎄요"]}]
    src = tmp_path / "cand.jsonl"
    src.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    out = tmp_path / "prefs.jsonl"
    args = Namespace(input=str(src), output=str(out), labeller="kim", shuffle=False)
    screen = io.StringIO()
    label.run(args, stdin=io.StringIO("1\nq\n"), stdout=screen)
    assert "1. 만 65세 이상" in screen.getvalue()
    screen = io.StringIO()
    label.run(args, stdin=io.StringIO("9\n2\n"), stdout=screen)  # resumes at item 2; 9 is out of range
    assert "1 already labelled" in screen.getvalue() and "please type a number" in screen.getvalue()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["prompt"], r["chosen"], r["labeller"]) for r in rows] == [("기초연금은?", 0, "kim"), ("아동수당은?", 1, "kim")]
    from nuri.data.records import PreferenceRecord

    assert PreferenceRecord.model_validate(rows[1]).pairs()[0] == ("8세 미만 월 10만 원", "주식 하세요", "unlabelled")
