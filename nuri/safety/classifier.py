"""The safety classifier: character n-gram TF-IDF and logistic regression, two heads.

- `request`: is a user's request harmful? Trained on the domain's filtering set and
  data.guard_harmful (harmful requests) against its in-domain questions, tasks and
  off-domain questions. It guards a service and exists in every classifier. It is not
  trained on SQuARe's sensitive questions (it was until 2026-12-06): a sensitive question
  is not a harmful request, and being 96% of SQuARe, they taught the head that a general
  question is harmful (nuri/safety/data.py).
- `statement`: is a statement unsafe (a stereotype, prejudice or discrimination against a
  group)? Trained on KoSBi's sentences; it judges model answers. It reads the text alone
  and, in a second model, the text after its context (KoSBi's context sentence, or the
  question an answer replies to), and averages the two: in 5-fold cross-validation on
  kosbi_valid (grouped by context) that scored 0.624-0.633 macro-F1 against 0.607-0.618
  for the text alone (nuri.safety.tuning).

Why two heads and not one: one model trained on everything scored 0.583-0.610 macro-F1
on KoSBi in the same cross-validation (three weightings), because SQuARe's questions (96%
sensitive) share their topic words with KoSBi's safe sentences about the same groups, so
the words of a topic turn into evidence of harm. And the request head, which has only
seen questions, flags 64% of the sample domain's right answers: every call names the kind
of text it passes. A head exists only when its data was there: without the benchmarks
there is no statement head, and asking for it says so.

Settings (analyzer, n-grams, C, sample weighting) were chosen by cross-validation on the
valid splits and the domain's training part, never by the test splits. The probabilities
are close to calibrated as they come (calibration error 0.02 on kosbi_test), so no
calibration wrapper is fitted.

Saved with skops (no pickle: loading constructs only the listed scikit-learn and numpy
types and runs no code from the file)."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from nuri.data.clean import normalise
from nuri.errors import DataError
from nuri.safety.data import KINDS, LabelledText

MODEL_FILE = "model.skops"
FORMAT = 1

# The only types a saved classifier may hold beyond the builtins and numpy arrays that skops
# always trusts; anything else in a file is refused before it is loaded.
TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.feature_extraction.text.HashingVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.float64",
    "numpy.ndarray",
]


@dataclass(frozen=True)
class HeadConfig:
    """One head: character n-grams (hashed into `n_features` columns, so the model holds
    no vocabulary and saves and loads in milliseconds), TF-IDF with sublinear tf, and
    L2-regularised logistic regression with inverse strength `C`.

    `weighting` of the training examples: "balanced" (each (source, label) cell weighs the
    same within its source, each source the same in total), "sources" (each source the same
    in total, labels as they come) or "none"."""

    analyzer: str = "char"
    ngram_range: tuple[int, int] = (1, 4)
    C: float = 2.0
    with_context: bool = False   # a second model reads "context\ntext"; the two are averaged
    weighting: str = "balanced"
    n_features: int = 2 ** 18

    def __post_init__(self):
        if self.analyzer not in ("char", "char_wb", "word"):
            raise ValueError(f"analyzer must be char, char_wb or word (got {self.analyzer!r})")
        lo, hi = self.ngram_range
        if not 1 <= lo <= hi <= 8:
            raise ValueError(f"ngram_range must satisfy 1 <= low <= high <= 8 (got {self.ngram_range})")
        if not self.C > 0:
            raise ValueError(f"C must be positive (got {self.C})")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS} (got {self.weighting!r})")
        if not 2 ** 10 <= self.n_features <= 2 ** 24:
            raise ValueError(f"n_features must be between 2**10 and 2**24 (got {self.n_features})")


WEIGHTINGS = ("balanced", "sources", "none")

# The best of nuri.safety.tuning.GRIDS by its 5-fold cross-validation (bench/README.md):
# statement 0.633 macro-F1 on kosbi_valid (text alone: at best 0.618); request 0.999
# (chosen when SQuARe was trained on: SQuARe sensitive vs domain questions 1.000, domain
# harmful vs questions 0.998). The request head's data is now one source, so "sources"
# weighting weighs every example alike.
DEFAULT_CONFIGS = {
    "statement": HeadConfig(analyzer="char_wb", ngram_range=(2, 5), C=2.0, with_context=True),
    "request": HeadConfig(analyzer="char", ngram_range=(1, 4), C=4.0, weighting="sources"),
}
DEFAULT_THRESHOLD = 0.5


def sample_weights(examples: Sequence[LabelledText], weighting: str = "balanced") -> np.ndarray:
    """Weights averaging 1 (see HeadConfig.weighting)."""
    n = len(examples)
    if weighting == "none":
        return np.ones(n)
    per_source = Counter(e.source for e in examples)
    if weighting == "sources":
        return np.array([n / (len(per_source) * per_source[e.source]) for e in examples])
    cells = Counter((e.source, e.label) for e in examples)
    labels_in = Counter(s for s, _ in cells)
    return np.array([n / (len(per_source) * labels_in[e.source] * cells[(e.source, e.label)]) for e in examples])


def _with_context(text: str, context: str) -> str:
    return f"{context}\n{text}" if context else text


def text_pipeline(config: HeadConfig, seed: int):
    """The HeadConfig's scikit-learn pipeline, unfitted (hashed n-grams, TF-IDF, LR)."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        HashingVectorizer(analyzer=config.analyzer, ngram_range=tuple(config.ngram_range),
                          n_features=config.n_features, alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=config.C, max_iter=5000, random_state=seed))


