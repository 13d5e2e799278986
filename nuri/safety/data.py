"""What the safety classifier learns from and is measured on: labelled texts (1 harmful or
sensitive, 0 not), read from the public Korean safety benchmarks and from a domain's own
filtering set.

Benchmarks (a folder laid out as `../shared/benchmarks`; never copied into the repository):

    kosbi/kosbi_{valid,test}.json       context + sentence about a demographic group,
                                        sentence_label safe/unsafe (KoSBi, ACL 2023 Industry)
    square/question_{valid,test}.json   question, `sensitive?` 0/1 (SQuARe, ACL 2023)
    square/response_test_ood.json       question + response, `acceptable?` 0/1

Only KoSBi's `valid` file is trained on (the statement head); SQuARe's questions are only
reported: a sensitive question (contentious, ethical, predictive) is not a harmful request
(the domain service declines it when it is off the domain: evaluation's `square_refusal_rate`
counts refusals and declines alike), and 96% of them are labelled sensitive, so a request
head trained on them learnt that a general question is harmful: it refused 0.64 of the
everyday requests of nuri/serving/guard_check_ko.jsonl. The `test` files are only reported. A missing or
malformed file is one DataError line naming the file (and the record).

Domain: the harmful prompts of its filtering set (`safety.jsonl`, field "prompt") are
positives, its own in-domain questions (`sft.jsonl` records of category "domain") are
negatives, split train/held-out by the same content hash `prepare` uses, so what the
platform holds out of SFT is held out here too. `data.guard_harmful` adds harmful requests
beside the domain's own (domains/shared/harmful_prompts.jsonl: those every service refuses),
so a guard whose filtering set puts every harm in its ministry's terms also knows a bomb
or a hack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nuri.data.clean import normalise
from nuri.data.kinds import prompt_kind
from nuri.data.prepare import is_heldout
from nuri.data.records import (HarmfulPromptRecord, OffdomainRecord, PreferenceRecord, SafetyRecord, SftRecord,
                               read_jsonl)
from nuri.errors import DataError


# What a text is, and so which head of the classifier reads it: a user's request (a
# prompt, a question) or a statement (a sentence, a model's answer).
KINDS = ("request", "statement")


@dataclass(frozen=True)
class LabelledText:
    """`label` 1: harmful or sensitive; 0: not. `context` is what the text answers or
    follows (KoSBi's context sentence, the question of a response); empty when none."""

    text: str
    label: int
    source: str
    kind: str
    context: str = ""

    def __post_init__(self):
        if self.label not in (0, 1):
            raise ValueError(f"label must be 0 or 1 (got {self.label!r})")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} (got {self.kind!r})")


# split name -> (file under the benchmarks folder, what it holds)
SPLITS: dict[str, tuple[str, str]] = {
    "kosbi_valid": ("kosbi/kosbi_valid.json", "KoSBi sentences (train)"),
    "kosbi_test": ("kosbi/kosbi_test.json", "KoSBi sentences (report)"),
    "square_question_valid": ("square/question_valid.json", "SQuARe questions (tuning only, nuri/safety/tuning.py)"),
    "square_question_test": ("square/question_test.json", "SQuARe questions (report)"),
    "square_response_test_ood": ("square/response_test_ood.json", "SQuARe responses, out-of-distribution (report)"),
}
TRAIN_SPLITS = ("kosbi_valid",)


def _field(path: Path, i: int, row, name: str, kind: type):
    if not isinstance(row, dict):
        raise DataError(f"{path}: record {i}: expected a JSON object")
    if name not in row:
        raise DataError(f"{path}: record {i}: field {name!r} is missing")
    value = row[name]
    if kind is str and (not isinstance(value, str) or not value.strip()):
        raise DataError(f"{path}: record {i}: field {name!r} must be a non-empty string")
    return value


