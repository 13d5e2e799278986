"""The model profile card of a release, in the fields of the public sector's generative-AI
analysis framework: overview, function, stage, quality, cost, openness.

Every field is {"value", "status", "source"} with status
    measured    read from the run (stage reports, evaluation, lineage, the machine);
    configured  said by the agency in the domain config (`card:` and the rest);
    unknown     neither: printed as unknown, never guessed.
card.json is the source of truth; card.md, card.html and the Hugging Face model card
(model/README.md, YAML front matter) are renderings of it. Pure logic apart from
write_card."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

from nuri import data_grade
from nuri.config import DomainConfig
from nuri.gates import STAGE_METRICS
from nuri.training_method import TRAINING_STAGES

STAGE_NAMES = {"pretrain": "continued pretraining", "sft": "supervised fine-tuning",
               "reward": "reward model", "ppo": "PPO (RLHF)"}
SECTIONS = ("overview", "function", "stage", "quality", "cost", "openness")


def measured(value, source: str) -> dict:
    return {"value": value, "status": "measured", "source": source}


def configured(value, source: str) -> dict:
    if value is None or value == []:
        return unknown(f"not set ({source})")
    return {"value": value, "status": "configured", "source": source}


def unknown(why: str) -> dict:
    return {"value": None, "status": "unknown", "source": why}


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _metric(metrics: dict, key: str, source: str) -> dict:
    v = metrics.get(key)
    return measured(v, source) if _finite(v) else unknown(f"{key} not measured in this run")


def _cost_per_million(price: float | None, currency: str, tokens_per_s) -> dict:
    if price is None:
        return unknown("card.hourly_price is not set")
    if not _finite(tokens_per_s) or tokens_per_s <= 0:
        return unknown("throughput not measured")
    return measured(round(price / (tokens_per_s * 3600) * 1e6, 4),
                    f"measured throughput {tokens_per_s:.0f} tok/s and configured price {price:g} {currency}/h")


def _selftest_speed(selftest: dict | None) -> dict:
    if selftest and _finite(selftest.get("tokens_per_second")):
        return measured(selftest["tokens_per_second"], "serving self-test over HTTP, one request at a time")
    return unknown("measured at the self-test, after the release is written: `nuri card` shows it once "
                   "the release is promoted")


def with_selftest(card: dict, selftest: dict | None) -> dict:
    """The card with the promotion record's self-test speed filled in."""
    out = json.loads(json.dumps(card))
    out["quality"]["throughput_tokens_per_second"]["selftest_http"] = _selftest_speed(selftest)
    return out


