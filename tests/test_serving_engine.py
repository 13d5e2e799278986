"""The batching engine's per-row decoding (stop strings, token limits, half characters,
cancellation, streaming) driven step by step, and its batching and seeding with a real
tiny model."""

import threading
import time

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from nuri.model.tokenizer import train_tokenizer
from nuri.serving.engine import BatchingEngine, Generation, _Rows

EOS = 0
# Byte pieces: 안 (EC 95 88) arrives in two tokens; "ST" + "OP" is a stop string split in two.
PIECES = {1: " 안".encode()[:3], 2: " 안".encode()[3:], 3: "녕".encode(), 4: b"ST", 5: b"OP", 6: b" x", 7: b"S"}


class ByteTokenizer:
    """Stand-in for a byte-level BPE tokenizer: decode joins byte pieces and replaces a
    cut character with U+FFFD, as ByteLevel decoding does."""

    def decode(self, ids, skip_special_tokens=True):
        return b"".join(PIECES[i] for i in ids if i != EOS).decode("utf-8", errors="replace")


def _run(tokens, **gen):
    deltas = []
    g = Generation([9], gen.pop("max_new_tokens", 10), on_text=deltas.append, **gen)
    rows = _Rows([g], ByteTokenizer(), {EOS})
    for t in tokens:
        if rows.done[0]:
            break
        rows.advance(0, t)
    rows.end()
    return g, deltas


def test_a_half_character_waits_and_leading_space_goes():
    g, deltas = _run([1, 2, 3, EOS])
    assert g.text == "안녕" and g.finish_reason == "stop" and g.completion_tokens == 3
    assert "\ufffd" not in "".join(deltas) and "".join(deltas) == g.text


def test_a_stop_string_split_across_tokens_is_never_streamed():
    g, deltas = _run([1, 2, 4, 5, 3], stop=("STOP",))
    assert g.text == "안" and g.finish_reason == "stop"
    assert "".join(deltas) == "안"  # "ST" was held back, then dropped with the stop string
    g, deltas = _run([1, 2, 4, 3, EOS], stop=("STOP",))  # "ST" that does not become "STOP" is sent
    assert g.text == "안ST녕" and "".join(deltas) == g.text


def test_the_token_limit_is_exact_and_says_length():
    g, deltas = _run([6, 6, 6, 6, 6], max_new_tokens=3)
    assert g.completion_tokens == 3 and g.finish_reason == "length" and g.text == "x x x"
    assert "".join(deltas) == g.text


def test_end_token_first_gives_an_empty_answer_and_cancel_stops():
    g, deltas = _run([EOS, 6])
    assert g.text == "" and g.finish_reason == "stop" and g.completion_tokens == 0 and deltas == []
    g = Generation([9], 10)
    rows = _Rows([g], ByteTokenizer(), {EOS})
    rows.advance(0, 6)
    g.cancelled = True
    rows.advance(0, 6)
    assert rows.done[0] and g.completion_tokens == 1 and g.finish_reason == "stop"


def test_on_done_is_called_once_even_when_callbacks_fail():
    calls = []

    def broken(_):
        raise RuntimeError("loop closed")

    g = Generation([9], 2, on_text=broken, on_done=lambda g: calls.append(g.finish_reason))
    rows = _Rows([g], ByteTokenizer(), {EOS})
    rows.advance(0, 6)
    rows.advance(0, 6)
    rows.end()
    assert calls == ["length"]


# --- with a real model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine():
    texts = ["기초연금은 만 65세 이상 어르신에게 지급됩니다.", "아동수당은 복지로에서 신청합니다."] * 40
    tok = train_tokenizer(texts, vocab_size=300)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)).eval()
    e = BatchingEngine(model, tok, max_batch=2, max_wait_s=0.05)
    e.ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts[:2]]
    yield e
    e.close()


def _generate(engine, rows):
    left, done = [len(rows)], threading.Event()

    def finished(_):
        left[0] -= 1  # on_done runs on the engine thread, one row after another
        if not left[0]:
            done.set()

    for g in rows:
        g.on_done = finished
        engine.submit(g)
    assert done.wait(timeout=60)
    return [g.text for g in rows]


def test_a_seeded_request_is_reproducible_whatever_runs_beside_it(engine):
    def seeded(request):  # three choices (n=3) of one request
        return [Generation(engine.ids[0], 8, temperature=1.5, seed=5, request=request) for _ in range(3)]

    alone = _generate(engine, seeded(1001))
    assert len(set(alone)) > 1  # three samples, not one
    batches = engine.batches
    together = _generate(engine, seeded(1002) + [Generation(engine.ids[1], 8, temperature=1.5) for _ in range(2)])
    deadline = time.time() + 10  # a batch is counted after its rows are answered
    while engine.batches - batches < 2 and time.time() < deadline:
        time.sleep(0.01)
    # max_batch is 2, yet the request's three rows ran as one batch, on the seed's own stream
    # (the two others run beside it, in one batch or, on a loaded machine, two).
    assert together[:3] == alone and engine.batches - batches in (2, 3)
    # The server's RNG moved on: unseeded samples are not all alike.
    assert len(set(_generate(engine, [Generation(engine.ids[1], 8, temperature=1.5) for _ in range(4)]))) > 1


def test_a_batch_never_needs_more_than_the_context(engine):
    long = Generation(engine.ids[0] * 3, 64 - len(engine.ids[0] * 3))
    short = Generation(engine.ids[1], 40)
    assert not engine._fits([long], short)  # the widest prompt plus the longest completion > 64
    assert engine._fits([Generation(engine.ids[1], 10)], Generation(engine.ids[0], 10))
