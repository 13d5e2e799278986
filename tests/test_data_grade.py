"""The data security grade (public 공개 / sensitive 민감 / confidential 비공개): declared by
every domain, enforced at load for confidential ones (one line, before any work), and
recorded on the data card, the release and the profile card."""

import json
import subprocess
import sys

import pytest

from nuri_testing import REPO, write_domain

from nuri.config import load_domain_config
from nuri.data_grade import in_cluster_host
from nuri.errors import ConfigError

TEACHER = {"base_url": "http://teacher.nuri-system.svc:8000/v1", "model": "t"}


def _grade(tmp_path, grade, **over):
    return write_domain(tmp_path, {"data_grade": grade, **over})


def test_every_domain_declares_its_grade(tmp_path):
    path = write_domain(tmp_path)
    path.write_text("\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                              if not line.startswith("data_grade:")), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"data_grade: required field is missing"):
        load_domain_config(path)


def test_confidential_storage_must_be_the_tenants_bucket(tmp_path):
    with pytest.raises(ConfigError, match=r"data_grade confidential \(비공개\): storage.uri s3://shared/welfare is "
                                          r"outside the tenant's bucket s3://agency-welfare/"):
        load_domain_config(_grade(tmp_path, "confidential", storage={"uri": "s3://shared/welfare"}))
    assert load_domain_config(_grade(tmp_path, "confidential", storage={"uri": "s3://agency-welfare/runs"}))
    assert load_domain_config(_grade(tmp_path, "confidential"))  # a local folder stays on the machine
    assert load_domain_config(_grade(tmp_path, "sensitive", storage={"uri": "s3://shared/welfare"}))


def test_confidential_documents_never_go_to_a_teacher_outside_the_cluster(tmp_path):
    outside = {**TEACHER, "base_url": "https://api.example.com/v1"}
    with pytest.raises(ConfigError, match=r"data.teacher.base_url https://api.example.com/v1 is outside the cluster"):
        load_domain_config(_grade(tmp_path, "confidential", data={"teacher": outside}))
    assert load_domain_config(_grade(tmp_path, "confidential", data={"teacher": TEACHER}))
    assert load_domain_config(_grade(tmp_path, "public", data={"teacher": outside}))


def test_confidential_sources_in_another_bucket_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"data.sources\[0\] s3://other/docs is outside"):
        load_domain_config(_grade(tmp_path, "confidential", data={"sources": [{"kind": "s3", "uri": "s3://other/docs"}]}))


@pytest.mark.parametrize("host,inside", [("teacher", True), ("teacher.nuri-system.svc", True),
                                          ("teacher.nuri-system.svc.cluster.local", True), ("127.0.0.1", True),
                                          ("localhost", True), ("teacher.nuri-system", False),
                                          ("api.example.com", False), ("", False), ("evil.svc.example.com", False)])
def test_in_cluster_hosts(host, inside):
    assert in_cluster_host(host) is inside


def test_the_refusal_is_one_line_before_any_work(tmp_path):
    path = _grade(tmp_path, "confidential", storage={"uri": "s3://shared/welfare"})
    proc = subprocess.run([sys.executable, "-m", "nuri", "run", "--domain", str(path), "--root", str(tmp_path / "r")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("nuri: error:")]
    assert len(errors) == 1 and "outside the tenant's bucket" in errors[0]
    assert not (tmp_path / "r" / "runs").exists()  # nothing started


def test_the_grade_is_on_the_data_card_and_the_profile_card(tmp_path):
    from nuri.data.cards import render_html, render_markdown
    from nuri.profile_card import build_card

    config = load_domain_config(_grade(tmp_path, "sensitive"))
    card = {"domain": "welfare", "version": "v", "data_grade": "sensitive", "counts": {}, "removed": {},
            "pii_redacted": {}, "deid_mode": "mask", "files_sha256": {}}
    assert "Data security grade: **sensitive (민감)**" in render_markdown(card)
    assert "sensitive (민감)" in render_html(card)
    profile = build_card(config, {}, {"release": "welfare-v0001"})
    assert profile["overview"]["data_grade"]["value"] == "sensitive (민감)"
    assert json.dumps(profile, ensure_ascii=False).count("민감") == 1
