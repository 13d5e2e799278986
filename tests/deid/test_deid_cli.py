"""The CLI: round trips on files and stdin, the report, and one-line errors with exit code 2."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nuri.deid import cli

ROOT = Path(__file__).resolve().parents[2]


def run_cli(argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.run(parser.parse_args([str(a) for a in argv]))


def test_text_file_round_trip_with_report_file(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("연락처 010-1234-5678\n평범한 문장\n주민번호 951119-1458687\n", encoding="utf-8")
    out, report = tmp_path / "out.txt", tmp_path / "report.json"
    assert run_cli([src, "-o", out, "--report", report]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == ["연락처 [PHONE]", "평범한 문장", "주민번호 [RRN]"]
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["counts"] == {"PHONE": 1, "RRN": 1} and rep["documents"] == 3 and rep["total"] == 2
    assert "010" not in report.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.txt", "report.json"]


def test_jsonl_keeps_other_fields(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 7, "text": "메일 a@b.com", "meta": {"src": "민원"}}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_cli([src, "--jsonl", "-o", out, "--mode", "mask"]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == {"id": 7, "text": "메일 *******", "meta": {"src": "민원"}}
    assert json.loads(capsys.readouterr().err)["counts"] == {"EMAIL": 1}  # report on stderr


def test_stdin_to_stdout_as_module():
    proc = subprocess.run([sys.executable, "-m", "nuri.deid"], input="전화 02-123-4567\n".encode(),
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.decode() == "전화 [PHONE]\n"
    assert json.loads(proc.stderr)["counts"] == {"PHONE": 1}


def test_config_file_with_domain_deid_section(tmp_path):
    cfg = tmp_path / "domain.yaml"
    cfg.write_text("name: defense\ndeid:\n  sensitive_terms: [청해부대]\n", encoding="utf-8")
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("청해부대 파견\n", encoding="utf-8")
    assert run_cli([src, "-o", out, "--config", cfg, "--report", tmp_path / "r.json"]) == 0
    assert out.read_text(encoding="utf-8") == "[SENSITIVE] 파견\n"


@pytest.mark.parametrize("content,jsonl,reason", [
    (b'{"text": "ok"}\n{"text": "010-1234-5678", broken\n', True, "malformed JSON"),
    (b'{"text": "ok"}\n{"text": "ok"}\n{"id": 3}\n', True, "missing 'text' field"),
    (b"fine\n\xff\xfe bad bytes 010-1234-5678\n", False, "not valid UTF-8"),
])
def test_bad_input_one_line_with_file_and_line_exit_2(tmp_path, capsys, content, jsonl, reason):
    src = tmp_path / "bad.jsonl"
    src.write_bytes(content)
    out = tmp_path / "out.txt"
    out.write_text("previous good output\n", encoding="utf-8")
    line_no = content.count(b"\n")
    code = run_cli([src, "-o", out] + (["--jsonl"] if jsonl else []))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert f"{src}:{line_no}:" in err and reason in err
    assert "010" not in err
    # Nothing half-written is published and no temp file is left behind.
    assert out.read_text(encoding="utf-8") == "previous good output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "out.txt"]


def test_bad_input_on_stdin_names_stdin_and_prints_nothing_on_stdout():
    proc = subprocess.run([sys.executable, "-m", "nuri.deid", "--jsonl"], input=b'{"text": "a"}\nnot json\n',
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().strip().endswith("<stdin>:2: malformed JSON (Expecting value at column 1)")


def test_missing_pseudonym_key_and_missing_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NURI_PSEUDONYM_KEY", raising=False)
    src = tmp_path / "in.txt"
    src.write_text("x\n", encoding="utf-8")
    assert run_cli([src, "--mode", "pseudonym", "-o", tmp_path / "o.txt"]) == 2
    assert "NURI_PSEUDONYM_KEY" in capsys.readouterr().err
    assert run_cli([tmp_path / "absent.txt", "-o", tmp_path / "o.txt"]) == 2
    assert "absent.txt" in capsys.readouterr().err
    assert not (tmp_path / "o.txt").exists()


def test_bad_config_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sensitive_patterns:\n  - {name: broken, regex: '(x'}\n", encoding="utf-8")
    src = tmp_path / "in.txt"
    src.write_text("x\n", encoding="utf-8")
    assert run_cli([src, "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken" in err


def test_pseudonym_key_not_leaked_in_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NURI_PSEUDONYM_KEY", "cli-secret-987")
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("010-1234-5678\n", encoding="utf-8")
    assert run_cli([src, "-o", out, "--mode", "pseudonym"]) == 0
    captured = capsys.readouterr()
    assert "cli-secret-987" not in captured.err + captured.out + out.read_text(encoding="utf-8")
    assert os.environ["NURI_PSEUDONYM_KEY"] == "cli-secret-987"
