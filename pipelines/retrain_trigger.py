"""The retrain trigger pipeline: one task that decides from the ratings whether the domain
retrains, and if so submits the reference pipeline's run (nuri.feedback.retrain). A KFP
recurring run starts it on `feedback.retrain.schedule` (nuri/cluster/retrain_schedule.py).

The task reads the agency's feedback database (URL from `deploy.feedback_db_secret`) and
the object store, both as env from secrets by reference, and carries the label the
feedback database's NetworkPolicy admits."""

# No `from __future__ import annotations`: KFP reads the pipeline's annotations at runtime.
from kfp import dsl, kubernetes

from components.feedback import feedback_trigger
from nuri.config import DomainConfig
from nuri.k8s.inference_service import LABEL_FEEDBACK_CLIENT
from pipelines.reference import object_store_access, task_resources

PIPELINE_NAME = "nuri-retrain-trigger"


def build_trigger_pipeline(config: DomainConfig):
    """Returns the pipeline function with this domain's cluster settings on its task."""
    cluster, secret = config.pipeline_cluster(), config.deploy.feedback_db_secret
    feedback_trigger.component_spec.implementation.container.image = cluster.image

    @dsl.pipeline(name=PIPELINE_NAME, description="Nuri retrain trigger: retrains the domain when its ratings "
                                                  "cross their thresholds or the schedule is due.")
    def retrain_trigger(domain_config: str, force: bool = True):
        # Each scheduled run has its own id: the KFP run's, known only when it starts.
        # force: the retrain schedule's runs retrain; the threshold check's (force=False)
        # only when a rate is crossed.
        task = feedback_trigger(domain_config=domain_config, run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, force=force)
        task.set_display_name("feedback-trigger").set_caching_options(False)  # every run must look afresh
        object_store_access(task, cluster)
        task_resources(task, cluster)
        if secret:
            kubernetes.use_secret_as_env(task, secret_name=secret,
                                         secret_key_to_env={"url": config.feedback.database_url_env},
                                         optional=None)  # KFP 2.5.0 drops the pod label below on `optional`
            kubernetes.add_pod_label(task, label_key=LABEL_FEEDBACK_CLIENT, label_value="true")

    return retrain_trigger
