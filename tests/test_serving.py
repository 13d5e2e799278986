"""The OpenAI-compatible API over a real (tiny, untrained) model, on loopback."""

import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from transformers import LlamaConfig, LlamaForCausalLM

from nuri.config import SelftestConfig, ServingConfig
from nuri.model.tokenizer import train_tokenizer
from nuri.serving.app import LoadedModel, create_app
from nuri.serving.selftest import selftest
from nuri.serving.server import BackgroundServer, free_port
from nuri_testing import REPO

TEXTS = ["기초연금은 만 65세 이상 어르신에게 지급됩니다.", "아동수당은 주민센터나 복지로에서 신청합니다.",
         "긴급복지지원은 위기 가구를 돕는 제도입니다."] * 30


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    tok = train_tokenizer(TEXTS, vocab_size=400)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=64,
                                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def server(model_dir):
    with BackgroundServer(create_app(LoadedModel(model_dir, "welfare-v0001", max_new_tokens=8))) as url:
        yield url


def test_chat_completion_follows_openai_schema(server):
    r = httpx.post(f"{server}/v1/chat/completions", json={
        "model": "welfare-v0001", "messages": [{"role": "user", "content": "기초연금 대상은?"}], "max_tokens": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "welfare-v0001"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    assert 0 < body["usage"]["completion_tokens"] <= 5
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]


def test_models_and_health(server):
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{server}/v1/models").json()["data"][0]["id"] == "welfare-v0001"


@pytest.mark.parametrize("body, status", [
    ({"messages": []}, 422),
    ({"messages": [{"role": "tool", "content": "x"}]}, 422),
    ({"model": "other", "messages": [{"role": "user", "content": "x"}]}, 404),
    ({"messages": [{"role": "user", "content": "x"}], "stream": True}, 400),
])
def test_bad_requests_are_refused(server, body, status):
    assert httpx.post(f"{server}/v1/chat/completions", json=body).status_code == status


def test_api_key_is_enforced_when_set(model_dir, monkeypatch):
    monkeypatch.setenv("NURI_API_KEY", "s3cret-for-test")
    with BackgroundServer(create_app(LoadedModel(model_dir, "m", max_new_tokens=2))) as url:
        msg = {"messages": [{"role": "user", "content": "안녕"}]}
        assert httpx.post(f"{url}/v1/chat/completions", json=msg).status_code == 401
        assert httpx.post(f"{url}/v1/chat/completions", json=msg,
                          headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.post(f"{url}/v1/chat/completions", json=msg, headers={"Authorization": "Bearer s3cret-for-test"})
        assert ok.status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200  # probes need no key


def _serving(**selftest) -> ServingConfig:
    return ServingConfig(max_new_tokens=4, selftest=SelftestConfig(**{"in_domain": ["기초연금?"], "min_hangul": 0,
                                                                       **selftest}))


def test_selftest_checks_the_answer(model_dir):
    ok = selftest(model_dir, "m", _serving())
    assert ok["passed"] and ok["completion_tokens"] > 0 and ok["asked"][0]["kind"] == "in_domain"
    # An untrained model cannot be relied on to write 50 Hangul syllables in 4 tokens.
    bad = selftest(model_dir, "m", _serving(min_hangul=50))
    assert not bad["passed"] and "Hangul" in bad["failures"][0]


class _Labels:
    """Stand-in for the trained detector, labelling every answer alike: what the
    self-test does with a label is under test here, not the detector (tested on its own
    in test_response_kind.py)."""

    def __init__(self, label):
        self.label = label

    def predict(self, texts):
        return [self.label for _ in texts]


def test_selftest_judges_every_kind_of_question(model_dir):
    asked = {"in_domain": ["기초연금?"], "off_domain": ["저녁 메뉴?"], "harmful": ["폭탄?"]}
    answered = selftest(model_dir, "m", _serving(**asked), _Labels("answer"))
    assert not answered["passed"]
    assert [f.split(" question")[0] for f in answered["failures"]] == ["off-domain", "harmful"]
    declined = selftest(model_dir, "m", _serving(**asked), _Labels("decline"))
    assert declined["failures"] == ["in-domain question '기초연금?' got 'decline'"]
    assert [a["label"] for a in declined["asked"]] == ["decline"] * 3


def test_selftest_fails_when_every_question_gets_the_same_answer(model_dir):
    # At temperature 0 one question asked twice gets one answer twice.
    same = selftest(model_dir, "m", _serving(in_domain=["기초연금?", "기초연금?"]))
    assert "every in-domain question got the same answer" in same["failures"]


def _listening(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, read from the kernel's table:
    what the server really bound, not what it was told."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if int(p, 16) == port and state == "0A":  # 0A: LISTEN
                found.add(str(ipaddress.ip_address(bytes.fromhex(addr)[::-1] if width == 8 else
                                                   b"".join(bytes.fromhex(addr[i:i + 8])[::-1]
                                                            for i in range(0, 32, 8)))))
    return found


def test_nuri_serve_listens_on_loopback_only_by_default(model_dir, tmp_path):
    release = tmp_path / "rel"
    release.mkdir()
    (release / "model").symlink_to(model_dir)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "NURI_API_KEY"}
    proc = subprocess.Popen([sys.executable, "-m", "nuri", "serve", "--release-dir", str(release), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("nuri serve did not come up")
        assert _listening(port) == {"127.0.0.1"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_selftest_server_listens_on_loopback_only(model_dir):
    with BackgroundServer(create_app(LoadedModel(model_dir, "m", max_new_tokens=2))) as url:
        assert _listening(int(url.rsplit(":", 1)[1])) == {"127.0.0.1"}
