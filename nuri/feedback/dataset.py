"""People's ratings become training data (pure logic; the store and storage are glue).

- a correction becomes an SFT pair (the question, the answer the person expected);
- a rated-bad answer becomes the rejected answer of a preference pair, the correction
  (or a good-rated answer to the same question) the chosen one; with neither it is
  counted and left out: a pair needs something better to prefer;
- a harmful rating puts the request in the filtering set, with the domain's refusal.

Only the domain service's and the conversation service's answers are used: the others
are templated tasks (a summary, code) whose prompts are not the question asked."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from nuri.data.clean import normalise

SFT_FILE, PREFERENCES_FILE, SAFETY_FILE, CARD_FILE = (
    "feedback_sft.jsonl", "feedback_preferences.jsonl", "feedback_safety.jsonl", "feedback_card.json")
TRAINED_SERVICES = ("domain", "conversation")
# Preference-pair kinds (nuri/data/kinds.py) of a rated-bad answer; biased has none there.
REJECTED_KIND = {"hallucination": "wrong_fact", "evasive": "evasive", "harmful": "harmful_compliance"}
# SFT categories (nuri/data/kinds.py reads refusal_* as a harmful prompt).
CORRECTION_CATEGORY, HARMFUL_CATEGORY = "feedback", "refusal_feedback"


@dataclass
class FeedbackDataset:
    sft: list[dict] = field(default_factory=list)           # {prompt, answer, category}
    preferences: list[dict] = field(default_factory=list)   # {prompt, answers: [chosen, rejected], chosen: 0, kinds}
    safety: list[dict] = field(default_factory=list)        # {prompt, category, refusal}
    card: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.sft or self.preferences or self.safety)


def build_feedback_dataset(ratings: list[dict], *, refusal: str, releases: list[str] | None = None
                           ) -> FeedbackDataset:
    """ratings: as FeedbackStore.ratings() returns them (already de-identified)."""
    used = [r for r in ratings if r["service"] in TRAINED_SERVICES and r["prompt"].strip()]
    good: dict[str, str] = {}
    for r in used:
        if r["kind"] == "good" and r["answer"].strip():
            good.setdefault(normalise(r["prompt"]), r["answer"])
    out = FeedbackDataset()
    skipped: Counter[str] = Counter()
    seen_sft, seen_pairs, seen_safety = set(), set(), set()
    for r in used:
        if r["kind"] == "good":
            continue
        prompt, key = r["prompt"], normalise(r["prompt"])
        correction = (r.get("correction") or "").strip()
        chosen = correction or good.get(key)
        if r["kind"] == "harmful":  # refused from now on, whatever else was suggested
            chosen = refusal
            if key not in seen_safety:
                seen_safety.add(key)
                out.safety.append({"prompt": prompt, "category": "feedback", "refusal": refusal})
                out.sft.append({"prompt": prompt, "answer": refusal, "category": HARMFUL_CATEGORY})
        elif correction and (key, correction) not in seen_sft:
            seen_sft.add((key, correction))
            out.sft.append({"prompt": prompt, "answer": correction, "category": CORRECTION_CATEGORY})
        if not chosen:
            skipped["no_better_answer"] += 1
        elif not r["answer"].strip() or normalise(chosen) == normalise(r["answer"]):
            skipped["rejected_equals_chosen"] += 1
        elif (key, r["answer"]) not in seen_pairs:
            seen_pairs.add((key, r["answer"]))
            kind = REJECTED_KIND.get(r["kind"])
            out.preferences.append({"prompt": prompt, "answers": [chosen, r["answer"]], "chosen": 0,
                                    **({"kinds": ["refusal" if r["kind"] == "harmful" else "answer", kind]}
                                       if kind else {})})
    kinds = Counter(r["kind"] for r in used)
    out.card = {
        "from_releases": sorted(releases if releases is not None else {r["release"] for r in ratings}),
        "ratings": len(ratings), "ratings_used": len(used),
        "ratings_other_services": len(ratings) - len(used),
        "ratings_by_kind": dict(sorted(kinds.items())),
        "sft_pairs": len(out.sft), "preference_pairs": len(out.preferences), "filtering_items": len(out.safety),
        "left_out": dict(skipped),
        "rating_ids": [r["id"] for r in ratings],
    }
    body = json.dumps([out.sft, out.preferences, out.safety], ensure_ascii=False, sort_keys=True)
    out.card["version"] = "fb-" + hashlib.sha256(body.encode()).hexdigest()[:12]
    return out
