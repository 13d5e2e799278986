"""Release components: publish a versioned release with lineage, self-test it over HTTP
and promote it, then (cluster mode) serve it with KServe."""

from typing import Optional

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def register(domain_config: str, model: dsl.Input[dsl.Model], dataset: dsl.Input[dsl.Dataset],
             prepare_report: dsl.Input[dsl.Artifact], base_report: dsl.Input[dsl.Artifact],
             evaluate_report: dsl.Input[dsl.Artifact], safety: dsl.Input[dsl.Model],
             safety_report: dsl.Input[dsl.Artifact], service: dsl.Input[dsl.Model],
             service_report: dsl.Input[dsl.Artifact], release: dsl.Output[dsl.Artifact],
             report: dsl.Output[dsl.Artifact], pretrain_report: Optional[dsl.Input[dsl.Artifact]] = None,
             sft_report: Optional[dsl.Input[dsl.Artifact]] = None,
             reward_report: Optional[dsl.Input[dsl.Artifact]] = None,
             ppo_report: Optional[dsl.Input[dsl.Artifact]] = None):
    """Publishes the next version of the domain's release, with its safety classifier and
    the domain service's retrieval passages and guard. model: the last model the domain's
    training method makes (the training stages it does not run have no report)."""
    from nuri.stages import register_stage, setup_logging

    def path(artifact):
        return artifact.path if artifact is not None else None

    setup_logging()
    r = register_stage(domain_config, model.path, {
        "dataset": dataset.path, "prepare": prepare_report.path, "base_model": base_report.path,
        "pretrain": path(pretrain_report), "sft": path(sft_report), "reward": path(reward_report),
        "ppo": path(ppo_report), "safety": safety_report.path, "service": service_report.path,
        "evaluate": evaluate_report.path}, release.path, report.path, safety.path, service.path)
    release.metadata["release"] = r["release"]
    release.metadata["uri"] = r["release_uri"]


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def selftest(domain_config: str, release: dsl.Input[dsl.Artifact], dataset: dsl.Input[dsl.Dataset],
             report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Serves the release on loopback, asks in-domain, off-domain and harmful questions,
    checks the answers, promotes."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import selftest_stage, setup_logging

    setup_logging()
    log_metrics(metrics, selftest_stage(domain_config, release.path, report.path, dataset.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def deploy(domain_config: str, release: dsl.Input[dsl.Artifact], selftest_report: dsl.Input[dsl.Artifact],
           report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Serves the promoted release with KServe (cluster mode), waits until it is ready,
    asks it one question through the OpenAI route and records the endpoint.
    selftest_report: only orders the step after the self-test that promoted the release."""
    from nuri.cluster.deploy import deploy_stage
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import setup_logging

    setup_logging()
    log_metrics(metrics, deploy_stage(domain_config, release.path, report.path))
