"""What the domain service needs beside the model, built from a prepared dataset and
shipped in the release's `service/` folder:

    service/passages.jsonl          passages of the de-identified corpus (retrieval)
    service/domain_classifier.skops in-domain/off-domain classifier (the guard)
    service/service.json            decline and refusal messages, thresholds, measurements

Measured on held-out data: retrieval hit@k on the held-out in-domain questions whose
source is known (the documents in which every fact of the reference answer holds), and
the domain classifier's off-domain recall and false declines on held-out prompts, and the
whole guard on those prompts and on its hand-written check set (nuri/serving/guard.py)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nuri.config import DomainConfig
from nuri.data.kinds import prompt_kind
from nuri.data.prepare import CONTEXT_CATEGORY
from nuri.data.records import Document, SafetyRecord, SftRecord, read_jsonl
from nuri.evaluation.canaries import CANARY_FILE, read_canaries
from nuri.evaluation.grounding import extract_facts, holds
from nuri.serving.guard import DomainClassifier, evaluate_domain_classifier, most_common, write_json
from nuri.serving.retrieval import PassageIndex, hit_at_k

log = logging.getLogger("nuri")
SERVICE_FILE = "service.json"


def service_documents(dataset_dir: Path) -> list[tuple[str, str]]:
    """(id, text) of every prepared document the service may cite: both splits, never a
    planted canary (a synthetic record made to measure leakage, not a source)."""
    canaries = {c.id for c in read_canaries(dataset_dir / CANARY_FILE)}
    return [(d.id, d.text) for name in ("corpus_train.jsonl", "corpus_heldout.jsonl")
            for d in read_jsonl(dataset_dir / name, Document, allow_empty=True) if d.id not in canaries]


def known_source_questions(documents: list[tuple[str, str]], rows: list[SftRecord]) -> list[tuple[str, frozenset]]:
    """Held-out domain questions with the ids of the documents their reference answer's
    facts all hold in (questions whose answer states no fact, or no document holds, are
    left out: their source is not known)."""
    docs = [(doc_id, text, frozenset(extract_facts(text))) for doc_id, text in documents]
    out = []
    for r in rows:
        facts = extract_facts(r.answer) if r.category == "domain" else set()
        if not facts:
            continue
        relevant = frozenset(d for d, text, f in docs if all(holds(fact, f, text) for fact in facts))
        if relevant:
            out.append((r.prompt, relevant))
    return out


def build_service_assets(config: DomainConfig, dataset_dir: Path, out_dir: Path,
                         safety_dir: Path | None = None) -> dict:
    """Writes the service folder; returns its measurements. safety_dir: the safety
    classifier the release carries; with it the whole guard is measured on held-out
    prompts (in-domain passed, off-domain declined, harmful refused)."""
    t0 = time.perf_counter()
    dataset_dir, out_dir = Path(dataset_dir), Path(out_dir)
    retrieval, guard = config.serving.retrieval, config.serving.guard
    documents = service_documents(dataset_dir)
    index = PassageIndex.from_documents(documents, retrieval.passage_chars)
    index.save(out_dir)
    heldout = read_jsonl(dataset_dir / "sft_heldout.jsonl", SftRecord, allow_empty=True)
    metrics: dict = {"retrieval_documents": len(documents), "retrieval_passages": len(index.passages),
                     **hit_at_k(index, known_source_questions(documents, heldout), sorted({1, 3, 5, retrieval.k}))}

    # The questions as users ask them: not the copies SFT trains after retrieved passages.
    train = [r for r in read_jsonl(dataset_dir / "sft_train.jsonl", SftRecord) if r.category != CONTEXT_CATEGORY]
    kinds = lambda rows, kind: [r.prompt for r in rows if prompt_kind(r.category) == kind]  # noqa: E731
    domain = DomainClassifier.fit(kinds(train, "in_domain"), kinds(train, "off_domain"), seed=config.runtime.seed)
    digest = domain.save(out_dir)
    metrics.update(evaluate_domain_classifier(domain, kinds(heldout, "in_domain"), kinds(heldout, "off_domain"),
                                              guard.off_domain_threshold))
    declines = [r.answer for r in train if prompt_kind(r.category) == "off_domain"]
    refusals = [r.refusal for r in read_jsonl(dataset_dir / "filtering_train.jsonl", SafetyRecord, allow_empty=True)]
    decline = guard.decline_message or most_common(declines)
    refusal = guard.refusal_message or most_common(refusals)
    if not decline or not refusal:
        from nuri.errors import DataError

        missing = "serving.guard.decline_message" if not decline else "serving.guard.refusal_message"
        raise DataError(f"{missing}: not set and the dataset has no example to take it from")
    thresholds = {"off_domain_threshold": guard.off_domain_threshold, "harmful_threshold": guard.harmful_threshold,
                  "harmful_elsewhere_threshold": guard.harmful_elsewhere_threshold}
    if safety_dir is not None:
        from nuri.safety.classifier import SafetyClassifier
        from nuri.serving.guard import Guard, read_guard_check

        whole = Guard(safety=SafetyClassifier.load(Path(safety_dir)), domain=domain, decline_message=decline,
                      refusal_message=refusal, **thresholds)
        harmful = [r.prompt for r in read_jsonl(dataset_dir / "filtering_heldout.jsonl", SafetyRecord,
                                                allow_empty=True)]
        metrics.update(whole.rates(kinds(heldout, "in_domain"), kinds(heldout, "off_domain"), harmful))
        metrics.update(whole.check_rates(*read_guard_check()))
    metrics["seconds"] = round(time.perf_counter() - t0, 2)
    write_json(out_dir / SERVICE_FILE, {
        "format": 1, "decline_message": decline, "refusal_message": refusal, **thresholds,
        "domain_classifier_sha256": digest, "metrics": metrics})
    log.info("service assets: %d passages from %d documents; %s", len(index.passages), len(documents),
             {k: v for k, v in metrics.items() if k.startswith(("retrieval_hit", "domain_guard"))})
    return metrics
