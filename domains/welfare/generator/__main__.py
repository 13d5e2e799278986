"""CLI: python -m domains.welfare.generator --out domains/welfare/data [--seed N]"""

from __future__ import annotations

import argparse
import json

from .generate import DEFAULT_SEED, write


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m domains.welfare.generator",
                                 description="Generate the synthetic welfare sample domain.")
    ap.add_argument("--out", default="domains/welfare/data", help="output data directory")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    counts = write(args.out, args.seed)
    print(json.dumps(counts, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
