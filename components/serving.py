"""The domain service's assets: retrieval passages and the guard, built from the
prepared dataset and the safety classifier, shipped in the release beside the model."""

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def service_assets(domain_config: str, dataset: dsl.Input[dsl.Dataset], safety: dsl.Input[dsl.Model],
                   assets: dsl.Output[dsl.Model], report: dsl.Output[dsl.Artifact],
                   metrics: dsl.Output[dsl.Metrics]):
    """Retrieval index and in-domain/off-domain classifier; hit@k and the guard's held-out rates."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import service_assets_stage, setup_logging

    setup_logging()
    log_metrics(metrics, service_assets_stage(domain_config, dataset.path, safety.path, assets.path, report.path))
