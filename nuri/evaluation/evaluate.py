"""The evaluation stage: held-out perplexity of every model along the chain; what the
policies (SFT and PPO, or SFT alone, or the base model: training.method) do on held-out
in-domain, off-domain and harmful prompts (answer, decline and refusal rates judged by a
trained detector whose own precision and recall are measured, answer diversity, mean
reward when a reward model is trained), PPO against SFT on each; multiple-choice
domain knowledge (Nuri's scorer and lm-evaluation-harness); and the trust suite: facts
checked against their source (grounding.py), personal-data leakage (canaries.py), the
public benchmarks and the safety classifier's judgement (benchmarks.py), throughput.
The reward model's pairwise accuracy is gated where it is trained (the reward stage)
and not measured again here."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from nuri.config import DomainConfig
from nuri.data.records import Document, KnowledgeRecord, SftRecord, read_jsonl
from nuri.evaluation.behaviour import (RATES, behaviour_prompts, behaviour_rates, ppo_against_sft,
                                       sample_answers)
from nuri.evaluation.response_kind import ResponseKindDetector, check_responses, read_labelled
from nuri.evaluation.scoring import choice_accuracy, generate_answers, perplexity, reward_scores
from nuri.evaluation.benchmarks import KOBBQ, SQUARE, benchmark_folder, knowledge_through_harness, kobbq, square
from nuri.evaluation.trust import fact_check, leakage, throughput
from nuri.deid import Deidentifier
from nuri.training_method import policies as judged_policies

log = logging.getLogger(__name__)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def safety_judge(safety_dir: Path | None):
    """The safety classifier when it has its statement head (trained with the benchmarks),
    else None: the request head judges requests, not answers."""
    if safety_dir is None or not (Path(safety_dir) / "card.json").exists():
        return None
    from nuri.safety import SafetyClassifier

    clf = SafetyClassifier.load(Path(safety_dir))
    return clf if "statement" in clf.kinds else None


def train_detector(data_dir: Path, seed: int) -> tuple[ResponseKindDetector, dict]:
    """The decline/refusal detector, fit on the dataset's labelled responses, with its
    quality on the held-out ones ("heldout") and on the hand-written check set ("check")."""
    detector = ResponseKindDetector.fit(read_labelled(data_dir / "responses_train.jsonl"), seed=seed)
    heldout = data_dir / "responses_heldout.jsonl"
    quality = {"heldout": detector.quality(read_labelled(heldout)) if heldout.exists() else {},
               "check": detector.quality(check_responses())}
    return detector, quality


def evaluate(config: DomainConfig, data_dir: Path, models: dict[str, Path], reward_dir: Path | None,
             out_dir: Path, safety_dir: Path | None = None) -> tuple[dict, list[dict], dict]:
    """models: every model along the chain that the domain's training method makes
    (base first); reward_dir: None when no reward model is trained. The last policy is
    the model released, and the one the trust suite measures. Returns (metrics, sample
    answers, {"benchmarks": what each public benchmark ran on, "benchmarks_skipped": why
    one did not run})."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(config.runtime.seed)
    policies = judged_policies(config.trained_stages())
    released = policies[-1]
    ev = config.evaluation
    system = config.serving.system_prompt
    texts = [d.text for d in read_jsonl(data_dir / "corpus_heldout.jsonl", Document)][: ev.max_eval_docs]
    block = config.stages.pretrain.seq_len
    metrics: dict[str, float] = {}
    loaded = {}
    for name, path in models.items():
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        loaded[name] = (model, tok)
        metrics[f"perplexity_{name}"] = perplexity(model, tok, texts, block)
        log.info("held-out perplexity %s: %.2f", name, metrics[f"perplexity_{name}"])

    knowledge = data_dir / "knowledge.jsonl"

    # --- behaviour on held-out prompts -----------------------------------------------
    detector, quality = train_detector(data_dir, config.runtime.seed)
    for where, prefix in (("heldout", "detector"), ("check", "detector_check")):
        q = quality[where]
        metrics[f"{prefix}_macro_f1"] = q.get("macro_f1", float("nan"))
        metrics[f"{prefix}_non_answer_precision"] = q.get("non_answer", {}).get("precision", float("nan"))
        metrics[f"{prefix}_non_answer_recall"] = q.get("non_answer", {}).get("recall", float("nan"))
    prompts = behaviour_prompts(read_jsonl(data_dir / "sft_heldout.jsonl", SftRecord), ev.behaviour_prompts)
    for kind in RATES:
        metrics[f"prompts_{kind}"] = sum(p.kind == kind for p in prompts)

    asked = [p.prompt for p in prompts]
    answers, labels = {}, {}
    for name in policies:
        model, tok = loaded[name]
        answers[name] = generate_answers(model, tok, asked, system, ev.max_new_tokens)
        labels[name] = detector.predict(answers[name])
        metrics.update(behaviour_rates(prompts, answers[name], labels[name], name))
    if reward_dir is not None:
        rm_tok = AutoTokenizer.from_pretrained(reward_dir)
        rm = AutoModelForSequenceClassification.from_pretrained(reward_dir, num_labels=1, dtype=torch.float32)
        rm.config.pad_token_id = rm_tok.pad_token_id
        max_len = config.stages.reward.max_length
        for name in policies:
            metrics[f"reward_{name}"] = _mean(reward_scores(rm, rm_tok, asked, answers[name], system, max_len))
        metrics["reward_reference"] = _mean(reward_scores(rm, rm_tok, asked, [p.reference for p in prompts],
                                                          system, max_len))
    if "ppo" in policies:
        metrics.update(ppo_against_sft(metrics))

    # --- trust: hallucination against the sources -------------------------------------
    in_domain = [(i, p) for i, p in enumerate(prompts) if p.kind == "in_domain"]
    metrics.update(fact_check(data_dir, [(p.prompt, p.reference) for _, p in in_domain],
                              {m: {p.prompt: answers[m][i] for i, p in in_domain} for m in policies}))

    # --- public benchmarks (bias, sensitive questions), the safety classifier ---------
    out_model, out_tok = loaded[released]  # the released model, whichever stage made it
    judge = safety_judge(safety_dir)
    if judge is not None:
        from nuri.safety.card import flat_metrics

        metrics.update(flat_metrics(judge.card))
        # Unsafe statements (stereotype, prejudice) in what the released model says.
        metrics[f"harmful_answer_rate_{released}"] = judge.harmful_share(answers[released], kind="statement",
                                                                         contexts=asked)
    folder, why = benchmark_folder(ev.benchmarks)
    extras: dict = {"benchmarks": {}, "benchmarks_skipped": {}}
    generated = [a for m in policies for a in answers[m]]
    if folder is None:
        extras["benchmarks_skipped"] = {KOBBQ: why, SQUARE: why}
    else:
        m, extras["benchmarks"][KOBBQ] = kobbq(out_model, out_tok, folder, ev.kobbq_items, system,
                                               config.runtime.seed)
        metrics.update(m)
        m, extras["benchmarks"][SQUARE], square_answers = square(
            out_model, out_tok, folder, ev.square_questions, system, ev.max_new_tokens, config.runtime.seed,
            detector.predict, judge)
        metrics.update(m)
        generated += square_answers
    if knowledge.exists():
        metrics.update(knowledge_through_harness(out_model, out_tok, knowledge, system))

    # --- personal-data leakage, throughput -------------------------------------------
    prepared = json.loads((data_dir / "card.json").read_text()).get("counts", {}) \
        if (data_dir / "card.json").exists() else {}
    leaks, _ = leakage(data_dir, prepared, out_model, out_tok, system, Deidentifier(config.deid), generated,
                       ev.max_new_tokens)
    metrics.update(leaks)
    metrics.update(throughput(out_model, out_tok, [p.prompt for _, p in in_domain], system, ev.max_new_tokens))
    for name in policies:
        log.info("%s on held-out prompts: answered %.2f, declined off-domain %.2f, refused harmful %.2f, "
                 "distinct answers %.2f, reward %.3f", name, metrics[f"answer_rate_{name}"],
                 metrics[f"decline_rate_{name}"], metrics[f"refusal_rate_{name}"],
                 metrics[f"answer_diversity_{name}"], metrics.get(f"reward_{name}", float("nan")))

    if knowledge.exists():
        items = [r.model_dump() for r in read_jsonl(knowledge, KnowledgeRecord)]
        for name in dict.fromkeys(("base", released)):  # foundation: the base model is the one released
            model, tok = loaded[name]
            metrics[f"knowledge_accuracy{'' if name == released else '_' + name}"] = choice_accuracy(
                model, tok, items, system)
        metrics.setdefault("knowledge_accuracy_base", metrics["knowledge_accuracy"])
        metrics["knowledge_chance"] = _mean([1 / len(i["choices"]) for i in items])
    metrics["heldout_docs"] = len(texts)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "answers.json").write_text(json.dumps(
        [{"kind": p.kind, "prompt": p.prompt, "reference": p.reference,
          **{m: answers[m][i] for m in policies}, **{f"{m}_label": labels[m][i] for m in policies}}
         for i, p in enumerate(prompts)], ensure_ascii=False, indent=2))
    (out_dir / "detector.json").write_text(json.dumps(quality, indent=2))
    plot_evaluation(metrics, out_dir / "evaluation.png", config.name, policies)
    return metrics, sample_answers(prompts, answers, labels), extras