def build_card(config: DomainConfig, reports: dict[str, dict], lineage: dict, dataset_card: dict | None = None,
               selftest: dict | None = None) -> dict:
    """reports: the stage reports of the run (stage -> report.json); lineage: the release's
    lineage record; dataset_card: the dataset version's card; selftest: the promotion
    record's self-test, once there is one."""
    ev = reports.get("evaluate", {}).get("metrics", {})
    base = reports.get("base_model", {}).get("base_model") or {}
    card_cfg = config.card
    ran = [s for s in TRAINING_STAGES if s in reports]
    rlhf = "ppo" in ran and "reward" in ran
    stage_value = ("instruction-tuned with RLHF" if rlhf else "instruction-tuned" if "sft" in ran
                   else "domain-adapted" if "pretrain" in ran else "foundation")
    parent = (f"pretrained model at {config.base_model.path}" if config.base_model.source == "pretrained"
              else "none: initialised from config and trained from scratch on the domain corpus")
    data = lineage.get("data", {})
    hangul = ((dataset_card or {}).get("languages") or {}).get("letter_share", {}).get("ko")

    quality = {}
    descriptions = STAGE_METRICS["release"]
    for key in sorted(ev):
        if key in descriptions and _finite(ev[key]):
            quality[key] = {**measured(ev[key], "evaluation stage"), "what": descriptions[key]}
    benchmarks = reports.get("evaluate", {}).get("benchmarks", {})
    throughput = {
        "generation_batch1": _metric(ev, "generation_tokens_per_second_batch1",
                                     "evaluation: greedy generation, one prompt at a time"),
        "generation_batch16": _metric(ev, "generation_tokens_per_second_batch16",
                                      "evaluation: greedy generation, 16 prompts per batch"),
        "prefill": _metric(ev, "prefill_tokens_per_second", "evaluation: prompt tokens read per second"),
        "selftest_http": _selftest_speed(selftest),
    }
    hw = {s: reports[s]["hardware"] for s in ran if reports[s].get("hardware")}
    out_tps = ev.get("generation_tokens_per_second_batch16")
    in_tps = ev.get("prefill_tokens_per_second")
    power = (unknown("no accelerator utilisation measured (served on CPU)") if card_cfg.device_tdp_watts is None
             else unknown(f"configured TDP {card_cfg.device_tdp_watts:g} W, but utilisation is not measured"))

    return {
        "card_version": 1,
        "release": lineage.get("release"),
        "overview": {
            "name": configured(config.display_name, "display_name"),
            "version": measured(lineage.get("version"), "release"),
            "parameters": measured(base.get("parameters"), "base model") if base.get("parameters")
            else unknown("base model report missing"),
            "organisation": configured(config.organisation, "organisation"),
            "data_grade": configured(data_grade.label(config.data_grade), "data_grade"),
            "nationality": configured(card_cfg.nationality, "card.nationality"),
            "open_weights": configured(card_cfg.open_weights, "card.open_weights"),
            "release_date": measured(lineage.get("created_at"), "release"),
        },
        "function": {
            "domain": configured(config.description or config.name, "description"),
            "tasks": configured(["domain question answering (answers in-domain questions, declines "
                                 "off-domain ones, refuses harmful requests)"], "the service the release offers"),
            "modalities": configured(["text"], "causal language model"),
            "korean_support": measured(f"Korean-first: Hangul is {hangul:.1%} of the training corpus's letters",
                                       "dataset card") if hangul is not None
            else unknown("the dataset card has no letter shares"),
            "languages": configured(config.languages, "languages"),
            "model_type": measured(f"decoder-only transformer ({base.get('architecture', 'unknown')})",
                                   "base model") if base else unknown("base model report missing"),
            "parent_model": configured(parent, "base_model"),
            "lineage": measured({"dataset_version": data.get("dataset_version"), "dataset_uri": data.get("dataset_uri"),
                                 "checkpoints": lineage.get("checkpoints", {}),
                                 "git_commit": (lineage.get("platform") or {}).get("git_commit")}, "lineage.json"),
            "deployment_channels": configured(card_cfg.deployment_channels, "card.deployment_channels"),
        },
        "stage": {
            "stage": measured(stage_value, "the training stages that ran"),
            "training_method": configured(config.training.method, "training.method"),
            "recipe": measured([STAGE_NAMES[s] for s in ran], "stage reports"),
        },
        "quality": {
            "metrics": quality,
            "benchmarks": measured(benchmarks, "evaluation stage") if benchmarks
            else unknown("no public benchmark folder was given (evaluation.benchmarks)"),
            "gate": measured(reports.get("evaluate", {}).get("gate"), "release gate"),
            "guard_gate": measured(reports["service"]["gate"], "service gate") if reports.get("service", {}).get("gate")
            else unknown("no service gate was recorded"),
            "throughput_tokens_per_second": throughput,
        },
        "cost": {
            "training_hardware": measured(hw, "stage reports") if hw else unknown("not recorded"),
            "wall_time_s": measured({s: reports[s].get("wall_s") for s in reports if reports[s].get("wall_s")},
                                    "stage reports"),
            "inference_hardware": configured(card_cfg.inference_hardware, "card.inference_hardware"),
            "cost_per_1m_input_tokens": _cost_per_million(card_cfg.hourly_price, card_cfg.currency, in_tps),
            "cost_per_1m_output_tokens": _cost_per_million(card_cfg.hourly_price, card_cfg.currency, out_tps),
            "currency": configured(card_cfg.currency, "card.currency"),
            "gpu_power_watts": power,
        },
        "openness": {
            "data": configured(card_cfg.data_openness, "card.data_openness"),
            "weights": configured(card_cfg.weights_licence, "card.weights_licence"),
            "architecture": measured({k: base[k] for k in ("architecture", "parameters", "vocab_size") if k in base},
                                     "base model") if base else unknown("base model report missing"),
            "code": configured(card_cfg.code_licence, "card.code_licence"),
            "licence": configured(card_cfg.weights_licence, "card.weights_licence"),
        },
    }


# --- renderings ---------------------------------------------------------------------

