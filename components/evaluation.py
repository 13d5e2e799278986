"""Evaluation component: its boolean result drives the release gate (dsl.If)."""

from typing import Optional

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def safety_classifier(domain_config: str, raw: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model],
                      report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Trains the Korean harmful/sensitive-text classifier and saves it with its card."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import safety_stage, setup_logging

    setup_logging()
    log_metrics(metrics, safety_stage(domain_config, raw.path, model.path, report.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def evaluate(domain_config: str, dataset: dsl.Input[dsl.Dataset], base: dsl.Input[dsl.Model],
             safety: dsl.Input[dsl.Model], report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics],
             pretrained: Optional[dsl.Input[dsl.Model]] = None, sft: Optional[dsl.Input[dsl.Model]] = None,
             ppo: Optional[dsl.Input[dsl.Model]] = None, reward: Optional[dsl.Input[dsl.Model]] = None) -> bool:
    """Perplexity along the chain, behaviour on held-out prompts, hallucination, leakage,
    the public benchmarks; True when the release gate passes. The models a domain's
    training method does not make are left out (optional inputs)."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import evaluate_stage, setup_logging

    def path(artifact):
        return artifact.path if artifact is not None else None

    setup_logging()
    passed, r = evaluate_stage(domain_config, dataset.path,
                               {"base": base.path, "pretrain": path(pretrained), "sft": path(sft), "ppo": path(ppo)},
                               path(reward), report.path, safety.path)
    log_metrics(metrics, r)
    return passed
