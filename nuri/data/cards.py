"""Data cards (JSON, Markdown, HTML) and immutable publication of dataset versions.

    datasets/<domain>/<version>/...            the dataset files and its card
    datasets/<domain>/<version>/DATASET.json   written last: the version exists once it does

A version is the hash of its files, so publishing the same version twice is a no-op and
a published version never changes."""

from __future__ import annotations

import html
import json
from pathlib import Path

from nuri.data.bootstrap import ORIGINS
from nuri.data.kinds import REJECTED_KINDS
from nuri.errors import NuriError

MARKER = "DATASET.json"


def dataset_prefix(domain: str, version: str) -> str:
    return f"datasets/{domain}/{version}"


def _kind_meaning(kind: str) -> str:
    return REJECTED_KINDS[kind][1] if kind in REJECTED_KINDS else "no kind given in the record"


def render_markdown(card: dict) -> str:
    lines = [f"# Data card: {card['domain']} dataset {card['version']}", ""]
    if card.get("created_by"):
        lines += [f"Produced by `{card['created_by']}`.", ""]
    if card.get("data_grade"):
        from nuri.data_grade import label

        lines += [f"Data security grade: **{label(card['data_grade'])}**.", ""]
    lines += ["| set | records |", "|---|---|"] + [f"| {k} | {v} |" for k, v in card["counts"].items()]
    if card.get("readiness"):
        from nuri.data import readiness

        lines += readiness.render_markdown(card["readiness"])
    corpus = card.get("corpus", {})
    if corpus:
        lines += ["", "## Corpus", "", f"- documents read: {corpus.get('documents_in', 0)}",
                  f"- documents kept: {corpus.get('documents_kept', 0)}",
                  f"- characters: {corpus.get('chars', 0)}",
                  f"- tokens (whitespace words): {corpus.get('tokens', 0)}",
                  f"- boilerplate lines dropped: {corpus.get('boilerplate_lines', 0)}"]
    prefs = card.get("preferences")
    if prefs:
        lines += ["", "## Preference pairs", "",
                  f"- pairs: {prefs['pairs']}; distinct rejected answers: {prefs['rejected_distinct']}; "
                  f"most uses of one rejected answer: {prefs['rejected_max_reuse']}", "",
                  "| rejected kind | what it does | pairs |", "|---|---|---|"] + \
            [f"| {k} | {_kind_meaning(k)} | {v} |" for k, v in prefs["rejected_by_kind"].items()]
    origins = card.get("origins")
    if origins and origins.get("sets"):
        lines += ["", "## Where the items come from", "",
                  "given: the agency's own files; derived: from its documents' structure (data.bootstrap); "
                  "reviewed: derived and confirmed by a person (`nuri label`); generated: templates or a teacher model.",
                  "", "| set | " + " | ".join(ORIGINS) + " |", "|---|" + "---|" * len(ORIGINS)]
        lines += [f"| {name} | " + " | ".join(str(by.get(k, 0)) for k in ORIGINS) + " |"
                  for name, by in origins["sets"].items()]
        review = origins.get("review") or {}
        if origins.get("reviewed_file") or review:
            lines += ["", f"- review file: `{origins.get('reviewed_file') or 'none'}`; confirmed "
                          f"{review.get('reviewed', 0)}, rejected by the reviewer {review.get('rejected_by_reviewer', 0)}, "
                          f"dropped as not reviewed {review.get('unreviewed_dropped', 0)}"]
    feedback = card.get("feedback")
    if feedback:
        used = feedback.get("used", {})
        lines += ["", "## From people's ratings", "",
                  f"- feedback dataset {feedback.get('version')} from release(s) "
                  f"{', '.join(feedback.get('from_releases', [])) or 'unknown'}: {feedback.get('ratings', 0)} ratings "
                  f"({', '.join(f'{k} {v}' for k, v in feedback.get('ratings_by_kind', {}).items())})",
                  f"- trained: {used.get('feedback_sft', 0)} corrections as SFT pairs (each "
                  f"{feedback.get('correction_repeats', 'several')} times, also after retrieved "
                  f"passages), {used.get('feedback_preferences', 0)} preference pairs, "
                  f"{used.get('feedback_safety', 0)} filtering items",
                  f"- dropped because the prompt is, or hashes like, a held-out one: {feedback.get('dropped_heldout', 0)}"]
    lines += ["", "## Sources and licences", ""]
    for s in card.get("corpus_sources", []):
        lines.append(f"- {s['name']} ({s['kind']}): `{s['location']}`; licence: {s['licence']}; "
                     f"documents: {card.get('documents_per_source', {}).get(s['name'], 0)}")
    lines += [f"- {k}: `{v}`" for k, v in card.get("sources", {}).items() if k != "corpus"]
    lines += ["", "## Removed (by reason)", ""] + ([f"- {k}: {v}" for k, v in card["removed"].items()] or ["- none"])
    if card.get("set_removed"):
        lines += ["", "## Removed from training sets", ""] + [f"- {k}: {v}" for k, v in card["set_removed"].items()]
    if card.get("bad_inputs"):
        lines += ["", "## Bad input skipped at ingest", ""] + [f"- {k}: {v}" for k, v in card["bad_inputs"].items()]
    lines += ["", f"## Personal data redacted (mode: {card['deid_mode']}; counts only, never values)", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(card["pii_redacted"].items())] or ["- none found"]
    lang = card.get("languages", {})
    if lang:
        lines += ["", "## Language mix", "", "| language | documents | share of letters |", "|---|---|---|"]
        for k, v in lang.get("documents", {}).items():
            lines.append(f"| {k} | {v} | {lang.get('letter_share', {}).get(k, 0):.3f} |")
    lines += ["", "## Files (sha256)", ""] + [f"- {k}: `{v[:16]}…`" for k, v in card["files_sha256"].items()]
    if card.get("config"):
        lines += ["", "## Config that produced it", "", "```json",
                  json.dumps(card["config"], ensure_ascii=False, indent=2), "```"]
    return "\n".join(lines) + "\n"


