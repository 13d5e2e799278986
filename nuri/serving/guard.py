"""The domain service's guard: before the model is asked, the safety classifier's request
head decides whether a request is harmful and an in-domain/off-domain classifier whether
it belongs to the domain. A decline or refusal is then the domain's own message, so it
does not depend on a small model having learnt it.

The domain classifier is the safety classifier's kind of model (character n-gram TF-IDF
and logistic regression, nuri.safety.classifier.text_pipeline), trained on the domain's
own prompts: its in-domain questions and tasks against its off-domain questions.

`guard_check_ko.jsonl` holds everyday requests (dinner, weather, code, travel) in plain and
polite speech and harmful ones in wordings no training set uses, written apart from every
set the classifiers learn from; `Guard.check_rates` measures the guard on them, so a guard
that tells citizens an everyday request is harmful shows in every run's figures."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nuri.data.clean import normalise
from nuri.data.records import GuardCheckRecord, read_jsonl
from nuri.errors import DataError
from nuri.safety.classifier import TRUSTED_TYPES, HeadConfig, SafetyClassifier, text_pipeline

DOMAIN_MODEL_FILE = "domain_classifier.skops"
GUARD_CHECK_FILE = Path(__file__).with_name("guard_check_ko.jsonl")
# Character 1-4-grams as the request head; C chosen on the sample domain's training part
# (held-out off-domain recall 1.0 and in-domain false declines 0 at C 1-8).
DOMAIN_HEAD = HeadConfig(analyzer="char", ngram_range=(1, 4), C=4.0, weighting="none", n_features=2 ** 16)


class DomainClassifier:
    """P(off the domain) of a user's request."""

    def __init__(self, model):
        self.model = model

    @classmethod
    def fit(cls, in_domain: Sequence[str], off_domain: Sequence[str], seed: int = 0) -> "DomainClassifier":
        if not in_domain or not off_domain:
            raise DataError(f"the domain classifier needs in-domain and off-domain prompts "
                            f"(got {len(in_domain)} and {len(off_domain)}; is data.offdomain set?)")
        texts = [normalise(t) for t in [*in_domain, *off_domain]]
        y = [0] * len(in_domain) + [1] * len(off_domain)
        # Balanced by class: off-domain prompts are the fewer.
        w = np.array([len(y) / (2 * (len(off_domain) if label else len(in_domain))) for label in y])
        model = text_pipeline(DOMAIN_HEAD, seed)
        model.fit(texts, y, logisticregression__sample_weight=w)
        return cls(model)

    def p_off_domain(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba([normalise(t) for t in texts])[:, 1] if texts else np.zeros(0)

    def save(self, directory: Path) -> str:
        import skops.io as sio

        directory.mkdir(parents=True, exist_ok=True)
        path = directory / DOMAIN_MODEL_FILE
        sio.dump({"format": 1, "model": self.model}, path)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @classmethod
    def load(cls, directory: Path) -> "DomainClassifier":
        """Refuses any type outside the safety classifier's trusted list before loading."""
        import skops.io as sio

        path = Path(directory) / DOMAIN_MODEL_FILE
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        refused = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if refused:
            raise DataError(f"{path}: holds types outside the trusted list, not loaded: {', '.join(refused)}")
        payload = sio.load(path, trusted=TRUSTED_TYPES)
        if not isinstance(payload, dict) or payload.get("format") != 1:
            raise DataError(f"{path}: not a domain classifier of format 1")
        return cls(payload["model"])


def most_common(texts: Sequence[str]) -> str | None:
    return Counter(texts).most_common(1)[0][0] if texts else None


@dataclass(frozen=True)
class GuardDecision:
    action: str                 # "answer" | "decline" | "refuse"
    p_harmful: float | None
    p_off_domain: float | None

    def to_dict(self) -> dict:
        """What a client sees: the action only. The scores would let a caller tune a
        prompt until it slips under the threshold."""
        return {"action": self.action}


class Guard:
    """Two thresholds on P(harmful), because the safety classifier's request head learnt
    "harmless" from the domain's own questions: a text unlike them (an off-domain question,
    a task for a basic service) gets a higher P(harmful) without being harmful (the sample
    release's head: "what should I cook tonight?" 0.57, "how do I make a bomb?" 0.78). So
    a request off the domain, or to a basic service, is refused only on clear evidence
    (`harmful_elsewhere`); an in-domain one at the classifier's own threshold."""

    def __init__(self, *, safety: SafetyClassifier | None, domain: DomainClassifier | None,
                 decline_message: str, refusal_message: str, harmful_threshold: float | None = None,
                 harmful_elsewhere_threshold: float = 0.7, off_domain_threshold: float = 0.5):
        self.safety, self.domain = safety, domain
        self.decline_message, self.refusal_message = decline_message, refusal_message
        self.harmful_threshold = harmful_threshold if harmful_threshold is not None else \
            (safety.threshold if safety is not None else 0.5)
        self.harmful_elsewhere_threshold = max(harmful_elsewhere_threshold, self.harmful_threshold)
        self.off_domain_threshold = off_domain_threshold

    def decide(self, request: str, *, check_domain: bool = True, earlier: Sequence[str] = ()) -> GuardDecision:
        """earlier: the conversation's earlier user turns (harm in any of them is refused)."""
        p_harm = float(max(self.safety.predict_proba([request, *earlier], kind="request"))) if self.safety else None
        p_off = float(self.domain.p_off_domain([request])[0]) if self.domain and check_domain else None
        off = p_off is not None and p_off >= self.off_domain_threshold
        in_domain = check_domain and not off
        if p_harm is not None and p_harm >= (self.harmful_threshold if in_domain else self.harmful_elsewhere_threshold):
            return GuardDecision("refuse", p_harm, p_off)
        if off:
            return GuardDecision("decline", p_harm, p_off)
        return GuardDecision("answer", p_harm, p_off)

    def message(self, decision: GuardDecision) -> str | None:
        return {"refuse": self.refusal_message, "decline": self.decline_message}.get(decision.action)

    def rates(self, in_domain: Sequence[str], off_domain: Sequence[str], harmful: Sequence[str]) -> dict:
        """On held-out prompts of each kind: the share the guard lets through to the model,
        declines and refuses."""
        return {"guard_in_domain_passed": self._share(in_domain, {"answer"}),
                "guard_off_domain_declined": self._share(off_domain, {"decline"}),
                "guard_harmful_refused": self._share(harmful, {"refuse"}),
                "guard_heldout_prompts": len(in_domain) + len(off_domain) + len(harmful)}

    def check_rates(self, everyday: Sequence[str], harmful: Sequence[str]) -> dict:
        """On the check set (read_guard_check): the everyday requests the guard refuses as
        harmful, asked of the domain service and of a basic service (no domain check: a
        request it lets through reaches the model), and the harmful ones it refuses or, in
        the domain service, stops (declined or refused: the model is never asked)."""
        return {"guard_check_everyday_refused": self._share(everyday, {"refuse"}),
                "guard_check_everyday_refused_basic": self._share(everyday, {"refuse"}, check_domain=False),
                "guard_check_harmful_refused": self._share(harmful, {"refuse"}),
                "guard_check_harmful_stopped": self._share(harmful, {"refuse", "decline"}),
                "guard_check_harmful_refused_basic": self._share(harmful, {"refuse"}, check_domain=False),
                "guard_check_requests": len(everyday) + len(harmful)}

    def _share(self, texts: Sequence[str], actions: set[str], *, check_domain: bool = True) -> float:
        """The share of `texts` whose decision is one of `actions` (NaN for none)."""
        if not texts:
            return float("nan")
        return sum(self.decide(t, check_domain=check_domain).action in actions for t in texts) / len(texts)


def read_guard_check(path: Path = GUARD_CHECK_FILE) -> tuple[list[str], list[str]]:
    """(everyday, harmful) requests of the check set; a bad line is a DataError naming it."""
    rows = read_jsonl(Path(path), GuardCheckRecord)
    return [r.prompt for r in rows if not r.harmful], [r.prompt for r in rows if r.harmful]


def evaluate_domain_classifier(clf: DomainClassifier, in_domain: Sequence[str], off_domain: Sequence[str],
                               threshold: float) -> dict:
    """On held-out prompts: off-domain recall and in-domain questions wrongly declined."""
    p_in, p_off = clf.p_off_domain(list(in_domain)), clf.p_off_domain(list(off_domain))
    return {"domain_guard_heldout_in_domain": len(p_in), "domain_guard_heldout_off_domain": len(p_off),
            "domain_guard_off_domain_recall": float(np.mean(p_off >= threshold)) if len(p_off) else float("nan"),
            "domain_guard_in_domain_false_declines": int(np.sum(p_in >= threshold))}


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
