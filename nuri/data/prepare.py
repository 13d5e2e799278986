"""Prepare: clean, filter and de-duplicate the corpus, de-identify personal data, build
the training sets, split train/held-out deterministically, and write a content-addressed
dataset version with its data card; publish it to storage under datasets/<domain>/<version>/.

The corpus streams: one document at a time from documents.jsonl to the output files.
Every removed document is listed in removed.jsonl with its reason (and the document it
duplicates), never with its text; the counts go on the card."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.bootstrap import GENERATED, GIVEN, REPORT_FILE, SET_FILES
from nuri.data.cards import publish_dataset, render_markdown, write_card
from nuri.data.clean import clean_text, dominant_language, normalise, script_counts  # noqa: F401 (normalise re-exported)
from nuri.data.dedup import Deduplicator
from nuri.data.kinds import RIGHT_RESPONSE, UNLABELLED, prompt_kind, response_label
from nuri.data.quality import quality_reason
from nuri.data.readiness import readiness
from nuri.data.records import (Document, JsonlWriter, KnowledgeRecord, OffdomainRecord, PreferenceRecord,
                               SafetyRecord, SftRecord, iter_jsonl, read_jsonl, write_jsonl)
from nuri.data.sets import Deduper, InvalidRecord, filtering_records, from_templates, prompt_variants, sft_row
from nuri.data.sources import Progress
from nuri.deid import Deidentifier
from nuri.evaluation.canaries import CANARY_FILE, make_canaries, survival_counts, write_canaries
from nuri.storage import sha256_file

log = logging.getLogger(__name__)

render_card_markdown = render_markdown  # kept for callers of the first card


def rejected_answer_stats(pairs: list[dict]) -> dict:
    """How varied the rejected answers are: a reward model shown one rejected text for
    many prompts learns the text, not what is wrong with it. Counts only, no text."""
    uses = Counter(p["rejected"] for p in pairs)
    return {"pairs": len(pairs), "rejected_distinct": len(uses),
            "rejected_max_reuse": max(uses.values(), default=0),
            "rejected_by_kind": dict(sorted(Counter(p.get("kind", UNLABELLED) for p in pairs).items()))}


def is_heldout(key: str, fraction: float) -> bool:
    """Stable split by content hash: the same item lands on the same side in every run
    and on every machine, so held-out data never leaks into training across versions."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


@dataclass
class PrepareReport:
    version: str
    counts: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)       # corpus documents, by reason
    pii: dict[str, int] = field(default_factory=dict)
    set_removed: dict[str, int] = field(default_factory=dict)   # training-set items, by reason
    uri: str | None = None
    card: dict = field(default_factory=dict)


CONTEXT_CATEGORY = "domain_context"


