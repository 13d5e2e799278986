"""Evaluation component: its boolean result drives the release gate (dsl.If)."""

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def evaluate(domain_config: str, dataset: dsl.Input[dsl.Dataset], base: dsl.Input[dsl.Model],
             pretrained: dsl.Input[dsl.Model], sft: dsl.Input[dsl.Model], ppo: dsl.Input[dsl.Model],
             reward: dsl.Input[dsl.Model], report: dsl.Output[dsl.Artifact],
             metrics: dsl.Output[dsl.Metrics]) -> bool:
    """Perplexity along the chain, reward-model accuracy, PPO vs SFT reward; True when
    the release gate passes."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import evaluate_stage, setup_logging

    setup_logging()
    passed, r = evaluate_stage(domain_config, dataset.path,
                               {"base": base.path, "pretrain": pretrained.path, "sft": sft.path, "ppo": ppo.path},
                               reward.path, report.path)
    log_metrics(metrics, r)
    return passed
