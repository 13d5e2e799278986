"""The public Korean benchmarks in the evaluation stage, and knowledge through
lm-evaluation-harness:

    KoBBQ     bias: accuracy in ambiguous / disambiguated contexts and the diff-bias
              scores, overall and per category (kobbq.py);
    SQuARe    the released model's answers to sensitive test questions: refused or
              declined, and acceptable (a non-answer, or an answer the safety
              classifier does not judge harmful) (square.py);
    knowledge the domain's multiple-choice items through lm-eval with a local task
              (harness.py), beside Nuri's own scorer.

The benchmark folder (evaluation.benchmarks) is optional: where it is absent each
benchmark says why it was not measured, and its metrics stay out of the report (a
gate on one then fails as "not measured")."""

from __future__ import annotations

import logging
from pathlib import Path

from nuri.evaluation.scoring import generate_answers
from nuri.storage import sha256_file

log = logging.getLogger(__name__)

KOBBQ, SQUARE = "KoBBQ", "SQuARe"


def benchmark_folder(configured: str | None) -> tuple[Path | None, str | None]:
    """(folder, None) when the configured folder holds benchmarks, else (None, why not)."""
    if not configured:
        return None, "evaluation.benchmarks is not set"
    folder = Path(configured)
    if not folder.is_dir():
        return None, f"{folder} is absent"
    return folder, None


def _files(folder: Path, names: list[str]) -> dict[str, str]:
    return {n: sha256_file(folder / n) for n in names if (folder / n).is_file()}


def kobbq(model, tokenizer, folder: Path, max_items: int, system: str, seed: int) -> tuple[dict, dict]:
    from nuri.evaluation.kobbq import TEST_FILE, evaluate_kobbq, flat_metrics

    report = evaluate_kobbq(model, tokenizer, folder / "kobbq", max_items, system, seed)
    metrics = flat_metrics(report)
    # Which way the model leans matters less to a gate than how far.
    metrics["kobbq_bias_ambiguous_abs"] = abs(metrics["kobbq_diff_bias_ambiguous"])
    metrics["kobbq_bias_disambiguated_abs"] = abs(metrics["kobbq_diff_bias_disambiguated"])
    chance = report["baselines"]["uniform_random"]
    metrics["kobbq_chance_accuracy_ambiguous"] = chance["accuracy_ambiguous"]
    info = {"paper": "Jin et al., KoBBQ, TACL 2024", "files": _files(folder / "kobbq", [TEST_FILE]),
            "items": report["items"], "seconds": round(report["seconds"], 1),
            "by_category": report.get("by_category", {}), "baselines": report["baselines"]}
    log.info("KoBBQ (%d items, %.0f s): accuracy ambiguous %.3f, disambiguated %.3f; diff-bias %.3f / %.3f",
             report["items"], report["seconds"], metrics["kobbq_accuracy_ambiguous"],
             metrics["kobbq_accuracy_disambiguated"], metrics["kobbq_diff_bias_ambiguous"],
             metrics["kobbq_diff_bias_disambiguated"])
    return metrics, info


def square(model, tokenizer, folder: Path, max_items: int, system: str, max_new_tokens: int, seed: int,
           kinds, judge=None) -> tuple[dict, dict, list[str]]:
    """kinds: the response-kind detector's predict; judge: the safety classifier, which
    reads each answer with its question (None: acceptability is not measured)."""
    from nuri.evaluation.square import QUESTIONS_TEST, load_sensitive_questions, square_rates

    questions = load_sensitive_questions(folder / "square", max_items, seed)
    asked = [q.question for q in questions]
    answers = generate_answers(model, tokenizer, asked, system, max_new_tokens)
    harmful = None if judge is None else (lambda texts: judge.is_harmful(texts, kind="statement", contexts=asked))
    rates = square_rates(questions, answers, kinds, harmful)
    metrics = {"square_questions": rates["items"], "square_refusal_rate": rates["non_answer_rate"]}
    if "acceptable_rate" in rates:
        metrics["square_acceptable_rate"] = rates["acceptable_rate"]
    info = {"paper": "Lee et al., SQuARe, ACL 2023", "files": _files(folder / "square", [QUESTIONS_TEST]),
            "items": rates["items"], "by_category": rates["by_category"]}
    return metrics, info, answers


def knowledge_through_harness(model, tokenizer, knowledge: Path, system: str) -> dict:
    """acc and acc_norm of lm-eval on the domain's knowledge items, prompted with the
    model's chat template as Nuri's own scorer is (which picks by mean log-likelihood
    per token: lm-eval's acc by the sum, acc_norm by the sum per character)."""
    from nuri.evaluation.harness import knowledge_task, run_harness

    result = run_harness(model, tokenizer, [knowledge_task(knowledge)], chat_template=True, system=system)
    task = next(iter(result.values()))
    return {"knowledge_harness_acc": task["acc"], "knowledge_harness_acc_norm": task["acc_norm"],
            "knowledge_harness_acc_stderr": task["acc_stderr"]}
