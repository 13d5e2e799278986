"""KFP v2 components of the reference pipeline. Each is a thin wrapper: it imports the
`nuri` package inside the container (or the local subprocess) and calls one function of
`nuri.stages`. Inputs and outputs are KFP artifacts, so every hand-off is versioned by
KFP (local folders on the embedded default, MinIO in the cluster)."""

from components.data import ingest, prepare
from components.evaluation import evaluate, safety_classifier
from components.release import deploy, register, selftest
from components.serving import service_assets
from components.training import base_model, ppo, pretrain, reward_model, sft

ALL = [ingest, prepare, base_model, pretrain, sft, reward_model, ppo, safety_classifier, service_assets, evaluate,
       register, selftest, deploy]
TRAINING = [pretrain, sft, reward_model, ppo]

__all__ = ["ALL", "TRAINING", "base_model", "deploy", "evaluate", "ingest", "ppo", "prepare", "pretrain",
           "register", "reward_model", "safety_classifier", "selftest", "service_assets", "sft"]
