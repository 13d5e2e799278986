"""Training components. Each runs its stage as a Ray Train job and fails when the stage's
gate fails. `runtime.mode: local`: on the run's local Ray (this machine, or inside the
step's pod). `runtime.mode: cluster`: the step submits a KubeRay RayJob (or a job on a
long-lived RayCluster), streams its logs, waits, and fetches the model; `ray_teardown`
is the pipeline's exit handler that removes the run's Ray resources."""

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


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def ray_teardown(domain_config: str, run_id: str) -> str:
    """Exit handler of a cluster-mode run: deletes the run's RayJobs (or stops its jobs on
    a long-lived RayCluster), whether the run succeeded, failed or was cancelled."""
    import json

    from nuri.cluster.submit import cleanup_run
    from nuri.config import DomainConfig
    from nuri.stages import setup_logging

    setup_logging()
    return json.dumps(cleanup_run(DomainConfig.from_json(domain_config), run_id))