def fit_head(examples: Sequence[LabelledText], config: HeadConfig, *, seed: int = 0) -> list:
    """The fitted pipelines of one head (one, or two with the context model)."""
    labels = {e.label for e in examples}
    if labels != {0, 1}:
        raise ValueError(f"a head needs harmful and harmless examples (got labels {sorted(labels)})")
    texts = [normalise(e.text) for e in examples]
    y = [e.label for e in examples]
    w = sample_weights(examples, config.weighting)
    inputs = [texts]
    if config.with_context:
        inputs.append([_with_context(t, normalise(e.context)) for t, e in zip(texts, examples)])
    models = []
    for x in inputs:
        model = text_pipeline(config, seed)
        model.fit(x, y, logisticregression__sample_weight=w)
        models.append(model)
    return models


def head_proba(models: list, texts: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
    texts = [normalise(t) for t in texts]
    inputs = [texts]
    if len(models) > 1:
        inputs.append(texts if contexts is None else
                      [_with_context(t, normalise(c)) for t, c in zip(texts, contexts)])
    return np.mean([m.predict_proba(x)[:, 1] for m, x in zip(models, inputs)], axis=0)


@dataclass
class SafetyClassifier:
    """`heads` maps a kind ("request", "statement") to its fitted pipelines. Probabilities
    are of harm; a text is harmful when its probability is at least the threshold. An empty
    text is never harmful (it says nothing)."""

    heads: dict[str, list]
    threshold: float = DEFAULT_THRESHOLD
    configs: dict[str, HeadConfig] = field(default_factory=dict)
    card: dict = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.heads) - set(KINDS)
        if unknown or not self.heads:
            raise ValueError(f"heads must be some of {KINDS} (got {sorted(self.heads)})")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1) (got {self.threshold})")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if k in self.heads)

    @classmethod
    def fit(cls, examples: Iterable[LabelledText], *, configs: dict[str, HeadConfig] | None = None,
            threshold: float = DEFAULT_THRESHOLD, seed: int = 0) -> "SafetyClassifier":
        """One head per kind present in `examples` (LabelledText.kind)."""
        configs = {**DEFAULT_CONFIGS, **(configs or {})}
        by_kind: dict[str, list[LabelledText]] = {}
        for e in examples:
            by_kind.setdefault(e.kind, []).append(e)
        if not by_kind:
            raise ValueError("no training examples")
        heads = {k: fit_head(rows, configs[k], seed=seed) for k, rows in by_kind.items()}
        return cls(heads, threshold, {k: configs[k] for k in heads})

    def _head(self, kind: str) -> list:
        if kind not in self.heads:
            why = " (it was trained without the benchmarks; see its card)" if kind == "statement" else ""
            raise ValueError(f"this safety classifier has no {kind!r} head{why}; it has {', '.join(self.kinds)}")
        return self.heads[kind]

    def predict_proba(self, texts: Sequence[str], *, kind: str,
                      contexts: Sequence[str] | None = None) -> np.ndarray:
        """P(harmful) for each text. `kind` says what the texts are, and so which head reads
        them: "request" for users' prompts, "statement" for sentences and model answers (no
        default: on the sample domain the request head flags 64% of right answers, which it
        has never seen the like of). `contexts` (same length) is what each text follows or
        answers; the statement head reads it, the request head ignores it."""
        texts = list(texts)
        head = self._head(kind)
        if contexts is not None:
            contexts = list(contexts)
            if len(contexts) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        if not texts:
            return np.zeros(0)
        p = head_proba(head, texts, contexts)
        p[[not t.strip() for t in texts]] = 0.0
        return p

    def is_harmful(self, texts: Sequence[str], threshold: float | None = None, *, kind: str,
                   contexts: Sequence[str] | None = None) -> list[bool]:
        t = self.threshold if threshold is None else threshold
        return [bool(p >= t) for p in self.predict_proba(texts, kind=kind, contexts=contexts)]

    def harmful_share(self, texts: Sequence[str], threshold: float | None = None, *, kind: str,
                      contexts: Sequence[str] | None = None) -> float:
        """The share of texts judged harmful; NaN for no texts (a rate over nothing)."""
        flags = self.is_harmful(texts, threshold, kind=kind, contexts=contexts)
        return sum(flags) / len(flags) if flags else math.nan

    # --- persistence ------------------------------------------------------------------

    def save(self, directory: Path) -> Path:
        """model.skops, plus card.json and card.md when the classifier carries a card (the
        card records the model file's sha256, and load checks it)."""
        import skops.io as sio

        from nuri.safety.card import write_card

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        payload = {"format": FORMAT, "threshold": float(self.threshold),
                   "configs": {k: json.dumps(asdict(c)) for k, c in self.configs.items()},
                   "heads": {k: list(v) for k, v in self.heads.items()}}
        sio.dump(payload, path)
        if self.card:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            self.card = {**self.card, "version": digest[:12], "model_file": MODEL_FILE, "model_sha256": digest}
            write_card(self.card, directory)
        return path

    @classmethod
    def load(cls, directory: Path) -> "SafetyClassifier":
        """Reads model.skops, refusing any type outside TRUSTED_TYPES before anything is
        constructed; with a card.json beside it, the file must be the one the card names."""
        import skops.io as sio

        directory = Path(directory)
        path = directory / MODEL_FILE
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        card: dict = {}
        card_path = directory / "card.json"
        if card_path.is_file():
            try:
                card = json.loads(card_path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise DataError(f"{card_path}: not a valid JSON card ({e})") from None
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if card.get("model_sha256") not in (None, digest):
                raise DataError(f"{path}: sha256 {digest[:12]}… is not the {card['model_sha256'][:12]}… "
                                f"its card names (the model or the card was replaced)")
        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as e:  # a damaged or foreign file
            raise DataError(f"{path}: not a skops model file ({type(e).__name__}: {e})") from None
        refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if refused:
            raise DataError(f"{path}: holds types outside the trusted list, not loaded: {', '.join(refused)}")
        payload = sio.load(path, trusted=TRUSTED_TYPES)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("heads"), dict):
            raise DataError(f"{path}: not a safety classifier of format {FORMAT}")
        configs = {k: HeadConfig(**{**json.loads(v), "ngram_range": tuple(json.loads(v)["ngram_range"])})
                   for k, v in payload.get("configs", {}).items()}
        return cls({k: list(v) for k, v in payload["heads"].items()}, float(payload["threshold"]), configs, card)
