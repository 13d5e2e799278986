"""Bootstrapping an agency's training sets from its documents (`data.bootstrap`).

    nuri bootstrap --domain domains/law.yaml --out candidates/   # derive, for a person to read
    nuri label --input candidates/review.jsonl --output domains/law/reviewed.jsonl --shuffle
    # data.bootstrap.reviewed: law/reviewed.jsonl  -> reviewed items count as reviewed

The pipeline's ingest step derives the same sets for every set the config does not
give, so an agency with only documents can run the whole recipe; the data card says how
many items were derived, reviewed, or dropped by a reviewer. derive.py is the pure part."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from nuri.data.bootstrap.derive import DERIVED, REVIEWED, DerivedSets, article_name, article_unit, derive
from nuri.data.bootstrap.structure import parse
from nuri.data.ingest import AUX_FILES
from nuri.data.label import item_key
from nuri.data.records import iter_jsonl, write_jsonl
from nuri.errors import ConfigError, DataError

REPORT_FILE = "bootstrap.json"
REVIEW_FILE = "review.jsonl"

# Where each item came from, as the data card counts them: the agency's own files,
# derived here, derived and confirmed by a person, or generated (templates, a teacher).
GIVEN, GENERATED = "given", "generated"
ORIGINS = (GIVEN, DERIVED, REVIEWED, GENERATED)

# data-config field -> file name in the ingested folder: every set ingest copies.
SET_FILES = {field: name for field, (_, name) in AUX_FILES.items()}


class SharedPrompt(BaseModel):
    """A record of the shared prompt sets (domains/shared/): a prompt, and for harmful
    ones the harm category."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    prompt: str = Field(min_length=1)
    category: str | None = Field(None, min_length=1)


def read_prompts(path: str, fields: tuple[str, ...]) -> list[dict]:
    """The shared prompts at path; every record must hold `fields`."""
    if not Path(path).is_file():
        raise DataError(f"{path}: file not found (data.bootstrap)")
    out = []
    for lineno, rec in enumerate(iter_jsonl(Path(path), SharedPrompt), start=1):
        missing = [f for f in fields if getattr(rec, f) is None]
        if missing:
            raise DataError(f"{path}:{lineno}: {missing[0]}: required field is missing")
        out.append(rec.model_dump(exclude_none=True))
    if not out:
        raise DataError(f"{path}: no records")
    return out


def guard_messages(config) -> tuple[str, str]:
    guard = config.serving.guard
    if not guard.decline_message or not guard.refusal_message:
        raise ConfigError("serving.guard: data.bootstrap needs decline_message and refusal_message "
                          "(the derived declines and refusals are the domain's own)")
    return guard.decline_message, guard.refusal_message


def derive_from_documents(config, documents: list[dict]) -> DerivedSets:
    boot = config.data.bootstrap
    decline, refusal = guard_messages(config)
    return derive(documents, decline=decline, refusal=refusal,
                  offdomain_prompts=[r["prompt"] for r in read_prompts(boot.offdomain_prompts, ("prompt",))],
                  harmful_prompts=read_prompts(boot.harmful_prompts, ("prompt", "category")),
                  answer_chars=boot.answer_chars, knowledge_items=boot.knowledge_items, seed=boot.seed)


