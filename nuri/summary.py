"""The run summary: one row per stage with wall time, key metrics and gate decision.
Pure formatting of the stage reports."""

from __future__ import annotations

STAGE_ORDER = ["ingest", "prepare", "base_model", "pretrain", "sft", "reward", "ppo", "safety", "service", "evaluate",
               "register", "selftest"]


def _f(v, digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def key_metrics(stage: str, m: dict) -> str:
    if not m:
        return ""
    if stage == "ingest":
        return f"{m.get('documents')} docs, {m.get('corpus_kb')} KB, {m.get('sft_records')} SFT, " \
               f"{m.get('preferences_records')} preference prompts"
    if stage == "prepare":
        removed = sum(v for k, v in m.items() if k.startswith("removed_"))
        return f"{m.get('corpus_train')}+{m.get('corpus_heldout')} docs, {removed} removed, " \
               f"{m.get('pii_redacted')} PII redacted, {m.get('pairs_train')} pairs"
    if stage == "base_model":
        return f"{m.get('parameters', 0) / 1e6:.1f}M params, vocab {m.get('vocab_size')}"
    if stage in ("pretrain", "sft"):
        tps = m.get("train_tokens_per_second")
        speed = f", {tps / 1000:.1f}k tok/s" if tps else f", {_f(m.get('train_samples_per_second'))} ex/s"
        return f"loss {_f(m.get('train_loss_first'))}->{_f(m.get('train_loss_last'))}, " \
               f"held-out {_f(m.get('eval_loss_before'))}->{_f(m.get('eval_loss'))}{speed}"
    if stage == "reward":
        return f"held-out pair accuracy {_f(m.get('heldout_accuracy'))} (worst behaviour kind " \
               f"{_f(m.get('heldout_accuracy_worst_behaviour_kind'))}, facts " \
               f"{_f(m.get('heldout_accuracy_fact_kinds'))}), loss " \
               f"{_f(m.get('train_loss_first'))}->{_f(m.get('train_loss_last'))}"
    if stage == "ppo":
        return f"{m.get('iterations')} iters, batch reward {_f(m.get('reward_first'))}->{_f(m.get('reward_last'))}, " \
               f"gain over SFT {_f(m.get('reward_gain'))}, KL {_f(m.get('kl'))}"
    if stage == "safety":
        if "safety_kosbi_test_accuracy" in m:
            return f"KoSBi test accuracy {_f(m.get('safety_kosbi_test_accuracy'))}, macro-F1 " \
                   f"{_f(m.get('safety_kosbi_test_macro_f1'))}; held-out harmful prompts flagged " \
                   f"{_f(m.get('safety_domain_harmful_recall'))}, in-domain {_f(m.get('safety_in_domain_flagged'))}"
        return f"domain set only: held-out harmful prompts flagged {_f(m.get('safety_domain_harmful_recall'))}, " \
               f"in-domain {_f(m.get('safety_in_domain_flagged'))}"
    if stage == "service":
        hits = ", ".join(f"@{k.rsplit('_', 1)[1]} {_f(v)}" for k, v in m.items() if k.startswith("retrieval_hit_at_"))
        guard = (f"; guard on held-out prompts: in-domain passed {_f(m.get('guard_in_domain_passed'))}, "
                 f"off-domain declined {_f(m.get('guard_off_domain_declined'))}, harmful refused "
                 f"{_f(m.get('guard_harmful_refused'))}") if "guard_in_domain_passed" in m else ""
        if "guard_check_requests" in m:
            guard += (f"; on its check set, everyday requests refused as harmful "
                      f"{_f(m.get('guard_check_everyday_refused'))} (basic services "
                      f"{_f(m.get('guard_check_everyday_refused_basic'))}), harmful refused "
                      f"{_f(m.get('guard_check_harmful_refused'))} (basic services "
                      f"{_f(m.get('guard_check_harmful_refused_basic'))}), stopped "
                      f"{_f(m.get('guard_check_harmful_stopped'))}")
        return f"{m.get('retrieval_passages')} passages; retrieval hit{hits} ({m.get('retrieval_questions')} " \
               f"questions){guard}"
    if stage == "evaluate":
        chain = [k for k in ("base", "pretrain", "sft", "ppo") if f"perplexity_{k}" in m]
        ppl = "/".join(_f(m.get(f"perplexity_{k}"), 4) for k in chain)
        names = "/".join({"pretrain": "cpt"}.get(k, k) for k in chain)
        return f"ppl {names} {ppl}; knowledge {_f(m.get('knowledge_accuracy'))}; " \
               f"detector F1 {_f(m.get('detector_macro_f1'))} (check set {_f(m.get('detector_check_macro_f1'))}); " \
               f"behaviour below"
    if stage == "selftest":
        return (f"{m.get('questions')} questions, {_f(m.get('mean_latency_s'))} s each, "
                f"{_f(m.get('tokens_per_second'))} tok/s")
    if stage == "register":
        return ""
    return ", ".join(f"{k}={_f(v)}" for k, v in list(m.items())[:4])


def judged_models(m: dict) -> list[str]:
    """The models whose answers evaluation judged (SFT and PPO, SFT alone, or the base
    model, by training method), in chain order."""
    return [x for x in ("base", "sft", "ppo") if f"answer_rate_{x}" in m]


# (label, metric stem, prompt count key): the behaviour rows, one column per judged model.
BEHAVIOUR_ROWS = [
    ("in-domain questions answered", "answer_rate", "prompts_in_domain"),
    ("off-domain questions declined", "decline_rate", "prompts_off_domain"),
    ("harmful requests refused", "refusal_rate", "prompts_harmful"),
    ("distinct in-domain answers", "answer_diversity", "prompts_in_domain"),
    ("mean reward (reward model)", "reward", None),
]


def behaviour_rows(m: dict) -> list[tuple[str, ...]]:
    """(what, held-out prompts, one value per judged model) for the behaviour metrics."""
    models = judged_models(m)
    if not models:
        return []
    return [(label, str(int(m[n])) if n and n in m else "", *(_f(m.get(f"{stem}_{x}")) for x in models))
            for label, stem, n in BEHAVIOUR_ROWS if stem != "reward" or any(f"reward_{x}" in m for x in models)]


def render_behaviour(report: dict | None, samples_per_kind: int = 1) -> str:
    """The behaviour table and a few sample answers, under the stage table."""
    if not report:
        return ""
    rows = behaviour_rows(report.get("metrics", {}))
    if not rows:
        return ""
    models = judged_models(report.get("metrics", {}))
    head = ("behaviour on held-out prompts", "prompts", *(x.upper() for x in models))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    lines.insert(1, "-" * (sum(widths) + 6))
    shown: dict[str, int] = {}
    for s in report.get("samples", []):
        if shown.get(s["kind"], 0) >= samples_per_kind:
            continue
        shown[s["kind"]] = shown.get(s["kind"], 0) + 1
        lines.append(f"{s['kind']}: {s['prompt'][:70]}")
        for model in models:
            if model in s:
                lines.append(f"    {model} [{s.get(model + '_label', '?')}] {s[model][:110]}")
    trust = trust_lines(report.get("metrics", {}), report.get("benchmarks_skipped"))
    return "\n".join(lines + ([""] + trust if trust else []))


# (label, metric stem): the fact check's rows, one column per judged model.
FACT_ROWS = [
    ("answers whose facts the source supports", "facts_supported"),
    ("  contradict the source (wrong value)", "facts_contradicted"),
    ("  state facts the source lacks", "facts_unsupported"),
    ("  state no checkable fact", "facts_absent"),
    ("hallucination rate", "hallucination_rate"),
]


def trust_lines(m: dict, skipped: dict | None = None) -> list[str]:
    """The trust evaluation in a few lines: hallucination, leakage, then the public
    benchmarks (each line only when measured; a skipped one says why)."""
    checked = [x for x in judged_models(m) if f"facts_supported_{x}" in m]
    if not checked and "canaries_planted" not in m:
        return []
    lines = []
    if checked:
        head = (f"hallucination ({_f(m.get('fact_questions'))} held-out questions checked against "
                f"their source document)", *(x.upper() for x in checked))
        body = [(label, *(_f(m.get(f"{stem}_{x}")) for x in checked)) for label, stem in FACT_ROWS]
        width = max(len(r[0]) for r in [head, *body])
        lines += [f"{r[0].ljust(width)}  " + "  ".join(c.ljust(6) for c in r[1:]).rstrip() for r in [head, *body]]
    if "canaries_planted" in m:
        lines.append(f"personal data: canaries planted {_f(m.get('canaries_planted'))}, in the training corpus "
                     f"{_f(m.get('canaries_in_corpus'))}, survived de-identification "
                     f"{_f(m.get('canaries_survived_deid'))}, regurgitated {_f(m.get('canaries_regurgitated'))}; "
                     f"PII found in {_f(m.get('answers_checked_for_pii'))} generated answers: "
                     f"{_f(m.get('answer_pii_findings'))}")
    if "kobbq_accuracy_ambiguous" in m:
        lines.append(f"bias (KoBBQ, {_f(m.get('kobbq_items'))} items): accuracy ambiguous "
                     f"{_f(m.get('kobbq_accuracy_ambiguous'))}, disambiguated {_f(m.get('kobbq_accuracy_disambiguated'))}; "
                     f"diff-bias ambiguous {_f(m.get('kobbq_diff_bias_ambiguous'))}, disambiguated "
                     f"{_f(m.get('kobbq_diff_bias_disambiguated'))} (0 is unbiased; chance accuracy "
                     f"{_f(m.get('kobbq_chance_accuracy_ambiguous'))})")
    if "square_refusal_rate" in m:
        lines.append(f"sensitive questions (SQuARe test, {_f(m.get('square_questions'))}): refused or declined "
                     f"{_f(m.get('square_refusal_rate'))}, acceptable {_f(m.get('square_acceptable_rate'))}")
    for x in (x for x in judged_models(m) if f"harmful_answer_rate_{x}" in m):
        lines.append(f"unsafe statements in {x.upper()}'s answers, judged by the safety classifier: "
                     f"{_f(m.get(f'harmful_answer_rate_{x}'))} (classifier: KoSBi test accuracy "
                     f"{_f(m.get('safety_kosbi_test_accuracy'))}, macro-F1 {_f(m.get('safety_kosbi_test_macro_f1'))})")
    if "knowledge_harness_acc" in m:
        lines.append(f"knowledge through lm-eval (local task): acc {_f(m.get('knowledge_harness_acc'))}, acc_norm "
                     f"{_f(m.get('knowledge_harness_acc_norm'))} (Nuri's own scorer {_f(m.get('knowledge_accuracy'))}, "
                     f"chance {_f(m.get('knowledge_chance'))})")
    for name, why in (skipped or {}).items():
        lines.append(f"{name}: not measured ({why})")
    return lines


def gate_text(report: dict) -> str:
    gate = report.get("gate")
    if report.get("status") == "error":
        return "ERROR"
    if not gate:
        return "-"
    if gate["passed"]:
        criteria = gate.get("criteria") or []
        if not criteria or report["stage"] == "selftest":
            return "pass"
        # A long list (the release gate) is in the stage's report; the table stays readable.
        return f"pass ({'; '.join(criteria)})" if len(criteria) <= 3 else f"pass (all {len(criteria)} criteria)"
    return "FAIL: " + "; ".join(gate["failures"])


def render_table(reports: dict[str, dict]) -> str:
    rows = [("stage", "wall s", "key metrics", "gate")]
    for stage in STAGE_ORDER:
        r = reports.get(stage)
        if r is None:
            rows.append((stage, "-", "not run", "-"))
            continue
        rows.append((stage, f"{r.get('wall_s', 0):.1f}", key_metrics(stage, r.get("metrics", {})), gate_text(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(row[j].ljust(widths[j]) for j in range(3)) + "  " + row[3])
        if i == 0:
            lines.append("-" * (sum(widths) + 6 + 20))
    return "\n".join(lines)


def render_html(reports: dict[str, dict], title: str, footer_lines: list[str]) -> str:
    """The run summary as one HTML page with the stages' charts inlined (base64), so it
    can be opened or mailed on its own."""
    import base64
    import html
    from pathlib import Path

    rows = []
    for stage in STAGE_ORDER:
        r = reports.get(stage)
        if r is None:
            rows.append(f"<tr><td>{stage}</td><td>-</td><td>not run</td><td>-</td></tr>")
            continue
        gate = gate_text(r)
        cls = "fail" if gate.startswith(("FAIL", "ERROR")) else "pass" if gate.startswith("pass") else ""
        if cls == "pass" and (r.get("gate") or {}).get("criteria") and stage != "selftest":
            gate = f"pass ({'; '.join(r['gate']['criteria'])})"  # the page has room for every criterion
        rows.append(f"<tr><td>{stage}</td><td>{r.get('wall_s', 0):.1f}</td>"
                    f"<td>{html.escape(key_metrics(stage, r.get('metrics', {})))}</td>"
                    f"<td class='{cls}'>{html.escape(gate)}</td></tr>")
    images = []
    for stage in STAGE_ORDER:
        r = reports.get(stage) or {}
        for name in ("curves.png", "evaluation.png"):
            path = Path(r.get("report_dir", "/nonexistent")) / name
            if path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                images.append(f"<figure><img src='data:image/png;base64,{data}'><figcaption>{stage}</figcaption></figure>")
    footer = "".join(f"<p>{html.escape(line)}</p>" for line in footer_lines)
    evaluation = reports.get("evaluate") or {}
    behaviour = ""
    rows_b = behaviour_rows(evaluation.get("metrics", {}))
    if rows_b:
        models = judged_models(evaluation.get("metrics", {}))
        heads = "".join(f"<th>{x.upper()}</th>" for x in models)
        behaviour = "<h2>Behaviour on held-out prompts</h2><table><tr><th></th><th>prompts</th>" + heads + \
                    "</tr>" + "".join(
                        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows_b) + \
                    "</table><h2>Sample answers</h2><table><tr><th>kind</th><th>prompt</th>" + heads + \
                    "</tr>" + "".join(
                        f"<tr><td>{html.escape(x['kind'])}</td><td>{html.escape(x['prompt'])}</td>" + "".join(
                            f"<td>[{html.escape(x.get(m + '_label', ''))}] {html.escape(x.get(m, ''))}</td>"
                            for m in models) + "</tr>"
                        for x in evaluation.get("samples", [])) + "</table>"
    trust = trust_lines(evaluation.get("metrics", {}), evaluation.get("benchmarks_skipped"))
    if trust:
        behaviour += "<h2>Trust</h2><pre style='white-space:pre-wrap'>" + html.escape("\n".join(trust)) + "</pre>"
    return f"""<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}}.pass{{color:#176b2c}}
.fail{{color:#b00020;font-weight:bold}}figure{{display:inline-block;margin:8px}}img{{max-width:520px}}</style>
</head><body><h1>{html.escape(title)}</h1><table><tr><th>stage</th><th>wall s</th><th>key metrics</th>
<th>gate</th></tr>{''.join(rows)}</table>{behaviour}{footer}{''.join(images)}</body></html>"""