def _table(rows: list[tuple], head: tuple) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def render_html(card: dict) -> str:
    """A self-contained page (no scripts, no external assets); every value escaped."""
    e = html.escape
    corpus = card.get("corpus", {})
    parts = [
        "<!doctype html><html lang='ko'><head><meta charset='utf-8'>",
        f"<title>Data card: {e(card['domain'])} {e(card['version'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.2em .6em;"
        "text-align:left}th{background:#eee}code,pre{background:#f6f6f6}</style></head><body>",
        f"<h1>Data card: {e(card['domain'])} dataset <code>{e(card['version'])}</code></h1>",
        "<h2>Sets</h2>", _table(list(card["counts"].items()), ("set", "records")),
    ]
    if card.get("data_grade"):
        from nuri.data_grade import label

        parts.insert(-2, f"<p>Data security grade: <strong>{e(label(card['data_grade']))}</strong></p>")
    if card.get("readiness"):
        parts += ["<h2>Readiness against the national targets</h2>", _table(
            [(r["what"], f"{r['have']:,}", f"{r['target']:,}", f"{r['share']:.1%}", "met" if r["met"] else "short")
             for r in card["readiness"]], ("what", "have", "target", "share", ""))]
    origins = (card.get("origins") or {}).get("sets")
    if origins:
        parts += ["<h2>Where the items come from</h2>",
                  _table([(name, *(by.get(k, 0) for k in ORIGINS)) for name, by in origins.items()], ("set", *ORIGINS))]
    if corpus:
        parts += ["<h2>Corpus</h2>", _table(list(corpus.items()), ("measure", "value"))]
    prefs = card.get("preferences")
    if prefs:
        parts += ["<h2>Preference pairs</h2>",
                  f"<p>pairs: {prefs['pairs']}; distinct rejected answers: {prefs['rejected_distinct']}; "
                  f"most uses of one rejected answer: {prefs['rejected_max_reuse']}</p>",
                  _table([(k, _kind_meaning(k), v) for k, v in prefs["rejected_by_kind"].items()],
                         ("rejected kind", "what it does", "pairs"))]
    parts += ["<h2>Sources and licences</h2>", _table(
        [(s["name"], s["kind"], s["location"], s["licence"], card.get("documents_per_source", {}).get(s["name"], 0))
         for s in card.get("corpus_sources", [])], ("source", "kind", "location", "licence", "documents"))]
    parts += ["<h2>Removed (by reason)</h2>", _table(list(card["removed"].items()) or [("none", 0)],
                                                      ("reason", "documents"))]
    if card.get("set_removed"):
        parts += ["<h2>Removed from training sets</h2>", _table(list(card["set_removed"].items()), ("reason", "items"))]
    if card.get("bad_inputs"):
        parts += ["<h2>Bad input skipped at ingest</h2>", _table(list(card["bad_inputs"].items()), ("reason", "count"))]
    parts += [f"<h2>Personal data redacted</h2><p>mode: {e(card['deid_mode'])}; counts only, never values</p>",
              _table(sorted(card["pii_redacted"].items()) or [("none found", 0)], ("type", "count"))]
    lang = card.get("languages", {})
    if lang:
        parts += ["<h2>Language mix</h2>", _table(
            [(k, v, f"{lang.get('letter_share', {}).get(k, 0):.3f}") for k, v in lang.get("documents", {}).items()],
            ("language", "documents", "share of letters"))]
    parts += ["<h2>Files</h2>", _table(list(card["files_sha256"].items()), ("file", "sha256"))]
    if card.get("config"):
        parts += ["<h2>Config that produced it</h2><pre>",
                  e(json.dumps(card["config"], ensure_ascii=False, indent=2)), "</pre>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_card(card: dict, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    (out_dir / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "card.md").write_text(render_markdown(card), encoding="utf-8")
    (out_dir / "card.html").write_text(render_html(card), encoding="utf-8")


def publish_dataset(storage, domain: str, version: str, dataset_dir: Path) -> str:
    """Publishes the folder under datasets/<domain>/<version>/ all or nothing; a version
    already published (same content, by construction) is left as it is. Returns its URI."""
    prefix = dataset_prefix(domain, version)
    uri = f"{storage.uri}/{prefix}"
    if storage.exists(f"{prefix}/{MARKER}"):
        return uri
    files = sorted(p.relative_to(dataset_dir).as_posix() for p in Path(dataset_dir).rglob("*") if p.is_file())
    marker = json.dumps({"domain": domain, "version": version, "files": files}, ensure_ascii=False).encode()
    try:
        storage.publish_dir(prefix, Path(dataset_dir), MARKER, marker)
    except NuriError:
        if not storage.exists(f"{prefix}/{MARKER}"):  # someone else is publishing it right now
            raise
    return uri


def list_dataset_versions(storage, domain: str) -> list[str]:
    out = set()
    for key in storage.list(f"datasets/{domain}"):
        parts = key.split("/")
        if len(parts) == 4 and parts[-1] == MARKER:
            out.add(parts[2])
    return sorted(out)


def fetch_dataset(storage, domain: str, version: str, dest: Path) -> Path:
    """A local copy of a published version (the way later stages take a dataset by version)."""
    prefix = dataset_prefix(domain, version)
    if not storage.exists(f"{prefix}/{MARKER}"):
        raise NuriError(f"{storage.uri}/{prefix}: no such dataset version")
    storage.get_dir(prefix, Path(dest))
    return Path(dest)