# The trust panel of the evaluation chart: (label, metric), drawn when measured.
TRUST_BARS = [
    *[(f"{m.upper()} answers hallucinated (lower better)", f"hallucination_rate_{m}") for m in ("base", "sft", "ppo")],
    *[(f"{m.upper()} facts supported (higher better)", f"facts_supported_{m}") for m in ("base", "sft", "ppo")],
    ("KoBBQ accuracy, ambiguous (higher better)", "kobbq_accuracy_ambiguous"),
    ("KoBBQ accuracy, disambiguated (higher better)", "kobbq_accuracy_disambiguated"),
    ("KoBBQ |bias|, ambiguous (lower better)", "kobbq_bias_ambiguous_abs"),
    ("SQuARe sensitive refused (higher better)", "square_refusal_rate"),
    ("SQuARe answers acceptable (higher better)", "square_acceptable_rate"),
    ("safety classifier KoSBi accuracy", "safety_kosbi_test_accuracy"),
    ("knowledge acc, lm-eval (higher better)", "knowledge_harness_acc"),
]


def plot_evaluation(metrics: dict, path: Path, domain: str, policies: tuple[str, ...] = ("sft", "ppo")) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 8), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.1])
    a, b, c = (fig.add_subplot(grid[0, i]) for i in range(3))
    d = fig.add_subplot(grid[1, :])  # the trust panel's labels are long: the whole width
    names = [k.removeprefix("perplexity_") for k in metrics if k.startswith("perplexity_")]
    a.bar(names, [metrics[f"perplexity_{n}"] for n in names], color="#4c72b0")
    a.set_yscale("log")
    a.set_title("held-out perplexity (lower is better)")
    stems = [stem for stem, _ in RATES.values()] + ["answer_diversity"]
    x = range(len(stems))
    for i, (name, colour) in enumerate(zip(policies, ("#8172b3", "#dd8452"))):
        b.bar([j + i * 0.4 for j in x], [metrics.get(f"{s}_{name}", 0) for s in stems], 0.4, label=name,
              color=colour)
    b.set_xticks([j + 0.2 for j in x], ["in-domain\nanswered", "off-domain\ndeclined", "harmful\nrefused",
                                          "distinct\nanswers"])
    b.set_ylim(0, 1.05)
    b.legend()
    b.set_title("behaviour on held-out prompts (higher is better)")
    keys = [k for k in ("reward_sft", "reward_ppo", "reward_reference") if k in metrics]  # none: no reward model
    c.bar([k.removeprefix("reward_") for k in keys], [metrics[k] for k in keys], color="#55a868")
    c.set_title("mean reward on held-out prompts")
    trust = [(label, key) for label, key in TRUST_BARS if key in metrics and metrics[key] == metrics[key]]
    d.barh([label for label, _ in trust][::-1], [metrics[k] for _, k in trust][::-1], color="#c44e52")
    d.set_xlim(0, 1)
    d.set_title("trust (shares; which way is better is in the label)")
    fig.suptitle(f"{domain}: evaluation")
    fig.savefig(path, dpi=110)
    plt.close(fig)
