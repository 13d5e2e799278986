"""Data components: ingest the domain's sources, prepare a versioned dataset."""

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def ingest(domain_config: str, raw: dsl.Output[dsl.Dataset], report: dsl.Output[dsl.Artifact],
           metrics: dsl.Output[dsl.Metrics]):
    """Reads the corpus and the SFT/preference/safety sets named in the domain config."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import ingest_stage, setup_logging

    setup_logging()
    log_metrics(metrics, ingest_stage(domain_config, raw.path, report.path))


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def prepare(domain_config: str, raw: dsl.Input[dsl.Dataset], dataset: dsl.Output[dsl.Dataset],
            report: dsl.Output[dsl.Artifact], metrics: dsl.Output[dsl.Metrics]):
    """Normalises, de-duplicates, de-identifies and splits; writes the data card."""
    from nuri.kfp_outputs import log_metrics
    from nuri.stages import prepare_stage, setup_logging

    setup_logging()
    r = prepare_stage(domain_config, raw.path, dataset.path, report.path)
    dataset.metadata["version"] = r["dataset_version"]
    log_metrics(metrics, r)
