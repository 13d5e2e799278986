"""Bad input ends with one clear line naming the file, line or field and a non-zero
exit, before any work starts and with nothing published."""

import json
import subprocess
import sys

import pytest

from nuri_testing import REPO, WELFARE, write_domain


def nuri(*args, cwd=REPO, stdin=None):
    return subprocess.run([sys.executable, "-m", "nuri", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, input=stdin)


def one_line_error(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("nuri: error: ")
    return lines[0]


def _copy_data(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(WELFARE.parent / "welfare" / "data", data, ignore=shutil.ignore_patterns("corpus"))
    (data / "corpus").mkdir()
    for p in sorted((WELFARE.parent / "welfare" / "data" / "corpus").glob("*.txt"))[:20]:
        shutil.copy(p, data / "corpus" / p.name)
    return data


def _run_fails(tmp_path, domain, expected_code=2):
    proc = nuri("run", "--domain", str(domain), "--root", str(tmp_path / "runs"))
    assert proc.returncode == expected_code, proc.stdout + proc.stderr
    assert not (tmp_path / "runs" / "kfp").exists()          # nothing started
    assert not (tmp_path / "storage" / "releases").exists()  # nothing published
    return one_line_error(proc)


def test_missing_corpus(tmp_path):
    domain = write_domain(tmp_path, {"data": {"corpus": str(tmp_path / "missing")}})
    assert _run_fails(tmp_path, domain).endswith(f"{tmp_path / 'missing'}: corpus not found")


def test_empty_corpus(tmp_path):
    (tmp_path / "empty").mkdir()
    domain = write_domain(tmp_path, {"data": {"corpus": str(tmp_path / "empty")}})
    assert "corpus is empty" in _run_fails(tmp_path, domain)


def test_malformed_jsonl_line(tmp_path):
    data = _copy_data(tmp_path)
    lines = (data / "sft.jsonl").read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6][:-5]  # cut the closing of line 7
    (data / "sft.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    domain = write_domain(tmp_path, {"data": {"sft": str(data / "sft.jsonl")}})
    err = _run_fails(tmp_path, domain)
    assert f"{data / 'sft.jsonl'}:7: invalid JSON" in err


def test_record_missing_field(tmp_path):
    data = _copy_data(tmp_path)
    lines = (data / "preferences.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[2])
    del rec["chosen"]
    lines[2] = json.dumps(rec, ensure_ascii=False)
    (data / "preferences.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    domain = write_domain(tmp_path, {"data": {"preferences": str(data / "preferences.jsonl")}})
    assert f"preferences.jsonl:3: chosen: required field is missing" in _run_fails(tmp_path, domain)


def _swap(xs, i, j):
    xs[i], xs[j] = xs[j], xs[i]


@pytest.mark.parametrize("change, expected", [
    (lambda rec: rec["kinds"].__setitem__(0, "nonsense"), "kinds: unknown kind(s) ['nonsense']"),
    # the chosen answer labelled as a failure, a rejected one as a right response
    (lambda rec: _swap(rec["kinds"], rec["chosen"], (rec["chosen"] + 1) % len(rec["kinds"])), "kinds["),
])
def test_preference_kinds_that_do_not_fit_the_answers(tmp_path, change, expected):
    data = _copy_data(tmp_path)
    lines = (data / "preferences.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[4])
    assert rec["kinds"][rec["chosen"]] in ("answer", "decline", "refusal")
    change(rec)
    lines[4] = json.dumps(rec, ensure_ascii=False)
    (data / "preferences.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    domain = write_domain(tmp_path, {"data": {"preferences": str(data / "preferences.jsonl")}})
    assert f"preferences.jsonl:5: {expected}" in _run_fails(tmp_path, domain)


def test_unknown_config_field(tmp_path):
    domain = write_domain(tmp_path, {"stages": {"pretrain": {"epochz": 3}}})
    err = _run_fails(tmp_path, domain)
    assert f"{domain}:" in err and "stages.pretrain.epochz: unknown field" in err


def test_wrong_type(tmp_path):
    domain = write_domain(tmp_path, {"runtime": {"num_workers": "two"}})
    assert "runtime.num_workers: Input should be a valid integer" in _run_fails(tmp_path, domain)


def test_validate_reports_counts():
    proc = nuri("validate", "--domain", str(WELFARE))
    assert proc.returncode == 0, proc.stderr
    assert "valid (welfare)" in proc.stdout and "documents 660" in proc.stdout


def test_serve_refuses_public_bind_without_key(tmp_path):
    (tmp_path / "rel" / "model").mkdir(parents=True)
    proc = nuri("serve", "--release-dir", str(tmp_path / "rel"), "--host", "0.0.0.0")
    assert proc.returncode == 2
    assert "NURI_API_KEY" in one_line_error(proc)


def test_deid_subcommand_redacts_stdin():
    proc = nuri("deid", stdin="신청인 연락처 010-2345-6789, 메일 hong@example.com\n")
    assert proc.returncode == 0, proc.stderr
    assert "010-2345-6789" not in proc.stdout and "hong@example.com" not in proc.stdout
    assert "010-2345-6789" not in proc.stderr  # the report counts, never quotes


def test_no_release_when_none_promoted(tmp_path):
    domain = write_domain(tmp_path)
    proc = nuri("serve", "--domain", str(domain))
    assert proc.returncode == 2
    assert "no promoted release" in one_line_error(proc)


def test_duplicate_yaml_key_is_an_error_not_a_silent_override(tmp_path):
    domain = write_domain(tmp_path)
    lines = domain.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("description:"))
    lines.insert(at + 1, "description: a second description")
    domain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = _run_fails(tmp_path, domain)
    assert f"{domain}:{at + 2}: invalid YAML (duplicate key 'description' (first given on line {at + 1}))" in err


def test_pretrained_base_model_that_is_not_there(tmp_path):
    domain = write_domain(tmp_path, {"base_model": {"source": "pretrained", "path": "/nonexistent/model"}})
    proc = nuri("validate", "--domain", str(domain))
    assert proc.returncode == 2
    assert one_line_error(proc).endswith("base_model.path /nonexistent/model: no such folder")
    (tmp_path / "notamodel").mkdir()
    domain = write_domain(tmp_path, {"base_model": {"source": "pretrained", "path": str(tmp_path / "notamodel")}})
    assert "no config.json there" in _run_fails(tmp_path, domain)


def _s3_domain(tmp_path):
    return write_domain(tmp_path, {"storage": {"uri": "s3://nuri-releases/welfare"}})


def test_object_store_without_credentials(tmp_path, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NURI_S3_ENDPOINT", "http://127.0.0.1:9")
    proc = nuri("run", "--domain", str(_s3_domain(tmp_path)), "--root", str(tmp_path / "runs"))
    assert proc.returncode == 2 and not (tmp_path / "runs" / "kfp").exists()
    assert one_line_error(proc) == ("nuri: error: storage.uri s3://nuri-releases/welfare: s3:// storage needs "
                                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def test_object_store_that_does_not_answer(tmp_path, monkeypatch):
    from nuri.serving.server import free_port

    monkeypatch.setenv("NURI_S3_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nuri-test-access")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nuri-test-secret-value")
    proc = nuri("run", "--domain", str(_s3_domain(tmp_path)), "--root", str(tmp_path / "runs"))
    assert proc.returncode == 2 and not (tmp_path / "runs" / "kfp").exists()
    err = one_line_error(proc)
    assert "storage.uri s3://nuri-releases/welfare: the object store at http://127.0.0.1:" in err
    assert "does not answer" in err
    assert "nuri-test-secret-value" not in proc.stdout + proc.stderr


def test_object_store_endpoint_with_a_password_in_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NURI_S3_ENDPOINT", "http://minio:nuri-endpoint-password@127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nuri-test-access")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nuri-test-secret-value")
    proc = nuri("validate", "--domain", str(_s3_domain(tmp_path)))
    assert proc.returncode == 2
    assert "NURI_S3_ENDPOINT must not carry a user or password" in one_line_error(proc)
    assert "nuri-endpoint-password" not in proc.stdout + proc.stderr


def test_object_store_bucket_missing(tmp_path, monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # stand-in for MinIO
    server.start()
    _, port = server.get_host_and_port()
    try:
        monkeypatch.setenv("NURI_S3_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nuri-test-access")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nuri-test-secret-value")
        proc = nuri("validate", "--domain", str(_s3_domain(tmp_path)))
    finally:
        server.stop()
    assert proc.returncode == 2
    assert one_line_error(proc).endswith("storage.uri s3://nuri-releases/welfare: bucket 'nuri-releases' does not exist")


def test_pretrained_base_model_in_a_bucket_that_is_not_there(tmp_path, monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # stand-in for MinIO
    server.start()
    _, port = server.get_host_and_port()
    domain = write_domain(tmp_path, {"base_model": {"source": "pretrained", "path": "s3://no-such-bucket/base"}})
    try:
        monkeypatch.setenv("NURI_S3_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nuri-test-access")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nuri-test-secret-value")
        proc = nuri("validate", "--domain", str(domain))
    finally:
        server.stop()
    assert proc.returncode == 2
    err = one_line_error(proc)  # not a traceback from inside the S3 client
    assert err.startswith("nuri: error: base_model.path s3://no-such-bucket/base: the object store refused"), err
    assert "nuri-test-secret-value" not in proc.stdout + proc.stderr
