"""`nuri label`: a person picks the best answer for each prompt in the terminal.

    nuri label --input candidates.jsonl --output preferences.jsonl

Input: JSONL of {prompt, answers[]} (extra fields kept). Each item shows the prompt and
numbered answers; the person types a number (or s to skip, q to quit). Every choice is
appended to --output at once as {prompt, answers, chosen, labeller} (the reward-model set's
format), so a stopped session loses nothing and a new one resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import textwrap
from pathlib import Path

from nuri.data.records import CandidateRecord, read_jsonl


def add_arguments(parser) -> None:
    parser.add_argument("--input", required=True, help="JSONL of {prompt, answers[]}")
    parser.add_argument("--output", required=True, help="JSONL the choices are appended to")
    parser.add_argument("--labeller", default=os.environ.get("USER", ""), help="recorded with each choice")
    parser.add_argument("--shuffle", action="store_true",
                        help="show answers in a stable shuffled order (stored in the original order)")


def item_key(prompt: str, answers: list[str]) -> str:
    return hashlib.sha256(json.dumps([prompt, answers], ensure_ascii=False).encode()).hexdigest()[:16]


def _read_items(path: Path) -> list[dict]:
    return [r.model_dump() for r in read_jsonl(path, CandidateRecord, allow_empty=True)]


def _done(path: Path) -> set[str]:
    done = set()
    if path.is_file():
        with path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    obj = json.loads(line)
                    done.add(obj.get("key") or item_key(obj["prompt"], obj["answers"]))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a crash: that item is asked again
    return done


def run(args, stdin=None, stdout=None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    items = _read_items(Path(args.input))
    out = Path(args.output)
    done = _done(out)
    todo = [it for it in items if item_key(it["prompt"], it["answers"]) not in done]
    print(f"{len(items)} items, {len(items) - len(todo)} already labelled, {len(todo)} to go "
          f"(number = best answer, s = skip, q = quit)", file=stdout)
    labelled = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        for i, it in enumerate(todo, start=1):
            key = item_key(it["prompt"], it["answers"])
            order = list(range(len(it["answers"])))
            if getattr(args, "shuffle", False):
                order.sort(key=lambda j: hashlib.sha256(f"{key}{j}".encode()).digest())
            print(f"\n[{i}/{len(todo)}] {it['prompt']}", file=stdout)
            for shown, j in enumerate(order, start=1):
                body = textwrap.indent(textwrap.fill(it["answers"][j], 88), "     ").lstrip()
                print(f"  {shown}. {body}", file=stdout)
            while True:
                print(f"best answer [1-{len(order)}, s, q]: ", end="", file=stdout, flush=True)
                line = stdin.readline()
                choice = line.strip().lower()
                if not line or choice == "q":
                    print(f"\nstopped; {labelled} labelled this session, progress saved in {out}", file=stdout)
                    return 0
                if choice == "s":
                    break
                if choice.isdigit() and 1 <= int(choice) <= len(order):
                    chosen = order[int(choice) - 1]
                    rec = {**{k: v for k, v in it.items() if k not in ("chosen",)},
                           "chosen": chosen, "labeller": args.labeller, "key": key}
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    f.flush()
                    labelled += 1
                    break
                print(f"  please type a number from 1 to {len(order)}, s or q", file=stdout)
    print(f"\ndone; {labelled} labelled this session, saved in {out}", file=stdout)
    return 0
