"""Command line: redact documents from a file or stdin, write them plus a per-type count report.

    python -m nuri.deid input.jsonl --jsonl -o redacted.jsonl --report counts.json
    cat notes.txt | python -m nuri.deid > redacted.txt        # report on stderr

Output (file or stdout) is written aside and published only when every line
succeeded. Bad input ends with one line on stderr, ``FILE:LINE: reason``, and
exit code 2; it never quotes the offending data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import ValidationError

from nuri.deid.config import DeidConfig
from nuri.deid.engine import Deidentifier
from nuri.deid.replace import PseudonymKeyMissing
from nuri.deid.stream import BadInput, redact_documents

EXIT_BAD_INPUT = 2
_PROG = "nuri deid"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-",
                        help="documents, one per line (or JSONL with --jsonl); '-' or absent: stdin")
    parser.add_argument("-o", "--output", default="-", help="redacted documents; '-' or absent: stdout")
    parser.add_argument("--jsonl", action="store_true",
                        help="input lines are JSON objects; redact their 'text' field, keep the others")
    parser.add_argument("--report", default=None,
                        help="write the per-type count report (JSON) here instead of stderr")
    parser.add_argument("--config", default=None,
                        help="YAML/JSON file with DeidConfig fields, or a domain config with a 'deid:' section")
    parser.add_argument("--mode", choices=["placeholder", "mask", "pseudonym"], default=None,
                        help="override the config's replacement mode")


class _Fail(Exception):
    """Ends the run with one line on stderr and exit code 2."""


def _load_config(path: str | None, mode: str | None) -> DeidConfig:
    data: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise _Fail(f"{path}: cannot read config ({type(exc).__name__})") from None
        if not isinstance(loaded, dict):
            raise _Fail(f"{path}: config is not a mapping")
        # A domain config carries these settings under "deid:"; a bare file is the section itself.
        section = loaded["deid"] if "deid" in loaded else loaded
        if section is None:
            section = {}
        if not isinstance(section, dict):
            raise _Fail(f"{path}: deid settings are not a mapping")
        data = dict(section)
    if mode:
        data["mode"] = mode
    try:
        return DeidConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "deid"
        raise _Fail(f"{path or 'config'}: {where}: {err['msg']}") from None


def _decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    # Split on b"\n" only (not str.splitlines, which also breaks on U+2028 and
    # friends), so line numbers match what an editor shows.
    for line_no, raw in enumerate(stream, start=1):
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(line_no, f"not valid UTF-8 (byte {exc.start + 1})") from None


def _publish(tmp_path: str, destination: str) -> None:
    if destination == "-":
        with open(tmp_path, "rb") as src:
            shutil.copyfileobj(src, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        os.unlink(tmp_path)
    else:
        os.replace(tmp_path, destination)


def _temp_beside(destination: str) -> tuple[IO[str], str]:
    # Beside the destination so the final rename stays on one file system;
    # stdout is spooled through the temp folder and copied out on success.
    if destination == "-":
        folder = tempfile.gettempdir()
    else:
        folder = os.path.dirname(os.path.abspath(destination))
    fd, tmp_path = tempfile.mkstemp(prefix=".deid-", suffix=".part", dir=folder)
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n"), tmp_path


def run(args: argparse.Namespace) -> int:
    input_name = "<stdin>" if args.input == "-" else args.input
    try:
        config = _load_config(args.config, args.mode)
        deid = Deidentifier(config)
    except PseudonymKeyMissing as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _Fail as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    totals: Counter[str] = Counter()
    documents = 0
    tmp_paths: list[str] = []
    try:
        try:
            source = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
        except OSError as exc:
            raise _Fail(f"{input_name}: cannot open ({exc.strerror})") from None
        try:
            out, out_tmp = _temp_beside(args.output)
            tmp_paths.append(out_tmp)
            with out:
                for doc in redact_documents(_decoded_lines(source), args.jsonl,
                                            totals=totals, deidentifier=deid):
                    out.write(doc + "\n")
                    documents += 1
        except BadInput as exc:
            raise _Fail(f"{input_name}:{exc.line_no}: {exc.reason}") from None
        finally:
            if source is not sys.stdin.buffer:
                source.close()

        report = {"input": input_name, "documents": documents, "mode": config.mode,
                  "counts": dict(sorted(totals.items())), "total": sum(totals.values())}
        report_text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
        if args.report:
            rep, rep_tmp = _temp_beside(args.report)
            tmp_paths.append(rep_tmp)
            with rep:
                rep.write(report_text)
        _publish(out_tmp, args.output)
        tmp_paths.remove(out_tmp)
        if args.report:
            _publish(rep_tmp, args.report)
            tmp_paths.remove(rep_tmp)
        else:
            sys.stderr.write(report_text)
        return 0
    except _Fail as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"{_PROG}: cannot write output ({exc.strerror or type(exc).__name__})", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        for leftover in tmp_paths:
            try:
                os.unlink(leftover)
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nuri.deid", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
