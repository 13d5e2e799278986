"""Helpers shared by the tests (imported by name: `from nuri_testing import ...`)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WELFARE = REPO / "domains" / "welfare.yaml"


# Settings small enough for CI (2 cores) but large enough that learning is measurable.
TINY_OVERRIDES = {
    "base_model": {"source": "init", "init": {"vocab_size": 2000, "hidden_size": 64, "num_layers": 2,
                                              "num_heads": 2, "intermediate_size": 172}},
    "runtime": {"num_workers": 1, "precision": "auto", "max_failures": 1, "checkpoints_to_keep": 1},
    "stages": {
        "pretrain": {"max_steps": 40, "learning_rate": 3.0e-3, "batch_size": 8, "seq_len": 128,
                     "save_steps": 10, "log_steps": 2},
        "sft": {"max_steps": 40, "learning_rate": 2.0e-3, "batch_size": 16, "max_length": 128,
                "save_steps": 20, "log_steps": 2},
        "reward": {"max_steps": 60, "learning_rate": 1.0e-3, "batch_size": 16, "max_length": 128,
                   "save_steps": 30, "log_steps": 2},
        "ppo": {"total_episodes": 32, "batch_size": 8, "mini_batches": 1, "ppo_epochs": 1,
                "learning_rate": 1.0e-4, "response_length": 12},
    },
    "gates": {"pretrain": [{"metric": "eval_loss_drop", "min": 0.05}],
              "sft": [{"metric": "train_loss_drop", "min": 0.05}],
              "ppo": [{"metric": "kl", "max": 50}],
              "reward": [{"metric": "heldout_accuracy", "min": 0.55}],
              "release": [{"metric": "detector_macro_f1", "min": 0.8}]},
    # The public benchmarks are scored in their own tests, not in every tiny run.
    "evaluation": {"max_eval_docs": 8, "behaviour_prompts": 8, "max_new_tokens": 8, "benchmarks": None},
    # A model this small is not expected to behave (nor to tell two questions apart); the
    # self-test still asks over HTTP and judges the answer with the detector.
    # Questions after retrieved passages are SFT rows of ~120 tokens: they made every tiny
    # batch pad to max_length. Their making is tested in test_data_stages.py, their
    # training in the sample run.
    "serving": {"max_new_tokens": 12, "selftest": {"in_domain": ["기초연금은 누가 받을 수 있나요?"], "off_domain": [],
                                                   "harmful": [], "min_hangul": 0, "services_required": []},
                "retrieval": {"sft_fraction": 0}},
}


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def write_domain(tmp_path: Path, overrides: dict | None = None, name: str = "domain.yaml") -> Path:
    """A copy of the welfare domain config (data paths made absolute) with overrides."""
    raw = yaml.safe_load(WELFARE.read_text(encoding="utf-8"))
    for k, v in raw["data"].items():
        if isinstance(v, str):
            raw["data"][k] = str((WELFARE.parent / v).resolve())
    raw["storage"] = {"uri": str(tmp_path / "storage")}
    raw = deep_merge(raw, overrides or {})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class NotAModel:
    """A type outside a model file's trusted list: loading must refuse it, never construct it."""

    built = 0

    def __setstate__(self, state):
        NotAModel.built += 1
        self.__dict__.update(state)
