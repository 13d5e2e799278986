"""Train the safety classifier, score it and save it with its card.

    python -m nuri.safety --domain domains/welfare.yaml --benchmarks ../shared/benchmarks --out runs/safety
    python -m nuri.safety --domain domains/welfare.yaml --out runs/safety-domain-only   # no benchmarks

Bad input ends with one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nuri.errors import NuriError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nuri.safety", description=__doc__.splitlines()[0])
    parser.add_argument("--domain", required=True, help="domain YAML (its data.safety, data.sft ... are read)")
    parser.add_argument("--benchmarks", default=None,
                        help="folder with kosbi/ and square/ (../shared/benchmarks); absent: the domain's set alone")
    parser.add_argument("--out", required=True, help="folder for model.skops, card.json and card.md")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from nuri.config import load_domain_config
    from nuri.safety.data import domain_set_of
    from nuri.safety.train import train

    if args.benchmarks and not Path(args.benchmarks).is_dir():
        print(f"warning: no benchmark folder at {args.benchmarks}: training on the domain's set alone",
              file=sys.stderr)
    try:
        clf = train(Path(args.benchmarks) if args.benchmarks else None,
                    domain_set_of(load_domain_config(args.domain)), seed=args.seed)
        clf.save(Path(args.out))
    except NuriError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    m = clf.card["metrics"]
    main_figure = m.get("kosbi_test") or m["domain_heldout"]
    print(f"{clf.card['name']} {clf.card['version']} -> {args.out}: heads {', '.join(clf.kinds)}; "
          f"{'kosbi_test' if 'kosbi_test' in m else 'domain held out'} macro-F1 {main_figure['macro_f1']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
