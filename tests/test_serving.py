"""The OpenAI-compatible API over a real (tiny, untrained) model, on loopback."""

import httpx
import pytest
from transformers import LlamaConfig, LlamaForCausalLM

from nuri.config import ServingConfig
from nuri.model.tokenizer import train_tokenizer
from nuri.serving.app import LoadedModel, create_app
from nuri.serving.selftest import selftest
from nuri.serving.server import BackgroundServer

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


def test_selftest_checks_the_answer(model_dir):
    ok = selftest(model_dir, "m", ServingConfig(selftest_question="기초연금?", max_new_tokens=4, selftest_min_hangul=0))
    assert ok["passed"] and ok["completion_tokens"] > 0
    # An untrained model cannot be relied on to write 50 Hangul syllables in 4 tokens.
    bad = selftest(model_dir, "m", ServingConfig(selftest_question="기초연금?", max_new_tokens=4,
                                                 selftest_min_hangul=50))
    assert not bad["passed"] and "Hangul" in bad["failures"][0]


def test_server_binds_loopback_only(server):
    assert server.startswith("http://127.0.0.1:")
