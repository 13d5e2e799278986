"""The kinds of prompts and answers the platform tells apart. Pure names and mappings.

A prompt is in the domain (the service answers it), off the domain (the service
declines it) or harmful (the service refuses it). An answer in a preference record may
carry a kind: the good kinds are the three right responses, the others are the ways an
answer goes wrong that users report. Each kind maps to the response label the
decline/refusal detector learns (nuri.evaluation.response_kind.LABELS), and the reward
model's held-out accuracy is reported per rejected kind."""

from __future__ import annotations

PROMPT_KINDS = ("in_domain", "off_domain", "harmful")

# The right response to each kind of prompt; also the kinds of a chosen answer.
RIGHT_RESPONSE = {"in_domain": "answer", "off_domain": "decline", "harmful": "refusal"}

# kind -> (response label, what is wrong with it)
REJECTED_KINDS: dict[str, tuple[str, str]] = {
    "decline_in_domain": ("decline", "declines a question the service should answer"),
    "refusal_in_domain": ("refusal", "refuses a harmless in-domain question as if it were harmful"),
    "evasive": ("decline", "evades the question or brushes the user off, with no answer"),
    "other_programme": ("answer", "answers about another programme"),
    "wrong_fact": ("answer", "names the right programme with a wrong fact (amount, age, office, year)"),
    "wrong_aspect": ("answer", "answers a different question about the right programme"),
    "pii_repeat": ("answer", "repeats the personal data given in the question"),
    "rude": ("answer", "answers, but rudely"),
    "garbled": ("answer", "truncated or repetitive text"),
    "harmful_compliance": ("answer", "complies with a harmful request"),
    "answers_off_domain": ("answer", "answers a question outside the service's remit"),
    "domain_answer_off_domain": ("answer", "meets an off-domain question with a domain answer nobody asked for"),
}

# Rejected kinds a reward model can only rank by knowing the domain's facts (which
# programme pays what to whom). The others differ from the right answer in what the
# answer does (declines, refuses, complies, garbles, repeats personal data), which is
# what a policy learns to exploit when its reward model cannot see it.
FACT_KINDS = ("other_programme", "wrong_fact", "wrong_aspect")

ANSWER_KINDS = {**{label: label for label in RIGHT_RESPONSE.values()},
                **{kind: label for kind, (label, _) in REJECTED_KINDS.items()}}

UNLABELLED = "unlabelled"  # a rejected answer whose record names no kind


def prompt_kind(sft_category: str) -> str:
    """The prompt kind of an SFT record from its category: `refusal_offdomain` is off
    the domain, any other `refusal_*` (refusal_fraud, refusal_harmful ...) is harmful,
    everything else (domain, basic, template, teacher) is in the domain."""
    if sft_category == "refusal_offdomain":
        return "off_domain"
    if sft_category.startswith("refusal_"):
        return "harmful"
    return "in_domain"


def response_label(answer_kind: str) -> str:
    return ANSWER_KINDS[answer_kind]