def apply_review(sets: DerivedSets, reviewed_path: str | None, require_review: bool) -> dict[str, int]:
    """Marks what a person confirmed with `nuri label` (they chose the derived answer)
    as reviewed, drops what they rejected (they chose another), and with
    require_review drops what nobody has looked at. Returns the counts."""
    counts = Counter()
    choices: dict[str, int] = {}
    if reviewed_path:
        path = Path(reviewed_path)
        if not path.is_file():
            raise DataError(f"{path}: data.bootstrap.reviewed: file not found")
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                choices[obj.get("key") or item_key(obj["prompt"], obj["answers"])] = int(obj["chosen"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise DataError(f"{path}:{lineno}: not a `nuri label` output line") from None
    verdict: dict[str, str] = {}    # prompt -> reviewed | rejected
    kept_prefs = []
    for rec in sets.preferences:
        chosen = choices.get(item_key(rec["prompt"], rec["answers"]))
        if chosen is None:
            if require_review:
                counts["unreviewed_dropped"] += 1
                verdict[rec["prompt"]] = "rejected"
                continue
            kept_prefs.append(rec)
        elif chosen == rec["chosen"]:
            kept_prefs.append({**rec, "origin": REVIEWED})
            verdict[rec["prompt"]] = REVIEWED
            counts["reviewed"] += 1
        else:
            verdict[rec["prompt"]] = "rejected"
            counts["rejected_by_reviewer"] += 1
    sets.preferences = kept_prefs
    for name in ("sft", "offdomain", "safety"):
        kept = []
        for rec in getattr(sets, name):
            v = verdict.get(rec["prompt"])
            if v == "rejected":
                continue
            kept.append({**rec, "origin": REVIEWED} if v == REVIEWED else rec)
        setattr(sets, name, kept)
    return dict(counts)


def review_candidates(sets: DerivedSets) -> list[dict]:
    """What a person is asked to check: each preference record without its verdict
    (`nuri label --shuffle` shows the answers in a stable shuffled order)."""
    return [{"prompt": r["prompt"], "answers": r["answers"], "source": r.get("source", "")}
            for r in sets.preferences]


def origin_counts(rows: list[dict]) -> dict[str, int]:
    return dict(Counter(r.get("origin", GIVEN) for r in rows))


def bootstrap(config, documents: list[dict], out_dir: Path, *, only_missing: bool = True) -> dict:
    """Derives the sets and writes them into out_dir (each written aside, then renamed),
    with review.jsonl and bootstrap.json. With only_missing, a set the config gives is
    left alone. Returns the report (also in bootstrap.json)."""
    boot = config.data.bootstrap
    out_dir = Path(out_dir)
    sets = derive_from_documents(config, documents)
    review = apply_review(sets, boot.reviewed, boot.require_review)
    written: dict[str, dict[str, int]] = {}
    for name, filename in SET_FILES.items():
        if only_missing and getattr(config.data, name) is not None:
            continue
        rows = getattr(sets, name)
        if not rows:
            if name in ("sft", "preferences"):
                raise DataError(f"data.bootstrap: nothing to derive {name} from: the corpus has no articles, "
                                "sections or headed paragraphs")
            continue
        write_jsonl(out_dir / filename, rows)
        written[name] = origin_counts(rows)
    write_jsonl(out_dir / REVIEW_FILE, review_candidates(sets))
    report = {"derived_from_documents": len(documents), "sets": written, "review": review,
              "review_file": REVIEW_FILE, "reviewed_file": boot.reviewed, "require_review": boot.require_review}
    tmp = out_dir / (REPORT_FILE + ".tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(out_dir / REPORT_FILE)
    return report


def structural_units(doc: dict) -> list[dict]:
    """A law split into its articles, each a document of its own that names where it
    comes from ("대한민국헌법 제10조"), so the held-out split, retrieval and the
    service's sources work per provision; the text before the first article is the
    preamble (전문). A document without articles (a bill) stays whole: its sections are
    asked about, but the rest of it is text worth learning too."""
    s = parse(doc["text"])
    if not s.articles:
        return [doc]
    units = []
    preamble = s.preamble
    if preamble:
        units.append({**doc, "id": f"{doc['id']}#전문", "text": f"{s.title} 전문\n{preamble}"})
    for a in s.articles:
        units.append({**doc, "id": article_unit(doc["id"], a), "text": f"{article_name(s.title, a)}\n{a.text}"})
    return units


def split_documents(documents_path: Path) -> int:
    """Rewrites documents.jsonl as structural units (aside, then renamed). Returns the count."""
    from nuri.data.records import Document, JsonlWriter

    with JsonlWriter(documents_path.with_name(documents_path.name + ".units")) as w:
        for doc in iter_jsonl(documents_path, Document):
            for unit in structural_units(doc.model_dump(exclude_none=True)):
                w.write(unit)
    w.path.replace(documents_path)
    return w.count


__all__ = ["bootstrap", "derive_from_documents", "apply_review", "split_documents", "structural_units",
           "DERIVED", "REVIEWED", "REPORT_FILE", "REVIEW_FILE"]
