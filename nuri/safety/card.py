"""The safety classifier's model card: card.json (what `nuri.safety.train` measured) and
card.md (the same, for a person)."""

from __future__ import annotations

import json
from pathlib import Path

METRIC_LABELS = {
    "kosbi_test": "KoSBi kosbi_test (statement head, with context): main figure",
    "square_question_test": "SQuARe question_test, sensitive or not (request head, not trained to flag them: "
                            "a sensitive question is not a harmful request; 96% sensitive)",
    "square_question_test_vs_domain": "SQuARe question_test sensitive vs the domain's held-out questions (request "
                                      "head, not trained to flag them)",
    "square_response_test_ood": "SQuARe response_test_ood, not acceptable (statement head, question as context; secondary)",
    "domain_heldout": "Domain filtering set held out: harmful prompts vs in-domain questions (request head)",
}
SHARE_LABELS = {
    "unseen_harmful_prompts": "harmful prompts of the SFT set (never trained on): flagged",
    "unseen_in_domain_prompts": "in-domain prompts of the preference set (never trained on): flagged",
    "off_domain_prompts": "off-domain prompts (harmless, declined by the service): flagged",
    "answers_answer_statement_head": "right answers of the preference set, statement head: flagged",
    "answers_harmful_compliance_statement_head": "answers complying with a harmful request, statement head: flagged",
    "answers_answer_request_head": "right answers, request head (not made for answers): flagged",
    "answers_harmful_compliance_request_head": "answers complying with a harmful request, request head: flagged",
}


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render_markdown(card: dict) -> str:
    lines = [f"# Model card: {card['name']} {card.get('version') or '(unsaved)'}", "",
             f"Created {card['created_at']}. A Korean harmful/sensitive-text classifier (scikit-learn: "
             f"character n-gram TF-IDF and logistic regression), threshold {card['threshold']}.", ""]
    data = card["training_data"]
    if data.get("note"):
        lines += [f"**{data['note']}**", ""]
    lines += ["## Heads", ""] + [f"- `{k}`: {card['kinds'][k]}" for k in card["heads"]]
    lines += ["", "## Training data", "", "| data | use | examples | harmful | sha256 |", "|---|---|---|---|---|"]
    if data.get("benchmarks"):
        for name, s in data["benchmarks"]["splits"].items():
            lines.append(f"| {s['file']} | {s['use']} | {s['examples']} | {s['harmful']} | `{s['sha256'][:16]}…` |")
    dom = data["domain"]
    lines += [f"| domain filtering set | train | {dom['train']['examples']} | {dom['train']['harmful']} | |",
              f"| domain filtering set | held out | {dom['heldout']['examples']} | {dom['heldout']['harmful']} | |",
              "", f"Domain: {dom['note']}.", ""]
    lines += [f"- `{v['path']}` ({k}; {v['use']}): sha256 `{v['sha256'][:16]}…`" for k, v in dom["files"].items()]
    lines += [""]
    lines += ["## Features", "", "| head | analyzer | n-grams | hashed columns | C | models | examples | weights |",
              "|---|---|---|---|---|---|---|---|"]
    for k, f in card["features"].items():
        lines.append(f"| {k} | {f['analyzer']} | {f['ngram_range'][0]}-{f['ngram_range'][1]} | {f['n_features']} | "
                     f"{f['C']} | {' + '.join(f['models'])} | {f['training_examples']} | {f['weights']} |")
    metrics = card.get("metrics")
    if metrics:
        lines += ["", "## Figures (test splits and held-out prompts; never trained or tuned on)", "",
                  "| set | examples | accuracy | macro-F1 |", "|---|---|---|---|"]
        for key, label in METRIC_LABELS.items():
            if key in metrics:
                m = metrics[key]
                lines.append(f"| {label} | {m['examples']} | {_fmt(m['accuracy'])} | {_fmt(m['macro_f1'])} |")
        d = metrics["domain_heldout"]
        lines += ["", f"- domain held out: harmful prompts flagged {_fmt(d['harmful_recall'])}, "
                      f"in-domain questions flagged {_fmt(d['in_domain_flagged'])}"]
        lines += [f"- {label}: {_fmt(metrics[k]['flagged'])} of {metrics[k]['examples']}"
                  for k, label in SHARE_LABELS.items() if metrics.get(k, {}).get("examples")]
    if card.get("throughput_texts_per_s"):
        tp = ", ".join(f"{k} {v:,} texts/s" for k, v in card["throughput_texts_per_s"].items())
        lines += ["", f"Throughput: {tp} ({card['throughput_note']})."]
    lines += ["", f"Training took {card['training_seconds']} s (seed {card['seed']}). Libraries: "
              + ", ".join(f"{k} {v}" for k, v in card["libraries"].items()) + "."]
    if card.get("model_sha256"):
        lines += ["", f"Model file `{card['model_file']}` sha256 `{card['model_sha256']}`."]
    if card.get("citations"):
        lines += ["", "## Data cited", ""] + [f"- {k}: {v}" for k, v in card["citations"].items()]
    return "\n".join(lines) + "\n"


def write_card(card: dict, directory: Path) -> None:
    directory = Path(directory)
    (directory / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    (directory / "card.md").write_text(render_markdown(card), encoding="utf-8")


def flat_metrics(card: dict) -> dict:
    """The safety classifier's card figures as flat metrics (gates and the profile card)."""
    m = card.get("metrics", {})
    out = {}
    for key, split in (("kosbi_test", "kosbi_test"), ("square_vs_domain", "square_question_test_vs_domain"),
                       ("domain_heldout", "domain_heldout")):
        for stat in ("accuracy", "macro_f1"):
            if stat in m.get(split, {}):
                out[f"safety_{key}_{stat}"] = m[split][stat]
    if "domain_heldout" in m:
        out["safety_domain_harmful_recall"] = m["domain_heldout"]["harmful_recall"]
        out["safety_in_domain_flagged"] = m["domain_heldout"]["in_domain_flagged"]
    if "off_domain_prompts" in m:
        out["safety_off_domain_flagged"] = m["off_domain_prompts"]["flagged"]
    out.update({f"safety_texts_per_s_{k}": v for k, v in card.get("throughput_texts_per_s", {}).items()})
    return out