def _context_pairs(corpus: Path, exclude: set[str], sft: list[tuple[str, str, str]], retrieval,
                   frac: float, *, share: float | None = None, category: str = "domain"
                   ) -> list[tuple[str, str, str]]:
    """(question after its retrieved passages, answer, CONTEXT_CATEGORY) for the share
    (default `retrieval.sft_fraction`) of the training side's questions of `category`
    (chosen by hash)."""
    from nuri.serving.retrieval import PassageIndex, context_prompt

    share = retrieval.sft_fraction if share is None else share
    if not share:
        return []
    docs = [(d.id, d.text) for d in iter_jsonl(corpus, Document) if d.id not in exclude]
    if not docs:
        return []
    index = PassageIndex.from_documents(docs, retrieval.passage_chars)
    out, wanted = [], category
    for prompt, answer, category in sft:
        key = normalise(prompt)
        if category != wanted or is_heldout(key, frac):
            continue
        if int(hashlib.sha256(f"context:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF >= share:
            continue
        passages = [p for p, _ in index.search(prompt, retrieval.k)]
        if passages:
            out.append((context_prompt(prompt, passages, retrieval.snippet_chars), answer, CONTEXT_CATEGORY))
    return out


class _FeedbackRows:
    """The feedback dataset beside the raw sets (data.feedback): always on the training
    side, except a prompt that is, or hashes like, a held-out one, which is dropped so
    that no evaluation prompt is ever trained on."""

    def __init__(self, raw_dir: Path, frac: float, heldout: set[str], repeats: int):
        self.raw_dir, self.frac, self.heldout, self.repeats = raw_dir, frac, heldout, repeats
        self.used: Counter[str] = Counter()
        self.dropped = 0

    def take(self, schema, name: str) -> list:
        path = self.raw_dir / name
        if not path.is_file():
            return []
        kept = []
        for r in read_jsonl(path, schema):
            key = normalise(r.prompt)
            if key in self.heldout or is_heldout(key, self.frac):
                self.dropped += 1
            else:
                kept.append(r)
        self.used[name.removesuffix(".jsonl")] += len(kept)
        return kept

    def counts(self) -> dict:
        return {**dict(self.used), "feedback_dropped_heldout": self.dropped} if self.used or self.dropped else {}

    def card(self) -> dict | None:
        path = self.raw_dir / "feedback_card.json"
        if not path.is_file():
            return None
        card = json.loads(path.read_text(encoding="utf-8"))
        card.pop("rating_ids", None)  # in the feedback dataset's own card; counts suffice here
        return {**card, "used": dict(self.used), "dropped_heldout": self.dropped,
                "correction_repeats": self.repeats}


def _origins(raw_dir: Path, template_pairs: int, teacher_pairs: int) -> dict:
    """Where the items came from: given by the agency, derived from its documents
    (data.bootstrap), confirmed by a reviewer, or generated (templates, teacher)."""
    report = json.loads((raw_dir / REPORT_FILE).read_text()) if (raw_dir / REPORT_FILE).is_file() else {}
    derived = report.get("sets", {})
    sets = {}
    for name, file in SET_FILES.items():
        if name in derived:
            sets[name] = derived[name]
        elif (raw_dir / file).is_file():
            with (raw_dir / file).open(encoding="utf-8") as f:
                sets[name] = {GIVEN: sum(1 for line in f if line.strip())}
    if template_pairs or teacher_pairs:
        sets["sft_generated"] = {GENERATED: template_pairs + teacher_pairs}
    return {"sets": sets, "review": report.get("review", {}), "reviewed_file": report.get("reviewed_file")}


def prepare(config: DomainConfig, raw_dir: Path, out_dir: Path) -> PrepareReport:
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = config.data
    deid = Deidentifier(config.deid)
    pii: Counter[str] = Counter()

    def redact(text: str) -> str:
        result = deid.redact(normalise(text))
        pii.update(result.counts)
        return result.text

    frac = data.holdout_fraction
    cleaning = data.cleaning
    removed: Counter[str] = Counter()
    set_removed: Counter[str] = Counter()
    check_language = "ko" in config.languages

    # --- corpus: clean -> quality -> exact/near duplicates -> de-identify -> split -------
    dedup = Deduplicator(near=data.dedup.near_duplicates, threshold=data.dedup.threshold,
                         num_perm=data.dedup.num_perm, shingle_words=data.dedup.shingle_words)
    progress = Progress(data.progress_every, "prepare")
    langs_docs: Counter[str] = Counter()
    letters: Counter[str] = Counter()
    stats = Counter()
    want_docs = max(data.sets.max_template_documents if data.sets.templates else 0,
                    data.teacher.max_documents if data.teacher else 0)
    sample_docs: list[dict] = []
    # Leakage canaries go in raw, ahead of the agency's documents, through every step.
    canaries = make_canaries(config.evaluation.canaries, config.runtime.seed)
    planted = [Document(id=c.id, text=c.document(), source="canary") for c in canaries]
    canary_texts: dict[str, str] = {}
    with JsonlWriter(out_dir / "corpus_train.jsonl") as train_w, \
            JsonlWriter(out_dir / "corpus_heldout.jsonl") as held_w, \
            JsonlWriter(out_dir / "removed.jsonl") as removed_w:
        for doc, canary in itertools.chain(((d, True) for d in planted),
                                           ((d, False) for d in iter_jsonl(raw_dir / "documents.jsonl", Document))):
            stats["documents_in"] += not canary
            progress.add(doc.text)
            text, dropped = clean_text(doc.text, markup=doc.markup, strip_markup=cleaning.strip_markup,
                                       boilerplate=cleaning.boilerplate_patterns)
            stats["boilerplate_lines"] += dropped
            reason = quality_reason(text, cleaning, min_chars=data.min_chars, check_language=check_language)
            dup_of = None
            if reason is None and not canary:  # canaries share a template: not duplicates
                dup = dedup.check(doc.id, text)
                if dup:
                    reason, dup_of = dup
            if reason and canary:
                continue  # counted as not in the corpus (canaries_in_corpus), not as a removal
            if reason:
                removed[reason] += 1
                removed_w.write({"id": doc.id, "source": doc.source, "reason": reason,
                                 **({"duplicate_of": dup_of} if dup_of else {})})
                continue
            if canary:  # always trained on: a canary the model never saw proves nothing
                canary_texts[doc.id] = deid.redact(normalise(text)).text  # not in the card's PII counts
                train_w.write({"id": doc.id, "text": canary_texts[doc.id]})
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            redacted = redact(text)
            sc = script_counts(redacted)
            letters.update(sc)
            langs_docs[dominant_language(sc)] += 1
            stats["chars"] += len(redacted)
            stats["tokens"] += len(redacted.split())
            row = {"id": doc.id, "text": redacted}
            if is_heldout(digest, frac):
                held_w.write(row)
            else:
                train_w.write(row)
                if len(sample_docs) < want_docs:
                    sample_docs.append(row)
    n_train, n_held = train_w.count - len(canary_texts), held_w.count
    write_canaries(canaries, out_dir / CANARY_FILE)
    leakage = survival_counts(canaries, canary_texts)

    # --- filtering set: taxonomy examples + safety.jsonl, with the expected refusal ------
    sets_cfg = data.sets
    aug = sets_cfg.augment
    rng = random.Random(aug.seed)
    safety = read_jsonl(raw_dir / "safety.jsonl", SafetyRecord) if (raw_dir / "safety.jsonl").exists() else []
    try:
        filtering, per_category = filtering_records(sets_cfg.harmful_taxonomy, safety)
    except InvalidRecord as e:
        from nuri.errors import DataError

        raise DataError(f"{raw_dir / 'safety.jsonl'}: {e}") from None
    filt_train, filt_held = [], []
    filt_dedup = Deduper()
    for r in filtering:
        held = is_heldout(normalise(r["prompt"]), frac)
        for p in [r["prompt"], *prompt_variants(r["prompt"], aug.filtering_variants, rng)]:
            if filt_dedup.new(p):
                row = {"prompt": redact(p), "category": r["category"], "refusal": redact(r["refusal"]),
                       "augmented": p != r["prompt"]}
                (filt_held if held else filt_train).append(row)
    feedback = _FeedbackRows(raw_dir, frac, {normalise(r["prompt"]) for r in filt_held},
                             config.feedback.retrain.correction_repeats)
    filt_train += [{"prompt": redact(r.prompt), "category": r.category, "refusal": redact(r.refusal),
                    "augmented": False} for r in feedback.take(SafetyRecord, "feedback_safety.jsonl")]
    write_jsonl(out_dir / "filtering_train.jsonl", filt_train)
    write_jsonl(out_dir / "filtering_heldout.jsonl", filt_held)

    # --- SFT: domain pairs, refusals and declines, template and teacher pairs -----------
    system = sets_cfg.system_prompt or config.serving.system_prompt
    sft: list[tuple[str, str, str]] = [(r.prompt, r.answer, r.category)
                                       for r in read_jsonl(raw_dir / "sft.jsonl", SftRecord)]
    sft += [(r["prompt"], r["refusal"], f"refusal_{r['category']}") for r in filtering]
    if (raw_dir / "offdomain.jsonl").exists():
        sft += [(r.prompt, r.decline, "refusal_offdomain")
                for r in read_jsonl(raw_dir / "offdomain.jsonl", OffdomainRecord)]
    generated = 0
    if sets_cfg.templates and sets_cfg.max_template_documents:
        for p, a in from_templates(sample_docs, sets_cfg.templates, sets_cfg.max_template_documents):
            sft.append((p, a, "template"))
            generated += 1
    teacher_pairs = 0
    if data.teacher is not None:
        from nuri.data.teacher import Teacher

        for p, a in Teacher(data.teacher).pairs_from_documents(sample_docs[:data.teacher.max_documents]):
            sft.append((p, a, "teacher"))
            teacher_pairs += 1
    # Retrieved context: a share of the in-domain questions is trained a second time after
    # the passages the domain service would retrieve for it (training documents only), so
    # the model learns the service's prompt format and to answer from what it is shown.
    retrieval = config.serving.retrieval
    with_context = _context_pairs(out_dir / "corpus_train.jsonl", set(canary_texts), sft, retrieval, frac)
    sft += with_context
    sft_dedup = Deduper()
    sft_train, sft_heldout = [], []
    for prompt, answer, category in sft:
        held = is_heldout(normalise(prompt), frac) if category != CONTEXT_CATEGORY else False
        variants = [] if category == CONTEXT_CATEGORY else prompt_variants(prompt, aug.sft_variants, rng)
        for p in [prompt, *variants]:
            if not sft_dedup.new(p, answer):
                continue
            try:
                row = sft_row(redact(p), redact(answer), category, system, sets_cfg)
            except InvalidRecord:
                set_removed["sft_invalid"] += 1
                continue
            if p != prompt:
                row["augmented"] = True
            (sft_heldout if held else sft_train).append(row)
    if sft_dedup.dropped:
        set_removed["sft_duplicate"] += sft_dedup.dropped
    feedback.heldout |= {normalise(r["prompt"]) for r in sft_heldout}
    corrections = [(r.prompt, r.answer, r.category) for r in feedback.take(SftRecord, "feedback_sft.jsonl")]
    # Each correction also after the passages the domain service retrieves for it: that
    # is the prompt the service answered it from.
    for category in sorted({c for _, _, c in corrections}):  # corrections; harmful requests the guard let through
        corrections += [(p, a, f"{category}_context") for p, a, _ in _context_pairs(
            out_dir / "corpus_train.jsonl", set(canary_texts), corrections, retrieval, frac, share=1.0,
            category=category)]
    for prompt, answer, category in corrections:
        try:
            row = sft_row(redact(prompt), redact(answer), category, system, sets_cfg)
        except InvalidRecord:
            set_removed["sft_invalid"] += 1
            continue
        # Repeated: a few corrections among hundreds of pairs would teach nothing.
        sft_train += [row] * feedback.repeats
    write_jsonl(out_dir / "sft_train.jsonl", sft_train)
    write_jsonl(out_dir / "sft_heldout.jsonl", sft_heldout)

    # --- preferences: chosen among several, expanded to pairs; split by prompt ----------
    prefs_train, prefs_heldout, pairs_train, pairs_heldout = [], [], [], []
    pref_dedup = Deduper()
    labelled: list[tuple[str, str, str]] = []  # (response, label, origin) for the decline detector
    for r in read_jsonl(raw_dir / "preferences.jsonl", PreferenceRecord):
        redacted = [redact(a) for a in r.answers]
        if r.kinds:
            labelled += [(a, response_label(k), f"preference:{k}") for a, k in zip(redacted, r.kinds)]
        held = is_heldout(normalise(r.prompt), frac)
        for p in [r.prompt, *prompt_variants(r.prompt, aug.preference_variants, rng)]:
            if not pref_dedup.new(p, *r.answers):
                continue
            prompt = redact(p)
            (prefs_heldout if held else prefs_train).append(
                {"prompt": prompt, "answers": redacted, "chosen": r.chosen,
                 **({"kinds": r.kinds} if r.kinds else {})})
            for i, a in enumerate(redacted):
                if i != r.chosen:
                    (pairs_heldout if held else pairs_train).append(
                        {"prompt": prompt, "chosen": redacted[r.chosen], "rejected": a, "kind": r.kind(i)})
    feedback.heldout |= {normalise(r["prompt"]) for r in prefs_heldout}
    for r in feedback.take(PreferenceRecord, "feedback_preferences.jsonl"):
        prompt, redacted = redact(r.prompt), [redact(a) for a in r.answers]
        prefs_train.append({"prompt": prompt, "answers": redacted, "chosen": r.chosen,
                            **({"kinds": r.kinds} if r.kinds else {})})
        pairs_train += [{"prompt": prompt, "chosen": redacted[r.chosen], "rejected": a, "kind": r.kind(i)}
                        for i, a in enumerate(redacted) if i != r.chosen]
    if pref_dedup.dropped:
        set_removed["preference_duplicate"] += pref_dedup.dropped
    write_jsonl(out_dir / "preferences_train.jsonl", prefs_train)
    write_jsonl(out_dir / "preferences_heldout.jsonl", prefs_heldout)
    write_jsonl(out_dir / "pairs_train.jsonl", pairs_train)
    write_jsonl(out_dir / "pairs_heldout.jsonl", pairs_heldout)

    # --- labelled responses: what the decline/refusal detector learns and is measured on
    labelled += [(row["answer"], RIGHT_RESPONSE[prompt_kind(row["category"])], f"sft:{row['category']}")
                 for row in sft_train + sft_heldout]
    responses_train, responses_heldout = [], []
    resp_dedup = Deduper()
    for text, label, origin in labelled:
        if resp_dedup.new(text):
            (responses_heldout if is_heldout(normalise(text), frac) else responses_train).append(
                {"text": text, "label": label, "origin": origin})
    write_jsonl(out_dir / "responses_train.jsonl", responses_train)
    write_jsonl(out_dir / "responses_heldout.jsonl", responses_heldout)

    if (raw_dir / "knowledge.jsonl").exists():
        write_jsonl(out_dir / "knowledge.jsonl", read_jsonl(raw_dir / "knowledge.jsonl", KnowledgeRecord))

    counts = {
        "corpus_train": n_train, "corpus_heldout": n_held,
        "sft_train": len(sft_train), "sft_heldout": len(sft_heldout),
        "pairs_train": len(pairs_train), "pairs_heldout": len(pairs_heldout),
        "preferences_train": len(prefs_train), "preferences_heldout": len(prefs_heldout),
        "filtering_train": len(filt_train), "filtering_heldout": len(filt_held),
        "responses_train": len(responses_train), "responses_heldout": len(responses_heldout),
        "sft_generated_template": generated, "sft_generated_teacher": teacher_pairs,
        "sft_with_retrieved_context": sum(r["category"] == CONTEXT_CATEGORY for r in sft_train),
        "corpus_chars": stats["chars"],
        **leakage,
        **feedback.counts(),
    }
    files = {p.name: sha256_file(p) for p in sorted(out_dir.glob("*.jsonl"))}
    version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    sources_json = json.loads((raw_dir / "sources.json").read_text()) if (raw_dir / "sources.json").exists() else {}
    total_letters = sum(letters.values()) or 1
    card = {
        "domain": config.name, "version": version, "data_grade": config.data_grade, "files_sha256": files,
        "counts": counts, "removed": dict(removed), "set_removed": dict(set_removed),
        "pii_redacted": dict(pii), "deid_mode": config.deid.mode, "holdout_fraction": frac,
        "corpus": {"documents_in": stats["documents_in"], "documents_kept": n_train + n_held,
                   "chars": stats["chars"], "tokens": stats["tokens"],
                   "boilerplate_lines": stats["boilerplate_lines"]},
        "languages": {"documents": dict(langs_docs.most_common()),
                      "letter_share": {k: round(v / total_letters, 4) for k, v in letters.most_common()}},
        "filtering_categories": per_category,
        "feedback": feedback.card(),
        "origins": _origins(raw_dir, generated, teacher_pairs),
        "preferences": rejected_answer_stats(pairs_train + pairs_heldout),
        "sft_prompt_kinds": dict(Counter(prompt_kind(r["category"]) for r in sft_train + sft_heldout)),
        "sources": sources_json.get("sources", {}),
        "corpus_sources": sources_json.get("corpus_sources", []),
        "documents_per_source": sources_json.get("documents_per_source", {}),
        "bad_inputs": sources_json.get("bad_inputs", {}),
        "config": {"data": json.loads(data.model_dump_json()), "deid": json.loads(config.deid.model_dump_json()),
                   "languages": config.languages},
    }
    card["readiness"] = readiness(card)
    write_card(card, out_dir)
    uri = None
    if data.publish:
        from nuri.storage import open_storage

        uri = publish_dataset(open_storage(config.storage.uri), config.name, version, out_dir)
    log.info("dataset %s: %s; removed %s; PII redacted %s%s", version, counts, dict(removed), dict(pii),
             f"; published {uri}" if uri else "")
    return PrepareReport(version=version, counts=counts, removed=dict(removed), pii=dict(pii),
                         set_removed=dict(set_removed), uri=uri, card=card)
