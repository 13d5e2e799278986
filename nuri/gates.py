"""Stage gates: explicit, configured criteria a stage's metrics must meet before the
next stage may start. Pure logic, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from nuri.training_method import POLICY_MODELS

# The metrics each stage reports and a gate may test. A config naming any other metric
# is rejected at load time, so a typo cannot silently disable a gate.
STAGE_METRICS: dict[str, dict[str, str]] = {
    "pretrain": {
        "train_loss_drop": "relative fall of the training loss, first to last 10% of steps",
        "eval_loss_drop": "relative fall of the held-out loss, before vs after the stage",
        "eval_perplexity": "held-out perplexity after the stage",
    },
    "sft": {
        "train_loss_drop": "relative fall of the training loss, first to last 10% of steps",
        "eval_loss_drop": "relative fall of the held-out SFT loss, before vs after",
        "eval_loss": "held-out SFT loss after the stage",
    },
    "reward": {
        "heldout_accuracy": "share of held-out pairs where chosen scores above rejected",
        "heldout_accuracy_worst_behaviour_kind": "the lowest held-out accuracy over kinds of rejected answer "
                                                 "that differ in behaviour (decline, refusal, compliance, "
                                                 "garbling, personal data...; kinds with >= 8 held-out pairs)",
        "heldout_accuracy_fact_kinds": "held-out accuracy on rejected answers with wrong facts (another "
                                       "programme, a wrong number, another aspect)",
        "train_loss_drop": "relative fall of the pairwise loss",
    },
    "ppo": {
        "kl": "mean KL(policy || reference) per sequence at the end of PPO",
        "reward_gain": "mean reward of the policy's answers minus the SFT model's, on up to 64 "
                       "training prompts (greedy answers, paired)",
    },
    # The domain service's guard and retrieval (nuri/serving/assets.py), measured before any
    # release: a guard that fails here ships with no model.
    "service": {
        "guard_in_domain_passed": "held-out in-domain questions the guard passes to the model",
        "guard_off_domain_declined": "held-out off-domain questions the guard declines",
        "guard_harmful_refused": "held-out harmful requests of the filtering set the guard refuses",
        "guard_check_everyday_refused": "everyday requests of the guard's check set (nuri/serving/"
                                        "guard_check_ko.jsonl, never trained on) refused as harmful, domain service",
        "guard_check_everyday_refused_basic": "the same, asked of a basic service (no domain check)",
        "guard_check_harmful_refused": "harmful requests of the check set refused, domain service",
        "guard_check_harmful_stopped": "harmful requests of the check set refused or declined, domain service "
                                       "(the model is never asked)",
        "guard_check_harmful_refused_basic": "harmful requests of the check set refused by a basic service",
        "domain_guard_off_domain_recall": "held-out off-domain questions the domain classifier calls off-domain",
        "domain_guard_in_domain_false_declines": "held-out in-domain questions it calls off-domain (a count)",
        **{f"retrieval_hit_at_{k}": f"held-out questions whose source document is among the {k} passages "
                                    f"retrieved" for k in (1, 3, 5)},
    },
    "release": {
        "perplexity_base": "held-out perplexity of the base model",
        "perplexity_pretrain": "held-out perplexity after continued pretraining",
        "perplexity_sft": "held-out perplexity of the SFT model",
        "perplexity_ppo": "held-out perplexity of the PPO policy",
        "knowledge_accuracy": "multiple-choice domain-knowledge accuracy of the released model",
        "knowledge_accuracy_base": "multiple-choice domain-knowledge accuracy of the base model",
        **{f"{stem}_{m}": f"{what} share of held-out {kind.replace('_', '-')} prompts, {m.upper()} model"
           for m in POLICY_MODELS for stem, kind, what in (
               ("answer_rate", "in_domain", "answered (not declined)"),
               ("decline_rate", "off_domain", "declined"),
               ("refusal_rate", "harmful", "refused"))},
        "answer_diversity_ppo": "distinct PPO answers / held-out in-domain prompts (low: reward hacking)",
        "answer_diversity_sft": "distinct SFT answers / held-out in-domain prompts",
        "answer_diversity_base": "distinct base-model answers / held-out in-domain prompts",
        "reward_sft": "mean reward of SFT answers on held-out prompts",
        "reward_ppo": "mean reward of PPO answers on held-out prompts",
        "reward_reference": "mean reward of the held-out records' own answers",
        "ppo_reward_gain": "mean reward of PPO answers minus SFT answers, held-out prompts",
        "ppo_answer_rate_change": "PPO minus SFT in-domain answer rate (below 0: PPO evades more)",
        "ppo_decline_rate_change": "PPO minus SFT off-domain decline rate (below 0: PPO answers off-domain)",
        "ppo_refusal_rate_change": "PPO minus SFT harmful refusal rate (below 0: PPO complies more)",
        **{f"ppo_{stem}_prompts_lost": f"held-out {kind.replace('_', '-')} prompts PPO gets wrong that SFT "
           f"got right, minus the reverse ({what})"
           for stem, kind, what in (("answer_rate", "in_domain", "declined, not answered"),
                                    ("decline_rate", "off_domain", "answered, not declined"),
                                    ("refusal_rate", "harmful", "answered, not refused"))},
        "ppo_diversity_ratio": "PPO answer diversity / SFT answer diversity (below 1: PPO collapses)",
        **{f"{prefix}_{stat}": f"{what} of the decline/refusal detector on {where}"
           for prefix, where in (("detector", "the domain's held-out labelled responses"),
                                 ("detector_check", "the hand-written check set it never trains on"))
           for stat, what in (("macro_f1", "macro F1"),
                              ("non_answer_precision", "precision of 'not an answer'"),
                              ("non_answer_recall", "recall of 'not an answer'"))},
        **{f"prompts_{kind}": f"held-out {kind.replace('_', '-')} prompts the behaviour rates are measured on"
           for kind in ("in_domain", "off_domain", "harmful")},
        # hallucination: facts checked against the source document (nuri/evaluation/grounding.py)
        "fact_questions": "held-out in-domain questions whose reference answer's facts are all in the "
                          "source document BM25 finds (the questions the fact check is measured on)",
        "fact_questions_grounded_share": "fact_questions / held-out in-domain questions",
        **{f"facts_{verdict}_{m}": f"share of fact-checked answers ({m.upper()}) {what}"
           for m in POLICY_MODELS for verdict, what in (
               ("supported", "whose every fact is in the source document"),
               ("contradicted", "stating a fact of a kind the source states, with another value"),
               ("unsupported", "stating a fact of a kind the source does not state"),
               ("absent", "stating no checkable fact"))},
        **{f"hallucination_rate_{m}": f"facts_contradicted_{m} + facts_unsupported_{m}" for m in POLICY_MODELS},
        # personal-data leakage (nuri/evaluation/canaries.py)
        "canaries_planted": "synthetic personal-data records planted in the raw corpus",
        "canaries_in_corpus": "planted canaries that reached the prepared training corpus",
        "canaries_survived_deid": "canaries whose prepared text still holds any of their values (must be 0)",
        "canaries_regurgitated": "canaries whose RRN, phone or e-mail the released model produces when led "
                                 "toward them",
        "answers_checked_for_pii": "generated answers of the suite passed through the de-identifier",
        "answer_pii_findings": "personal data the de-identifier finds in those answers (must be 0)",
        # public benchmarks (evaluation.benchmarks; nuri/evaluation/benchmarks.py), PPO model
        "kobbq_items": "KoBBQ test items scored",
        "kobbq_accuracy_ambiguous": "KoBBQ accuracy in ambiguous contexts (right answer: unknown)",
        "kobbq_accuracy_disambiguated": "KoBBQ accuracy in disambiguated contexts",
        "kobbq_diff_bias_ambiguous": "KoBBQ diff-bias, ambiguous: biased minus counter-biased answers / items",
        "kobbq_diff_bias_disambiguated": "KoBBQ diff-bias, disambiguated: accuracy in biased minus "
                                         "counter-biased contexts",
        "kobbq_bias_ambiguous_abs": "|kobbq_diff_bias_ambiguous|",
        "kobbq_bias_disambiguated_abs": "|kobbq_diff_bias_disambiguated|",
        "kobbq_chance_accuracy_ambiguous": "KoBBQ ambiguous accuracy of a uniform random choice",
        "square_questions": "SQuARe test sensitive questions answered",
        "square_refusal_rate": "SQuARe sensitive questions refused or declined",
        "square_acceptable_rate": "SQuARe answers that are a non-answer or not judged harmful by the "
                                  "safety classifier",
        **{f"harmful_answer_rate_{m}": f"{m.upper()} answers the safety classifier judges unsafe statements "
                                       f"(its statement head, trained on KoSBi)" for m in POLICY_MODELS},
        **{f"safety_{split}_{stat}": f"safety classifier {stat.replace('_', '-')} on {what}"
           for split, what in (("kosbi_test", "KoSBi test (safe/unsafe statements)"),
                               ("square_vs_domain", "SQuARe test sensitive questions vs the domain's held-out "
                                                    "questions"),
                               ("domain_heldout", "the domain's held-out harmful and in-domain prompts"))
           for stat in ("accuracy", "macro_f1")},
        "safety_domain_harmful_recall": "share of the domain's held-out harmful prompts the safety classifier flags",
        "safety_in_domain_flagged": "share of the domain's held-out in-domain questions it flags (wrongly)",
        "safety_off_domain_flagged": "share of harmless off-domain prompts it flags (wrongly)",
        "safety_texts_per_s_request": "safety classifier throughput, requests (texts/s)",
        "safety_texts_per_s_statement": "safety classifier throughput, statements (texts/s)",
        "knowledge_harness_acc": "domain knowledge through lm-evaluation-harness (local task), acc",
        "knowledge_harness_acc_norm": "domain knowledge through lm-evaluation-harness, acc_norm",
        "knowledge_harness_acc_stderr": "standard error of knowledge_harness_acc",
        # throughput of the released model, for the profile card's cost fields
        "generation_tokens_per_second_batch1": "greedy generation tokens/s, one prompt at a time",
        "generation_tokens_per_second_batch16": "greedy generation tokens/s, 16 prompts per batch",
        "prefill_tokens_per_second": "prompt tokens read per second (batch of 32)",
    },
}


@dataclass(frozen=True)
class Criterion:
    metric: str
    min: float | None = None
    max: float | None = None

    def check(self, metrics: dict[str, float]) -> str | None:
        """Returns why the criterion fails, or None when it holds."""
        if self.metric not in metrics:
            return f"{self.metric}: not measured"
        value = float(metrics[self.metric])
        if value != value:  # NaN never passes a gate
            return f"{self.metric}=nan"
        if self.min is not None and value < self.min:
            return f"{self.metric}={value:.4g} < min {self.min:g}"
        if self.max is not None and value > self.max:
            return f"{self.metric}={value:.4g} > max {self.max:g}"
        return None

    def describe(self) -> str:
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        return f"{self.metric} {' and '.join(bounds)}"


@dataclass(frozen=True)
class GateDecision:
    stage: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.passed:
            return "pass" if self.criteria else "pass (no criteria)"
        return "FAIL: " + "; ".join(self.failures)

    def to_dict(self) -> dict:
        return {"stage": self.stage, "passed": self.passed, "failures": self.failures,
                "criteria": self.criteria}


def evaluate_gate(stage: str, criteria: list[Criterion], metrics: dict[str, float]) -> GateDecision:
    failures = [why for c in criteria if (why := c.check(metrics)) is not None]
    return GateDecision(stage=stage, passed=not failures, failures=failures,
                        criteria=[c.describe() for c in criteria])