def _show(v) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def rows(card: dict) -> list[tuple[str, str, str, str, str]]:
    """(section, field, value, status, source) for every field, quality metrics included."""
    out = []
    for section in SECTIONS:
        for name, f in card[section].items():
            if section == "quality" and name == "metrics":
                out += [(section, k, _show(m["value"]), m["status"], m["what"]) for k, m in f.items()]
            elif section == "quality" and name == "throughput_tokens_per_second":
                out += [(section, f"tokens/s {k}", _show(m["value"]), m["status"], m["source"]) for k, m in f.items()]
            else:
                out.append((section, name, _show(f["value"]), f["status"], f["source"]))
    return out


def render_markdown(card: dict) -> str:
    lines = [f"# Model profile card: {card['release']}", "",
             "Fields of the public sector's generative-AI analysis framework. status: measured (from the run), "
             "configured (said by the agency), unknown (neither).", ""]
    for section in SECTIONS:
        lines += [f"## {section}", "", "| field | value | status | source |", "| --- | --- | --- | --- |"]
        lines += [f"| {f} | {v.replace('|', '/')} | {st} | {src} |" for s, f, v, st, src in rows(card) if s == section]
        lines.append("")
    return "\n".join(lines)


def render_html(card: dict) -> str:
    body = []
    for section in SECTIONS:
        trs = "".join(f"<tr class='{st}'><td>{html.escape(f)}</td><td>{html.escape(v)}</td><td>{st}</td>"
                      f"<td>{html.escape(src)}</td></tr>" for s, f, v, st, src in rows(card) if s == section)
        body.append(f"<h2>{section}</h2><table><colgroup><col style='width:22%'><col style='width:40%'>"
                    f"<col style='width:9%'><col style='width:29%'></colgroup><tr><th>field</th><th>value</th>"
                    f"<th>status</th><th>source</th></tr>{trs}</table>")
    title = html.escape(f"Model profile card: {card['release']}")
    return f"""<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:'Noto Sans CJK KR',sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;
width:100%;table-layout:fixed}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px;
vertical-align:top;overflow-wrap:anywhere}}tr.unknown td{{color:#888}}tr.configured td:nth-child(3){{color:#8a5a00}}
tr.measured td:nth-child(3){{color:#176b2c}}</style></head><body><h1>{title}</h1>
<p>status: <b>measured</b> from the run, <b>configured</b> by the agency, <b>unknown</b> where neither.</p>
{''.join(body)}</body></html>"""


def render_hf_readme(card: dict) -> str:
    """A Hugging Face model card: YAML front matter (the hub's metadata), then the card."""
    import yaml

    metrics = [{"type": k, "value": round(float(m["value"]), 4), "name": m["what"][:80]}
               for k, m in card["quality"]["metrics"].items()]
    front = {
        "language": card["function"]["languages"]["value"] or [],
        "license": card["openness"]["licence"]["value"] or "other",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["nuri", "korean", "public-sector"] + (["rlhf"] if "RLHF" in str(card["stage"]["stage"]["value"]) else []),
        "model-index": [{"name": card["release"], "results": [{
            "task": {"type": "text-generation"},
            "dataset": {"name": "held-out domain prompts", "type": "nuri-heldout"},
            "metrics": metrics}]}],
    }
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + render_markdown(card)


def write_card(card: dict, folder: Path, model_dir: Path | None = None) -> list[Path]:
    """card.json, card.md, card.html into folder, and README.md into the model folder."""
    folder = Path(folder)
    written = []
    for name, text in (("card.json", json.dumps(card, ensure_ascii=False, indent=2)),
                       ("card.md", render_markdown(card)), ("card.html", render_html(card))):
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    if model_dir is not None:
        (Path(model_dir) / "README.md").write_text(render_hf_readme(card), encoding="utf-8")
        written.append(Path(model_dir) / "README.md")
    return written


def compare(a: dict, b: dict) -> list[tuple[str, str, str, str]]:
    """(section, field, value in a, value in b) for two cards, side by side."""
    left = {(s, f): v for s, f, v, _, _ in rows(a)}
    right = {(s, f): v for s, f, v, _, _ in rows(b)}
    keys = list(left) + [k for k in right if k not in left]
    return [(s, f, left.get((s, f), "-"), right.get((s, f), "-")) for s, f in keys]
