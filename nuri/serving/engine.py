"""Batched generation for the model service: requests that arrive while the model is
busy wait in a queue and go together through one batched transformers `generate`.

Why this and not another engine: vLLM (KServe's Hugging Face runtime backend) needs a
CUDA torch; transformers' own continuous-batching manager (`generate_batch`) runs on CPU
but measured 111 tok/s here, warm (40 with its warm-up), on 16 prompts of the sample
model against 851 tok/s for one left-padded batched `generate` of them and 148 tok/s one
prompt at a time. So each batch is a
plain `generate` call; what this module adds is what `generate` lacks for a server:
grouping compatible requests, and per row: stop strings, token limits and streaming,
all from one StoppingCriteria that reads each step's new tokens (it answers per row).

Requests in one batch share their sampling settings. A request with a seed runs in a
batch of its own rows, under a forked RNG: it is reproducible whatever else is being
served, and it leaves the server's RNG as it was. A batch never runs past the model's
context: rows join only while the widest prompt plus the longest completion fits."""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

log = logging.getLogger("nuri")


_requests = itertools.count()


def next_request_id() -> int:
    return next(_requests)


@dataclass
class Generation:
    """One completion (one choice) to produce. `on_text(delta)` is called from the engine
    thread with each new piece of text, and `on_done(self)` once, when it ends.
    `request`: rows of one request share it (a seeded request's rows batch together)."""

    input_ids: list[int]
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    on_text: Callable[[str], None] | None = None
    on_done: Callable[["Generation"], None] | None = None
    request: int = field(default_factory=lambda: next(_requests))
    # results
    text: str = ""
    completion_tokens: int = 0
    finish_reason: str | None = None       # "stop" | "length" | "error"; None while running
    error: str | None = None
    cancelled: bool = False                 # set by the caller (client went away)
    # decoding state
    _ids: list[int] = field(default_factory=list)
    _sent: int = 0                          # characters of `text` already handed to on_text

    @property
    def sampling_key(self) -> tuple:
        if self.temperature <= 0:
            return ("greedy",)
        if self.seed is not None:
            return ("seeded", self.request)
        return ("sample", self.temperature, self.top_p)


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters might still become a stop string (not sent yet)."""
    keep = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:n]):
                keep = max(keep, n)
                break
    return keep


def _safely(callback, *args) -> None:
    """A caller's callback failing (its event loop closed) must not fail the batch."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:  # noqa: BLE001
        log.debug("a generation callback failed", exc_info=True)


class _Rows(StoppingCriteria):
    """The batch's stopping criterion: `generate` calls it after every step with the
    sequences so far; it reads each row's new token, decodes, streams, and answers which
    rows are done (finished rows are padded by `generate` from then on)."""

    def __init__(self, rows: list[Generation], tokenizer, eos_ids: set[int]):
        self.rows, self.tokenizer, self.eos_ids = rows, tokenizer, eos_ids
        self.done = [False] * len(rows)

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        for i, token in enumerate(input_ids[:, -1].tolist()):
            if not self.done[i]:
                self.advance(i, int(token))
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)

    def advance(self, i: int, token: int) -> None:
        row = self.rows[i]
        if row.cancelled or token in self.eos_ids:
            self.finish(i, "stop")
            return
        row._ids.append(token)
        row.completion_tokens += 1
        # Leading whitespace is dropped (BPE puts a space before the first word); a
        # trailing half character waits for the rest of its bytes.
        text = self.tokenizer.decode(row._ids, skip_special_tokens=True).lstrip()
        if text.endswith("\ufffd"):
            text = text[:-1]
        for s in row.stop:
            at = text.find(s)
            if at >= 0:
                row.text = text[:at]
                self.finish(i, "stop")
                return
        row.text = text
        if row.completion_tokens >= row.max_new_tokens:
            self.finish(i, "length")
            return
        self._send(row, len(text) - _held_back(text, row.stop))

    def _send(self, row: Generation, upto: int) -> None:
        if upto > row._sent:
            _safely(row.on_text, row.text[row._sent:upto])
        row._sent = max(row._sent, upto)

    def finish(self, i: int, reason: str) -> None:
        self.done[i] = True
        row = self.rows[i]
        self._send(row, len(row.text))
        row.finish_reason = reason
        _safely(row.on_done, row)

    def end(self) -> None:
        for i in range(len(self.rows)):  # generate stopped at its max_new_tokens
            if not self.done[i]:
                self.finish(i, "length")


