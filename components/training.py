"""Training components. Each runs its stage as a Ray Train job (the local Ray of the
run, or the cluster's) and fails when the stage's gate fails."""

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def base_model(domain_config: str, dataset: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model],
               report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Loads the configured foundation model, or builds the sample's small one."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import base_model_stage, setup_logging

    setup_logging()
    log_metrics(metrics, base_model_stage(domain_config, dataset.path, model.path, report.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def pretrain(domain_config: str, run_id: str, dataset: dsl.Input[dsl.Dataset], base: dsl.Input[dsl.Model],
             model: dsl.Output[dsl.Model], report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Domain-adaptive continued pretraining."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import setup_logging, training_stage

    setup_logging()
    log_metrics(metrics, training_stage("pretrain", domain_config, run_id, {"model_dir": base.path},
                                        dataset.path, model.path, report.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def sft(domain_config: str, run_id: str, dataset: dsl.Input[dsl.Dataset], base: dsl.Input[dsl.Model],
        model: dsl.Output[dsl.Model], report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Supervised fine-tuning on prompt/answer pairs."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import setup_logging, training_stage

    setup_logging()
    log_metrics(metrics, training_stage("sft", domain_config, run_id, {"model_dir": base.path},
                                        dataset.path, model.path, report.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def reward_model(domain_config: str, run_id: str, dataset: dsl.Input[dsl.Dataset], base: dsl.Input[dsl.Model],
                 model: dsl.Output[dsl.Model], report: dsl.Output[dsl.Artifact],
                 metrics: dsl.Output[dsl.Metrics]):
    """Reward model from the SFT model, on chosen/rejected pairs."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import setup_logging, training_stage

    setup_logging()
    log_metrics(metrics, training_stage("reward", domain_config, run_id, {"model_dir": base.path},
                                        dataset.path, model.path, report.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def ppo(domain_config: str, run_id: str, dataset: dsl.Input[dsl.Dataset], policy: dsl.Input[dsl.Model],
        reward: dsl.Input[dsl.Model], model: dsl.Output[dsl.Model], report: dsl.Output[dsl.Artifact],
        metrics: dsl.Output[dsl.Metrics]):
    """PPO of the SFT policy against the reward model, KL-regularised to SFT."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import setup_logging, training_stage

    setup_logging()
    log_metrics(metrics, training_stage("ppo", domain_config, run_id,
                                        {"policy_dir": policy.path, "reward_dir": reward.path},
                                        dataset.path, model.path, report.path))