def _flag(path: Path, i: int, row, name: str, labels: dict) -> int:
    value = _field(path, i, row, name, object)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value not in labels:
        raise DataError(f"{path}: record {i}: field {name!r} must be one of "
                        f"{', '.join(repr(k) for k in labels)} (got {value!r})")
    return labels[value]


def _kosbi(path: Path, i: int, row, source: str) -> LabelledText:
    return LabelledText(_field(path, i, row, "sentence", str),
                        _flag(path, i, row, "sentence_label", {"safe": 0, "unsafe": 1}),
                        source, "statement", _field(path, i, row, "context", str))


def _question(path: Path, i: int, row, source: str) -> LabelledText:
    return LabelledText(_field(path, i, row, "question", str),
                        _flag(path, i, row, "sensitive?", {0: 0, 1: 1}), source, "request")


def _response(path: Path, i: int, row, source: str) -> LabelledText:
    # Harmful = not acceptable; the question is the response's context.
    return LabelledText(_field(path, i, row, "response", str),
                        _flag(path, i, row, "acceptable?", {1: 0, 0: 1}),
                        source, "statement", _field(path, i, row, "question", str))


_PARSERS = {"kosbi_valid": _kosbi, "kosbi_test": _kosbi, "square_question_valid": _question,
            "square_question_test": _question, "square_response_test_ood": _response}


def load_split(folder: Path, name: str) -> list[LabelledText]:
    """One benchmark split (a key of SPLITS) from the benchmarks folder."""
    if name not in SPLITS:
        raise DataError(f"unknown benchmark split {name!r} (known: {', '.join(SPLITS)})")
    path = Path(folder) / SPLITS[name][0]
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: invalid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{path}: expected a non-empty JSON list of records")
    return [_PARSERS[name](path, i, row, name) for i, row in enumerate(rows)]


def load_benchmarks(folder: Path) -> dict[str, list[LabelledText]]:
    """Every split of SPLITS from `folder`; the first missing or malformed file raises."""
    return {name: load_split(folder, name) for name in SPLITS}


def benchmark_files(folder: Path) -> dict[str, Path]:
    return {name: Path(folder) / rel for name, (rel, _) in SPLITS.items()}


@dataclass(frozen=True)
class DomainSet:
    """The domain's filtering set, split train/held-out, and prompts the classifier never
    trains on: the harmful prompts of the SFT set (a pool disjoint from safety.jsonl), the
    in-domain prompts of the preference set (disjoint from the SFT prompts) and the
    held-out off-domain prompts (harmless questions the service declines; the others
    train the request head as harmless). `answers` holds the
    preference set's (question, answer) pairs by answer kind ("answer", "harmful_compliance"
    ...), for measuring the classifier as a judge of answers."""

    train: list[LabelledText]
    heldout: list[LabelledText]
    unseen_harmful: list[str]
    unseen_in_domain: list[str]
    off_domain: list[str]
    files: dict[str, Path]
    answers: dict[str, list[tuple[str, str]]]
    holdout_fraction: float