class BatchingEngine:
    """One thread owns the model and runs batches; submit() from any thread.

    max_batch: rows per `generate` call. A batch is gathered while requests keep
    arriving: it starts when none has come for `gap_s`, or after `max_wait_s` at most. A
    lone request so waits `gap_s`; a burst (clients answering their last reply all at
    once) fills the batch instead of splitting into a small one and a long wait.
    max_queue: rows waiting beyond this are refused (submit raises `EngineBusy`);
    context_tokens: the model's context (a batch never needs more).

    Measured and left out: stopping a batch once half of it had finished, to resume its
    unfinished rows beside the waiting requests (preemption by recomputation, as vLLM
    does). Re-prefilling the resumed rows cost more than the idle slots: 16 clients got
    3.0-3.2x one client's throughput with it, 3.5-3.6x without (bench/serving_bench.py)."""

    def __init__(self, model, tokenizer, *, max_batch: int = 16, max_wait_s: float = 0.05,
                 gap_s: float = 0.005, max_queue: int = 1024, context_tokens: int | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.max_wait_s, self.max_queue = max_batch, max_wait_s, max_queue
        self.gap_s = min(gap_s, max_wait_s)
        self.context_tokens = context_tokens or int(getattr(model.config, "max_position_embeddings", 1 << 30))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        # Every end token the model knows (a chat model may have several), not only the tokenizer's.
        eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos])
        self._queue: queue.Queue[Generation] = queue.Queue()
        self._carry: list[Generation] = []      # taken from the queue but not of this batch
        self._stopping = threading.Event()
        self.batches = 0
        self._thread = threading.Thread(target=self._loop, name="nuri-engine", daemon=True)
        self._thread.start()

    def submit(self, gen: Generation) -> None:
        if not self.alive:
            raise EngineBusy("the generation engine is not running")
        if self._queue.qsize() + len(self._carry) >= self.max_queue:
            raise EngineBusy(f"{self.max_queue} completions are already waiting")
        self._queue.put(gen)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    @property
    def waiting(self) -> int:
        return self._queue.qsize() + len(self._carry)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _fits(self, batch: list[Generation], g: Generation) -> bool:
        if g.sampling_key != batch[0].sampling_key:
            return False
        if g.sampling_key[0] == "seeded":  # a seeded request's rows go together, however many
            return True
        width = max(len(x.input_ids) for x in [*batch, g])
        longest = max(x.max_new_tokens for x in [*batch, g])
        return len(batch) < self.max_batch and width + longest <= self.context_tokens

    def _next_batch(self) -> list[Generation]:
        while not self._stopping.is_set():
            first = self._carry.pop(0) if self._carry else None
            if first is None:
                try:
                    first = self._queue.get(timeout=0.1)
                except queue.Empty:
                    continue
            if first.cancelled:
                continue
            batch, keep = [first], []
            for g in self._carry:  # earlier arrivals first
                (batch if not g.cancelled and self._fits(batch, g) else keep).append(g)
            self._carry = keep
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch or batch[0].sampling_key[0] == "seeded":
                wait = min(self.gap_s, deadline - time.monotonic())
                try:
                    g = self._queue.get(timeout=max(0.0, wait))
                except queue.Empty:
                    break
                (batch if self._fits(batch, g) else self._carry).append(g)
            return [g for g in batch if not g.cancelled]
        return []

    def _loop(self) -> None:
        while not self._stopping.is_set():
            batch = []
            try:
                batch = self._next_batch()
                if batch:
                    self._run(batch)
            except Exception as e:  # one bad batch must not kill the service
                log.exception("generation failed for a batch of %d", len(batch))
                for g in batch:
                    if g.finish_reason is None:
                        g.error = f"{type(e).__name__}: {e}"
                        g.finish_reason = "error"
                        _safely(g.on_done, g)

    @torch.no_grad()
    def _run(self, batch: list[Generation]) -> None:
        width = max(len(g.input_ids) for g in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, g in enumerate(batch):  # left padding: every row's next token is at the end
            ids[i, width - len(g.input_ids):] = torch.tensor(g.input_ids)
            mask[i, width - len(g.input_ids):] = 1
        rows = _Rows(batch, self.tokenizer, self.eos_ids)
        first = batch[0]
        sample = first.temperature > 0
        seeded = sample and first.seed is not None
        # Forked only when seeded: an unseeded batch must move the RNG on, or every one
        # would sample alike.
        with torch.random.fork_rng(devices=[]) if seeded else contextlib.nullcontext():
            if seeded:
                torch.manual_seed(first.seed)
            self.model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=max(g.max_new_tokens for g in batch),
                do_sample=sample, temperature=first.temperature if sample else None,
                top_p=first.top_p if sample else None, top_k=None,
                pad_token_id=self.pad_id, eos_token_id=sorted(self.eos_ids),
                stopping_criteria=StoppingCriteriaList([rows]))
        rows.end()
        self.batches += 1


class EngineBusy(Exception):
    """The queue is full; the caller answers 429 and the client retries."""
