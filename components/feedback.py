"""Feedback component: the retrain trigger a KFP recurring run starts on the schedule."""

from kfp import dsl

from components.image import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def feedback_trigger(domain_config: str, run_id: str, force: bool) -> str:
    """Checks the ratings against their thresholds (force: retrain whatever the rates, as
    the retrain schedule does), exports the feedback dataset and submits the reference
    pipeline's retraining run."""
    import json

    from nuri.config import DomainConfig
    from nuri.feedback.retrain import trigger_in_cluster
    from nuri.stages import setup_logging

    setup_logging()
    return json.dumps(trigger_in_cluster(DomainConfig.from_json(domain_config), run_id=run_id,
                                         force=force).summary(),
                      ensure_ascii=False)