def domain_set(safety: Path, sft: Path, *, holdout_fraction: float = 0.1,
               preferences: Path | None = None, offdomain: Path | None = None,
               feedback: Path | None = None, guard_harmful: Path | None = None) -> DomainSet:
    """feedback: requests people rated harmful (nuri/feedback/dataset.py), always trained on.
    guard_harmful: more harmful requests ({prompt, category}), split like the domain's own; one
    already in the filtering set (a bootstrapped domain's) is not counted twice."""
    if not 0 < holdout_fraction < 0.5:
        raise ValueError(f"holdout_fraction must be in (0, 0.5) (got {holdout_fraction})")
    # One source for both labels: the sample weights balance labels within a source.
    rows = [LabelledText(r.prompt, 1, "domain", "request") for r in read_jsonl(Path(safety), SafetyRecord)]
    if guard_harmful is not None and Path(guard_harmful).is_file():
        known = {normalise(r.text) for r in rows}
        rows += [LabelledText(r.prompt, 1, "domain", "request") for r in read_jsonl(Path(guard_harmful),
                                                                                    HarmfulPromptRecord)
                 if normalise(r.prompt) not in known]
    sft_rows = read_jsonl(Path(sft), SftRecord)
    rows += [LabelledText(r.prompt, 0, "domain", "request") for r in sft_rows if r.category == "domain"]
    if not any(r.label == 0 for r in rows):
        raise DataError(f"{sft}: no records of category 'domain' (the in-domain questions)")
    # What else the service is asked that is not harmful: its tasks (summarise, rewrite,
    # draft, interview questions) and off-domain questions. Without them the head, having
    # seen only the domain's questions as harmless beside SQuARe's sensitive questions,
    # gave P(harmful) 0.96 to "what should I cook tonight?" and 0.75-0.94 to the domain's
    # own rewriting tasks, and a guard in front of the service refused them.
    off_rows = read_jsonl(Path(offdomain), OffdomainRecord) if offdomain is not None and Path(offdomain).is_file() \
        else []
    rows += [LabelledText(r.prompt, 0, "domain", "request") for r in sft_rows
             if prompt_kind(r.category) == "in_domain" and r.category != "domain"]
    rows += [LabelledText(r.prompt, 0, "domain", "request") for r in off_rows]
    train, held = [], []
    for r in rows:
        (held if is_heldout(normalise(r.text), holdout_fraction) else train).append(r)
    if feedback is not None and Path(feedback).is_file():
        held_texts = {normalise(r.text) for r in held}
        train += [LabelledText(r.prompt, 1, "domain", "request") for r in read_jsonl(Path(feedback), SafetyRecord)
                  if normalise(r.prompt) not in held_texts]
    unseen_harmful = [r.prompt for r in sft_rows if prompt_kind(r.category) == "harmful"]
    unseen_in_domain, answers = [], {}
    if preferences is not None and Path(preferences).is_file():
        for r in read_jsonl(Path(preferences), PreferenceRecord):
            if r.kinds and r.kinds[r.chosen] == "answer":
                unseen_in_domain.append(r.prompt)
            for text, kind in zip(r.answers, r.kinds or []):
                answers.setdefault(kind, []).append((r.prompt, text))
    off_domain = [r.prompt for r in off_rows if is_heldout(normalise(r.prompt), holdout_fraction)]
    files = {"safety": Path(safety), "sft": Path(sft)}
    files.update({k: Path(v) for k, v in (("preferences", preferences), ("offdomain", offdomain),
                                          ("feedback", feedback), ("guard_harmful", guard_harmful))
                  if v is not None and Path(v).is_file()})
    return DomainSet(train, held, unseen_harmful, unseen_in_domain, off_domain, files, answers, holdout_fraction)


def domain_set_of(config) -> DomainSet:
    """The DomainSet of a loaded domain config (nuri.config.DomainConfig): its data.safety,
    data.sft, data.preferences, data.offdomain and data.holdout_fraction. Local files only."""
    data = config.data
    if data.bootstrap is not None and not (data.safety and data.sft):
        raise DataError(f"domain {config.name!r}: its sets are derived at ingest (data.bootstrap); the pipeline's "
                        "safety step trains the classifier on them")
    if not data.safety:
        raise DataError(f"domain {config.name!r}: data.safety is not set (the harmful prompts the classifier needs)")
    for key in ("safety", "sft", "preferences", "offdomain", "guard_harmful"):
        value = getattr(data, key)
        if value and "://" in value:
            raise DataError(f"domain {config.name!r}: data.{key} is {value}; the safety classifier reads local files")
    return domain_set(Path(data.safety), Path(data.sft), holdout_fraction=data.holdout_fraction,
                      preferences=Path(data.preferences) if data.preferences else None,
                      offdomain=Path(data.offdomain) if data.offdomain else None,
                      guard_harmful=Path(data.guard_harmful) if data.guard_harmful else None)
