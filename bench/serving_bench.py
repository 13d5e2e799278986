"""Serving benchmark: the model API one client at a time against 16 and 64 concurrent
clients, with batching on (the release's engine settings) and off (max batch 1: every
request waits for the one before, as the service did before batching).

    python bench/serving_bench.py [--release-dir runs/storage/releases/welfare/v0001]
                                  [--requests 32] [--max-tokens 48]

Each server is `nuri serve` in its own process (the app the cluster runs), so the
clients' CPU is not the server's; the clients are asyncio + httpx in this process. The
domain service is asked (guard, retrieval and model, as a citizen's question goes),
greedy, with the welfare questions below. Prints completion tokens/s, requests/s, p50
and p99 latency per setting, and each setting's throughput as a ratio to one client at
a time. About two minutes on 2 cores with the sample release."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nuri.serving.server import free_port  # noqa: E402

CLIENT_NICENESS = 10
QUESTIONS = ["기초연금은 누가 받을 수 있나요?", "아동수당은 어디서 신청하나요?", "긴급복지지원은 어떤 경우에 받나요?",
             "장애인연금 신청 서류가 궁금해요.", "부모급여는 한 달에 얼마인가요?", "청년월세 지원 대상은 누구인가요?",
             "주거급여 소득 기준을 알려 주세요.", "첫만남이용권은 어디에 쓸 수 있나요?", "노인맞춤돌봄서비스 신청 방법은?",
             "국민취업지원제도 수당은 얼마인가요?", "희망저축계좌는 어떤 제도인가요?", "한부모가족 아동양육비 대상은?",
             "의료급여 수급자는 어떻게 되나요?", "근로장려금 신청 기간이 언제인가요?", "재난적의료비 지원 기준이 궁금합니다.",
             "기초생활보장 생계급여는 얼마인가요?"]


def default_release() -> Path | None:
    root = ROOT / "runs" / "storage" / "releases" / "welfare"
    promoted = root / "PROMOTED.json"
    if promoted.is_file():
        return root / json.loads(promoted.read_text())["version"]
    return None


class Server:
    def __init__(self, release: Path, max_batch: int | None):
        self.port = free_port()
        cmd = [sys.executable, "-m", "nuri", "serve", "--release-dir", str(release), "--port", str(self.port)]
        if max_batch is not None:
            cmd += ["--max-batch", str(max_batch)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        env.pop("NURI_API_KEY", None)
        # The server at normal priority, the clients (this process) below it: a load
        # generator on another machine would not take the server's CPU; here both share 2 cores.
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, preexec_fn=lambda: os.nice(-os.nice(0)))
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"nuri serve exited: {self.proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    self.model = httpx.get(f"{self.url}/v1/models").json()["data"][0]["id"]
                    return self
            except httpx.TransportError:
                time.sleep(0.3)
        raise SystemExit("nuri serve did not come up in 120 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def load(url: str, model: str, clients: int, requests: int, max_tokens: int) -> dict:
    """`clients` workers share `requests` requests; returns throughput and latencies."""
    latencies, tokens, errors = [], 0, 0
    todo = iter(range(requests))

    async def worker(http: httpx.AsyncClient):
        nonlocal tokens, errors
        for i in todo:
            t0 = time.perf_counter()
            r = await http.post(f"{url}/v1/chat/completions", json={
                "model": model, "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]})
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors += 1
                continue
            tokens += r.json()["usage"]["completion_tokens"]

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=600, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {"clients": clients, "requests": len(lat), "errors": errors, "wall_s": wall,
            "tokens_per_s": tokens / wall, "requests_per_s": len(lat) / wall,
            "p50_s": statistics.median(lat), "p99_s": lat[min(len(lat) - 1, int(0.99 * len(lat)))]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--release-dir", type=Path, default=default_release(),
                    help="a release folder (default: the promoted welfare release under runs/storage)")
    ap.add_argument("--requests", type=int, default=32, help="requests per client count beyond 1 is 4x this")
    ap.add_argument("--max-tokens", type=int, default=48)
    args = ap.parse_args(argv)
    if args.release_dir is None or not (args.release_dir / "model").is_dir():
        print("serving_bench: no release found; run `make demo` first or pass --release-dir", file=sys.stderr)
        return 2
    print(f"release {args.release_dir}; {args.max_tokens} tokens max per answer; domain service, greedy")
    os.nice(CLIENT_NICENESS)
    rows = []
    for label, max_batch, settings in (("batched", None, ((1, args.requests), (16, 4 * args.requests),
                                                           (64, 8 * args.requests))),
                                       ("max batch 1", 1, ((16, 2 * args.requests),))):
        with Server(args.release_dir, max_batch) as server:
            asyncio.run(load(server.url, server.model, 4, 8, args.max_tokens))  # warm-up
            for clients, n in settings:
                r = asyncio.run(load(server.url, server.model, clients, n, args.max_tokens))
                rows.append((label, r))
                print(f"  {label:12} {clients:3} clients: {r['requests']} requests in {r['wall_s']:.1f} s", flush=True)
    base = rows[0][1]["tokens_per_s"]
    print(f"\n{'server':12} {'clients':>7} {'requests':>8} {'errors':>6} {'tok/s':>8} {'req/s':>6} "
          f"{'p50 s':>6} {'p99 s':>6} {'vs 1 client':>11}")
    for label, r in rows:
        print(f"{label:12} {r['clients']:7} {r['requests']:8} {r['errors']:6} {r['tokens_per_s']:8.1f} "
              f"{r['requests_per_s']:6.2f} {r['p50_s']:6.2f} {r['p99_s']:6.2f} {r['tokens_per_s'] / base:10.2f}x")
    at16 = next(r for label, r in rows if label == "batched" and r["clients"] == 16)
    print(f"\ngoal: >= 4x one client's throughput at 16 clients: {at16['tokens_per_s'] / base:.2f}x "
          f"({'met' if at16['tokens_per_s'] >= 4 * base else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
