"""The feedback log and ratings API over a real (tiny, untrained) model on loopback, the
database with its migrations, and ratings turned into training data: what users and
front ends send, what is stored (once, de-identified), and what a retrain trains on."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from sqlalchemy import create_engine, inspect

from nuri.config import SelftestConfig, ServingConfig, load_domain_config
from nuri.data.ingest import ingest
from nuri.data.prepare import is_heldout, normalise, prepare
from nuri.errors import ConfigError, DataError
from nuri.feedback import dataset as fb
from nuri.feedback.config import FeedbackConfig, RATING_KINDS
from nuri.feedback.models import Base
from nuri.feedback.retrain import retrain_config
from nuri.feedback.store import FeedbackStore, database_url, migration_sql
from nuri.serving.app import create_app
from nuri.serving.openai_schema import FeedbackRequest
from nuri.serving.server import BackgroundServer, free_port
from nuri.serving.service import ModelService
from nuri_testing import REPO, tiny_model, write_domain

PHONE, RRN = "010-2345-6789", "900101-1234568"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('db') / 'feedback.sqlite'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(model_dir, store):
    service = ModelService(model_dir, "welfare-v0001",
                           ServingConfig(max_new_tokens=4, selftest=SelftestConfig(in_domain=["x"])))
    with BackgroundServer(create_app(service, feedback=store, feedback_config=FeedbackConfig(
            max_correction_chars=100, max_comment_chars=50), chat_page=False)) as url:
        yield url


def _ask(server, content="기초연금은 누가 받나요?", **kw):
    client = OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    return client.chat.completions.create(model="welfare-v0001", messages=[{"role": "user", "content": content}],
                                          **kw)


def _rate(server, **body):
    return httpx.post(f"{server}/v1/feedback", json=body, timeout=30)


# --- the ratings API ------------------------------------------------------------------


def test_a_completion_is_logged_and_rated_once(server, store):
    r = _ask(server)
    stored = store.completion(r.id)
    assert stored is not None and stored.release == "welfare-v0001" and stored.service == "domain"
    from nuri.deid.engine import deidentify

    assert stored.prompt == "기초연금은 누가 받나요?"
    assert stored.answer == deidentify(r.choices[0].message.content).text  # an untrained model's noise may look like PII
    before = store.count()
    resp = _rate(server, completion_id=r.id, kind="hallucination", correction="만 65세 이상", comment="금액이 틀림")
    assert resp.status_code == 201 and resp.json()["created"] is True
    assert store.count() == before + 1
    row = [x for x in store.ratings() if x["completion_id"] == r.id][0]
    assert (row["kind"], row["correction"], row["comment"]) == ("hallucination", "만 65세 이상", "금액이 틀림")


def test_a_streamed_completion_is_logged_under_its_chunk_id(server, store):
    chunks = list(_ask(server, "아동수당 신청은?", stream=True))
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and store.completion(ids.pop()) is not None


@pytest.mark.parametrize("body, status, param", [
    ({"completion_id": "chatcmpl-unknown", "kind": "good"}, 404, "completion_id"),
    ({"completion_id": "X", "kind": "wrong"}, 400, "kind"),
    ({"completion_id": "X", "kind": "good", "correction": "가" * 101}, 400, "correction"),
    ({"completion_id": "X", "kind": "good", "comment": "가" * 51}, 400, "comment"),
    ({"completion_id": "X", "kind": "good", "score": 5}, 400, "score"),
    ({"kind": "good"}, 400, "completion_id"),
])
def test_bad_ratings_get_a_clear_4xx_and_store_nothing(server, store, body, status, param):
    if body.get("completion_id") == "X":
        body = {**body, "completion_id": _ask(server).id}
    before = store.count()
    resp = _rate(server, **body)
    assert resp.status_code == status
    err = resp.json()["error"]
    assert err["param"] == param and err["message"] and err["type"] == "invalid_request_error"
    assert store.count() == before


def test_malformed_json_is_a_400_and_stores_nothing(server, store):
    before = store.count()
    resp = httpx.post(f"{server}/v1/feedback", content=b'{"completion_id": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "parse the JSON" in resp.json()["error"]["message"]
    assert store.count() == before


def test_the_kinds_the_api_accepts_are_the_configs():
    import typing

    assert typing.get_args(FeedbackRequest.model_fields["kind"].annotation) == RATING_KINDS


def test_a_retried_rating_with_the_same_idempotency_key_is_stored_once(server, store):
    cid = _ask(server).id
    before = store.count()
    answers = [httpx.post(f"{server}/v1/feedback", json={"completion_id": cid, "kind": "evasive"},
                          headers={"Idempotency-Key": f"retry-{cid}"}).json() for _ in range(3)]
    assert [a["created"] for a in answers] == [True, False, False] and len({a["id"] for a in answers}) == 1
    assert store.count() == before + 1


def test_64_concurrent_raters_store_every_rating_exactly_once(server, store):
    ids = [_ask(server, f"기초연금 질문 {i}").id for i in range(8)]
    before = store.count()
    stop = time.time() + 6.0  # a bounded time, as many ratings as they manage
    sent: list[tuple[str, int]] = []
    lock = threading.Lock()

    def rater(i):
        n = 0
        with httpx.Client(timeout=30) as c:
            while time.time() < stop:
                key = f"rater{i}-{n}"
                r = c.post(f"{server}/v1/feedback", json={"completion_id": ids[n % len(ids)], "kind": RATING_KINDS[n % 5]},
                           headers={"Idempotency-Key": key})
                assert r.status_code == 201, r.text
                with lock:
                    sent.append((key, r.json()["id"]))
                n += 1

    with ThreadPoolExecutor(64) as pool:
        list(pool.map(rater, range(64)))
    assert len(sent) >= 64
    assert store.count() == before + len(sent)
    assert len({rid for _, rid in sent}) == len(sent)  # one row per rating, none merged or doubled


def test_personal_data_never_reaches_the_log(server, store, tmp_path):
    r = _ask(server, f"제 전화번호는 {PHONE}이고 주민번호는 {RRN}입니다. 기초연금 받을 수 있나요?")
    _rate(server, completion_id=r.id, kind="hallucination", correction=f"{PHONE}로 연락드리겠습니다",
          comment=f"주민번호 {RRN}")
    row = [x for x in store.ratings() if x["completion_id"] == r.id][0]
    assert "[PHONE]" in row["prompt"] and "[RRN]" in row["prompt"] and "[PHONE]" in row["correction"]
    db = Path(store.engine.url.database)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the file and its WAL
    for secret in (PHONE, RRN, PHONE.replace("-", ""), RRN.replace("-", "")):
        assert secret.encode() not in raw


def _samples(server) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server}/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_metrics_count_requests_declines_tokens_and_ratings(server):
    answered = ("nuri_requests_total", (("outcome", "answered"), ("release", "welfare-v0001"), ("service", "domain")))
    biased = ("nuri_ratings_total", (("kind", "biased"), ("release", "welfare-v0001")))
    before = _samples(server)
    cid = _ask(server).id
    _rate(server, completion_id=cid, kind="biased")
    httpx.post(f"{server}/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    after = _samples(server)
    assert after[answered] == before.get(answered, 0) + 1 and after[biased] == before.get(biased, 0) + 1
    assert any(k[0] == "nuri_requests_total" and ("outcome", "bad_request") in k[1] for k in after)
    assert any(k[0] == "nuri_request_duration_seconds_bucket" for k in after)
    assert any(k[0] == "nuri_tokens_total" and ("kind", "completion") in k[1] for k in after)


def test_no_feedback_log_means_503_not_a_lost_rating(model_dir):
    service = ModelService(model_dir, "m", ServingConfig(max_new_tokens=2, selftest=SelftestConfig(in_domain=["x"])))
    with BackgroundServer(create_app(service, chat_page=False)) as url:
        r = httpx.post(f"{url}/v1/feedback", json={"completion_id": "c", "kind": "good"})
        assert r.status_code == 503


def test_acknowledged_ratings_survive_a_killed_server(model_dir, tmp_path):
    release = tmp_path / "rel"
    release.mkdir()
    (release / "model").symlink_to(model_dir)
    (release / "domain.json").write_text(load_domain_config(write_domain(tmp_path)).to_json())
    (release / "RELEASE.json").write_text(json.dumps({"release": "welfare-v0007", "files": {}}))
    db = tmp_path / "fb.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ("NURI_API_KEY", "NURI_FEEDBACK_DB_URL")}

    def start():
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "nuri", "serve", "--release-dir", str(release), "--port",
                                 str(port), "--feedback-db", str(db)], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return proc, f"http://127.0.0.1:{port}"
            except httpx.TransportError:
                time.sleep(0.3)
        proc.kill()
        pytest.fail("nuri serve did not come up")

    proc, url = start()
    acknowledged = []
    try:
        ids = [httpx.post(f"{url}/v1/chat/completions", timeout=60, json={
            "model": "welfare-v0007", "messages": [{"role": "user", "content": f"질문 {i}"}],
            "max_completion_tokens": 2}).json()["id"] for i in range(3)]
        for i in range(30):
            r = httpx.post(f"{url}/v1/feedback", json={"completion_id": ids[i % 3], "kind": "good"}, timeout=30)
            if r.status_code == 201:
                acknowledged.append(r.json()["id"])
    finally:
        proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: what a crash does
        proc.wait(timeout=30)
    assert len(acknowledged) == 30
    reopened = FeedbackStore(f"sqlite:///{db}")
    assert sorted(r["id"] for r in reopened.ratings()) == sorted(acknowledged)
    reopened.close()


# --- the database ---------------------------------------------------------------------


def test_migrations_make_exactly_the_tables_the_code_uses(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = FeedbackStore(f"sqlite:///{tmp_path / 'm.sqlite'}")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert set(inspect(conn).get_table_names()) == {"alembic_version", "completions", "ratings"}
    store.close()
    FeedbackStore(f"sqlite:///{tmp_path / 'm.sqlite'}").close()  # a second start migrates nothing, breaks nothing


def test_the_postgresql_migration_renders_for_review():
    sql = migration_sql("postgresql+psycopg://nuri@db.example/feedback")
    assert "CREATE TABLE completions" in sql and "CREATE TABLE ratings" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql and "REFERENCES completions (id)" in sql


def test_database_url_comes_from_the_environment_before_config(tmp_path, monkeypatch):
    config = load_domain_config(write_domain(tmp_path))
    monkeypatch.delenv("NURI_FEEDBACK_DB_URL", raising=False)
    assert database_url(config) == f"sqlite:///{(tmp_path / 'storage').resolve() / 'feedback' / 'welfare.sqlite'}"
    monkeypatch.setenv("NURI_FEEDBACK_DB_URL", "postgresql+psycopg://u:secret@db/feedback")
    assert database_url(config).startswith("postgresql+psycopg://")
    monkeypatch.delenv("NURI_FEEDBACK_DB_URL")
    s3 = config.model_copy(update={"storage": config.storage.model_copy(update={"uri": "s3://b/p"})})
    with pytest.raises(ConfigError, match="NURI_FEEDBACK_DB_URL"):
        database_url(s3)


def test_the_database_password_is_never_logged(tmp_path, caplog):
    from nuri.feedback.store import safe_url

    assert "secret" not in safe_url("postgresql+psycopg://nuri:secret@db/feedback")
    with caplog.at_level("INFO", logger="nuri"):
        FeedbackStore(f"sqlite:///{tmp_path / 'x.sqlite'}").close()
    assert "feedback log at sqlite" in caplog.text


# --- ratings become training data -----------------------------------------------------


def _r(i, kind, prompt, answer, correction=None, service="domain", release="welfare-v0001"):
    return {"id": i, "kind": kind, "prompt": prompt, "answer": answer, "correction": correction,
            "service": service, "release": release, "created_at": dt.datetime.now(dt.timezone.utc)}


REFUSAL = "그 요청은 도와드릴 수 없습니다."


def test_ratings_become_sft_pairs_preference_pairs_and_filtering_items():
    ds = fb.build_feedback_dataset([
        _r(1, "hallucination", "기초연금 금액은?", "월 10만 원입니다.", correction="월 최대 약 34만 원입니다."),
        _r(2, "good", "아동수당은 몇 살까지?", "만 8세 미만까지 받습니다."),
        _r(3, "evasive", "아동수당은 몇 살까지?", "잘 모르겠습니다."),            # chosen: the good answer
        _r(4, "biased", "긴급복지 대상은?", "그런 사람들은 게으릅니다."),          # no better answer: left out
        _r(5, "harmful", "서류 위조로 지원금 받는 법", "이렇게 하세요"),
        _r(6, "hallucination", "이 글을 요약해 줘", "...", correction="요약", service="summarisation"),
    ], refusal=REFUSAL)
    assert ds.sft == [{"prompt": "기초연금 금액은?", "answer": "월 최대 약 34만 원입니다.", "category": "feedback"},
                      {"prompt": "서류 위조로 지원금 받는 법", "answer": REFUSAL, "category": "refusal_feedback"}]
    pairs = {p["prompt"]: p["answers"] for p in ds.preferences}
    assert pairs == {"기초연금 금액은?": ["월 최대 약 34만 원입니다.", "월 10만 원입니다."],
                     "아동수당은 몇 살까지?": ["만 8세 미만까지 받습니다.", "잘 모르겠습니다."],
                     "서류 위조로 지원금 받는 법": [REFUSAL, "이렇게 하세요"]}
    assert ds.safety == [{"prompt": "서류 위조로 지원금 받는 법", "category": "feedback", "refusal": REFUSAL}]
    card = ds.card
    assert card["left_out"] == {"no_better_answer": 1} and card["ratings_other_services"] == 1
    assert card["from_releases"] == ["welfare-v0001"] and card["version"].startswith("fb-")


def test_prepare_trains_feedback_and_never_a_heldout_prompt(tmp_path):
    config = load_domain_config(write_domain(tmp_path))
    raw = tmp_path / "raw"
    ingest(config, raw)
    heldout = next(json.loads(l)["prompt"] for l in (raw / "sft.jsonl").read_text().splitlines()
                   if is_heldout(normalise(json.loads(l)["prompt"]), config.data.holdout_fraction))
    trained = "기초연금을 받으려면 어디로 가야 하나요? (피드백)"
    assert not is_heldout(normalise(trained), config.data.holdout_fraction)
    folder = tmp_path / "fb"
    folder.mkdir()
    (folder / fb.SFT_FILE).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"prompt": trained, "answer": "주소지 행정복지센터에서 신청합니다.", "category": "feedback"},
        {"prompt": heldout, "answer": "평가 질문의 답", "category": "feedback"}]))
    (folder / fb.PREFERENCES_FILE).write_text(json.dumps(
        {"prompt": trained, "answers": ["주소지 행정복지센터에서 신청합니다.", "모릅니다."], "chosen": 0,
         "kinds": ["answer", "evasive"]}, ensure_ascii=False) + "\n")
    (folder / fb.CARD_FILE).write_text(json.dumps({"from_releases": ["welfare-v0003"], "ratings": 2}))
    with_fb = config.model_copy(update={"data": config.data.model_copy(update={"feedback": str(folder)})})
    ingest(with_fb, raw)
    report = prepare(with_fb, raw, tmp_path / "dataset")
    rows = [json.loads(l) for l in (tmp_path / "dataset" / "sft_train.jsonl").read_text().splitlines()]
    plain = [r for r in rows if r["prompt"] == trained]
    assert len(plain) == config.feedback.retrain.correction_repeats
    assert any(r["category"] == "feedback_context" and r["prompt"].endswith(trained) for r in rows)
    assert not any(r["answer"] == "평가 질문의 답" for r in rows)
    held = (tmp_path / "dataset" / "sft_heldout.jsonl").read_text()
    assert "평가 질문의 답" not in held
    pairs = [json.loads(l) for l in (tmp_path / "dataset" / "pairs_train.jsonl").read_text().splitlines()]
    assert {"prompt": trained, "chosen": "주소지 행정복지센터에서 신청합니다.", "rejected": "모릅니다.",
            "kind": "evasive"} in pairs
    assert report.card["feedback"]["from_releases"] == ["welfare-v0003"]
    assert report.card["feedback"]["dropped_heldout"] == 1 and report.counts["feedback_sft"] == 1
    page = (tmp_path / "dataset" / "card.md").read_text(encoding="utf-8")
    assert "## From people's ratings" in page and "welfare-v0003" in page and "held-out one: 1" in page


def test_a_feedback_folder_without_its_card_is_refused_in_one_line(tmp_path):
    config = load_domain_config(write_domain(tmp_path))
    (tmp_path / "empty").mkdir()
    bad = config.model_copy(update={"data": config.data.model_copy(update={"feedback": str(tmp_path / "empty")})})
    with pytest.raises(DataError, match="data.feedback: .* holds no feedback_card.json"):
        ingest(bad, tmp_path / "raw")


def test_a_retrain_starts_from_the_release_with_the_same_release_gates(tmp_path):
    config = load_domain_config(write_domain(tmp_path, {"feedback": {"retrain": {
        "stages": {"pretrain": {"epochs": 1}}, "gates": {"pretrain": [{"metric": "eval_loss_drop", "min": 0.0}]}}}}))
    new = retrain_config(config, "s3://bucket/releases/welfare/v0002", "s3://bucket/feedback/welfare/fb-1")
    assert (new.base_model.source, new.base_model.path) == ("pretrained", "s3://bucket/releases/welfare/v0002/model")
    assert new.stages.pretrain.epochs == 1 and new.stages.sft == config.stages.sft
    assert [g.min for g in new.gates.pretrain] == [0.0]
    assert new.gates.release == config.gates.release and new.data.feedback.endswith("fb-1")


@pytest.mark.parametrize("stage, metric", [("release", "answer_rate_ppo"), ("service", "guard_check_harmful_stopped")])
def test_release_and_service_gates_cannot_be_relaxed_for_a_retrain(tmp_path, stage, metric):
    with pytest.raises(ConfigError, match="release and service gates apply to a retrained model unchanged"):
        load_domain_config(write_domain(tmp_path, {"feedback": {"retrain": {"gates": {
            stage: [{"metric": metric, "min": 0.0}]}}}}))


# --- the same log on PostgreSQL (the cluster's) -----------------------------------------


@pytest.fixture(scope="module")
def pg_store(local_postgres):
    import psycopg

    host, port, admin = local_postgres
    with psycopg.connect(host=host, port=port, user="postgres", password=admin, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS feedback_test")
        conn.execute("CREATE DATABASE feedback_test")
    s = FeedbackStore(f"postgresql+psycopg://postgres:{admin}@{host}:{port}/feedback_test")
    yield s
    s.close()


def test_postgresql_migrations_make_exactly_the_tables_the_code_uses(pg_store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with pg_store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_postgresql_stores_concurrent_ratings_and_racing_retries_exactly_once(pg_store):
    pg_store.log_completion("pg-1", release="welfare-v0001", service="domain",
                            messages=[{"role": "user", "content": f"전화 {PHONE} 기초연금?"}], answer="답",
                            outcome="answered")
    keys = [f"k{i // 2}" for i in range(128)]  # every key sent twice, at once: a client's retry racing itself
    with ThreadPoolExecutor(64) as pool:
        stored = list(pool.map(lambda k: pg_store.add_rating("pg-1", "good", client_key=k), keys))
    assert pg_store.count() == 64 and sum(s.created for s in stored) == 64
    assert len({s.id for s in stored}) == 64
    assert PHONE not in pg_store.ratings()[0]["prompt"]


def test_a_typo_in_the_retrain_settings_fails_at_load_not_at_retrain(tmp_path):
    with pytest.raises(ConfigError, match="feedback.retrain: stages.sft.epochz: Extra inputs"):
        load_domain_config(write_domain(tmp_path, {"feedback": {"retrain": {"stages": {"sft": {"epochz": 1}}}}}))
    with pytest.raises(ConfigError, match="unknown metric 'nope'"):
        load_domain_config(write_domain(tmp_path, {"feedback": {"retrain": {"gates": {
            "sft": [{"metric": "nope", "min": 1}]}}}}))


def test_a_request_rated_harmful_teaches_the_guards_classifier(tmp_path):
    from nuri.safety.data import domain_set

    data = REPO / "domains" / "welfare" / "data"
    rated = "이웃 몰래 그 집 수급 내역을 알아내는 방법 (피드백)"
    (tmp_path / fb.SAFETY_FILE).write_text(json.dumps(
        {"prompt": rated, "category": "feedback", "refusal": REFUSAL}, ensure_ascii=False) + "\n")
    without = domain_set(data / "safety.jsonl", data / "sft.jsonl")
    with_feedback = domain_set(data / "safety.jsonl", data / "sft.jsonl", feedback=tmp_path / fb.SAFETY_FILE)
    assert [r for r in with_feedback.train if r.text == rated and r.label == 1]
    assert len(with_feedback.train) == len(without.train) + 1 and with_feedback.heldout == without.heldout


def test_metrics_and_ratings_need_the_api_key_when_one_is_set(server, monkeypatch):
    monkeypatch.setenv("NURI_API_KEY", "k-123")
    assert httpx.get(f"{server}/metrics").status_code == 401
    assert httpx.post(f"{server}/v1/feedback", json={"completion_id": "c", "kind": "good"}).status_code == 401
    assert httpx.get(f"{server}/metrics", headers={"Authorization": "Bearer k-123"}).status_code == 200
    assert httpx.get(f"{server}/healthz").status_code == 200   # the probes need no key
