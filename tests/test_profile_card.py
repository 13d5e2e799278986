"""The model profile card: every field measured, configured or unknown (never invented),
cost computed from measured throughput and a configured price, all four forms in the
release folder, `nuri card` and `nuri releases --compare`, and the HTML rendered by a
real headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from nuri.cli import main
from nuri.config import load_domain_config
from nuri.profile_card import build_card, compare, render_hf_readme, rows
from nuri.release import publish_release
from nuri.storage import open_storage
from nuri_testing import write_domain

EVALUATION = {"answer_rate_ppo": 0.97, "hallucination_rate_ppo": 0.62, "canaries_survived_deid": 0,
              "generation_tokens_per_second_batch16": 1000.0, "prefill_tokens_per_second": 20000.0,
              "perplexity_ppo": float("nan")}
REPORTS = {
    "base_model": {"wall_s": 1.0, "base_model": {"parameters": 5_212_416, "architecture": "llama", "vocab_size": 8000}},
    "pretrain": {"wall_s": 150.0, "hardware": {"cpu": "AMD EPYC", "cpu_cores": 2, "accelerator": None}},
    "sft": {"wall_s": 110.0},
    "evaluate": {"wall_s": 40.0, "metrics": EVALUATION, "gate": {"passed": True}},
}
LINEAGE = {"release": "welfare-v0007", "version": "v0007", "created_at": "2026-12-01T00:00:00+00:00",
           "data": {"dataset_version": "abc"}, "platform": {"git_commit": "deadbeef"}}


def _config(tmp_path, card=None):
    return load_domain_config(write_domain(tmp_path, {"card": card} if card else {}))


def test_fields_are_measured_configured_or_unknown_never_invented(tmp_path):
    card = build_card(_config(tmp_path, {"hourly_price": None}), REPORTS, LINEAGE,
                      {"languages": {"letter_share": {"ko": 0.98}}})
    statuses = {st for _, _, _, st, _ in rows(card)}
    assert statuses <= {"measured", "configured", "unknown"}
    assert card["overview"]["parameters"] == {"value": 5_212_416, "status": "measured", "source": "base model"}
    assert card["overview"]["organisation"]["status"] == "configured"
    # No price configured: no cost, and no accelerator measured: no power figure.
    assert card["cost"]["cost_per_1m_output_tokens"]["status"] == "unknown"
    assert card["cost"]["gpu_power_watts"]["status"] == "unknown"
    # A metric that was not measured (NaN) is left out, not printed as a number.
    assert "perplexity_ppo" not in card["quality"]["metrics"]
    assert card["quality"]["metrics"]["hallucination_rate_ppo"]["value"] == 0.62
    # Only the stages that ran: no reward model or PPO here, so no RLHF claim.
    assert card["stage"]["stage"]["value"] == "instruction-tuned"
    assert card["cost"]["wall_time_s"]["value"]["pretrain"] == 150.0


def test_cost_per_million_tokens_from_measured_throughput_and_configured_price(tmp_path):
    card = build_card(_config(tmp_path, {"hourly_price": 3600.0, "currency": "KRW"}), REPORTS, LINEAGE)
    # 3600 KRW/h at 1000 tok/s = 1 KRW per 1000 tokens = 1000 KRW per 1M tokens.
    assert card["cost"]["cost_per_1m_output_tokens"]["value"] == pytest.approx(1000.0)
    assert card["cost"]["cost_per_1m_input_tokens"]["value"] == pytest.approx(50.0)
    assert card["cost"]["cost_per_1m_output_tokens"]["status"] == "measured"


def test_hugging_face_card_has_metadata_front_matter(tmp_path):
    text = render_hf_readme(build_card(_config(tmp_path), REPORTS, LINEAGE))
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["language"] == ["ko"] and meta["library_name"] == "transformers"
    names = {m["type"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert {"answer_rate_ppo", "hallucination_rate_ppo"} <= names
    assert body.lstrip().startswith("# Model profile card: welfare-v0007")


def _publish(tmp_path, config, version_metrics):
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text("{}")
    storage = open_storage(str(tmp_path / "storage"))
    reports = {**REPORTS, "evaluate": {**REPORTS["evaluate"], "metrics": version_metrics}}
    return publish_release(storage, config.name, model, config_json=config.to_json(), metrics={}, lineage={},
                           card=lambda record: build_card(config, reports, record))


def test_release_holds_the_card_in_four_forms_and_the_cli_prints_and_compares(tmp_path, capsys):
    config = _config(tmp_path)
    first = _publish(tmp_path, config, EVALUATION)
    second = _publish(tmp_path, config, {**EVALUATION, "hallucination_rate_ppo": 0.41})
    folder = Path(first.uri)
    for name in ("card.json", "card.md", "card.html", "model/README.md"):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "RELEASE.json").read_text())["files"]
    assert "card.json" in manifest and "model/README.md" in manifest  # hashed like the rest
    assert json.loads((folder / "card.json").read_text())["release"] == first.name

    domain = str(tmp_path / "domain.yaml")
    assert main(["card", "--domain", domain, "--version", "v0001"]) == 0
    assert "# Model profile card: welfare-v0001" in capsys.readouterr().out
    assert main(["releases", "--domain", domain, "--compare", "v0001", "v0002"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "hallucination_rate_ppo" in x)
    assert "0.62" in line and "0.41" in line
    assert [r for r in compare(json.loads((folder / "card.json").read_text()),
                               json.loads((Path(second.uri) / "card.json").read_text()))
            if r[1] == "hallucination_rate_ppo"] == [("quality", "hallucination_rate_ppo", "0.62", "0.41")]


def test_card_of_a_missing_release_is_one_line(tmp_path, capsys):
    assert main(["card", "--domain", str(write_domain(tmp_path)), "--version", "v0009"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "v0009: no such release" in err[0]


def test_card_html_renders_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium fonts-noto-cjk; .ci/run does it)")
    from PIL import Image

    config = _config(tmp_path)
    release = _publish(tmp_path, config, EVALUATION)
    page = Path(release.uri) / "card.html"
    shot = tmp_path / "card.png"
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                          "--window-size=1200,1600", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), run.stderr[-500:]
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    dark = sum(1 for p in image.getdata() if p < 128) / (1200 * 1600)
    assert 0.005 < dark < 0.5, f"page looks blank or broken: {dark:.3%} dark pixels"
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "복지 상담 도우미" in dom and "hallucination_rate_ppo" in dom
