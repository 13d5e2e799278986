"""The training method per domain (foundation, sft, full): the stages it runs, the
models evaluation judges, what the config refuses at load, and the tasks the compiled
pipeline holds. The runs themselves: tests/test_pipeline_local.py."""

import pytest
import yaml
from kfp import compiler

from nuri.config import load_domain_config
from nuri.errors import ConfigError
from nuri.summary import behaviour_rows, render_behaviour, trust_lines
from nuri.training_method import model_chain, policies, released_model, trained_stages, unmeasured_reason
from nuri_testing import TINY_OVERRIDES, deep_merge, write_domain

NO_STAGE_GATES = {"pretrain": [], "sft": [], "reward": [], "ppo": []}


def _domain(tmp_path, training, gates=None, base=None):
    over = deep_merge(TINY_OVERRIDES, {"training": training, "gates": {**NO_STAGE_GATES, **(gates or {})},
                                       "feedback": {"retrain": {"gates": {"pretrain": [], "sft": []}}}})
    if base:
        over["base_model"] = base
    tmp_path.mkdir(parents=True, exist_ok=True)
    return write_domain(tmp_path, over)


def test_each_method_runs_its_stages_and_releases_its_last_model():
    assert trained_stages("full", True) == ("pretrain", "sft", "reward", "ppo")
    assert trained_stages("full", False) == ("sft", "reward", "ppo")
    assert trained_stages("sft", True) == ("pretrain", "sft")
    assert trained_stages("sft", False) == ("sft",)
    assert trained_stages("foundation", False) == ()
    assert [released_model(trained_stages(m, True)) for m in ("full", "sft", "foundation")] == ["ppo", "sft", "base"]
    assert policies(("pretrain", "sft")) == ("sft",) and model_chain(("pretrain", "sft")) == ("base", "pretrain", "sft")


def test_a_metric_the_method_does_not_measure_is_named_with_the_reason():
    sft_only = ("pretrain", "sft")
    assert unmeasured_reason("answer_rate_sft", sft_only) is None
    assert unmeasured_reason("perplexity_pretrain", sft_only) is None
    assert "no PPO model" in unmeasured_reason("ppo_reward_gain", sft_only)
    assert "no reward model" in unmeasured_reason("reward_sft", sft_only)
    assert "not the ppo model's" in unmeasured_reason("answer_rate_ppo", sft_only)
    assert "no pretrain model" in unmeasured_reason("perplexity_pretrain", ("sft",))
    assert "not the sft model's" in unmeasured_reason("hallucination_rate_sft", ())
    assert unmeasured_reason("answer_rate_base", ()) is None and unmeasured_reason("canaries_regurgitated", ()) is None
    # Harmful answers are counted on the model that would be released, not along the chain.
    assert unmeasured_reason("harmful_answer_rate_sft", sft_only) is None
    assert "released model (ppo) only" in unmeasured_reason("harmful_answer_rate_sft", ("pretrain", "sft", "reward", "ppo"))


def test_sft_from_scratch_pretrains_first_and_from_a_pretrained_model_does_not(tmp_path):
    config = load_domain_config(_domain(tmp_path, {"method": "sft"},
                                        {"release": [{"metric": "answer_rate_sft", "min": 0.5}]}))
    assert config.trained_stages() == ("pretrain", "sft")
    pretrained = {"source": "pretrained", "path": str(tmp_path / "foundation")}
    config = load_domain_config(_domain(tmp_path / "p", {"method": "sft"}, base=pretrained))
    assert config.trained_stages() == ("sft",)
    assert load_domain_config(_domain(tmp_path / "f", {"method": "foundation"}, base=pretrained)).trained_stages() == ()


@pytest.mark.parametrize("training, gates, base, message", [
    ({"method": "foundation"}, {}, None, "training.method: foundation serves the base model as it is, but "
                                         "base_model.source is init"),
    ({"method": "foundation", "continued_pretraining": True}, {}, {"source": "pretrained", "path": "/m"},
     "training.continued_pretraining: foundation trains nothing"),
    ({"method": "sft"}, {"ppo": [{"metric": "kl", "max": 20}]}, None,
     "gates.ppo: training.method sft runs no ppo stage (it runs pretrain, sft)"),
    ({"method": "sft"}, {"release": [{"metric": "answer_rate_ppo", "min": 0.9}]}, None,
     "gates.release[0].metric: answer_rate_ppo is not measured with training.method sft (evaluation judges "
     "the sft model's answers, not the ppo model's)"),
    ({"method": "full", "continued_pretraining": False}, {"release": [{"metric": "perplexity_pretrain", "max": 9}]},
     None, "gates.release[0].metric: perplexity_pretrain is not measured with training.method full (no pretrain "
           "model is trained)"),
])
def test_the_config_refuses_what_the_method_cannot_do_in_one_line(tmp_path, training, gates, base, message):
    with pytest.raises(ConfigError) as e:
        load_domain_config(_domain(tmp_path, training, gates, base))
    assert message in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith(f"{tmp_path / 'domain.yaml'}:")


def test_a_retrain_gate_for_a_stage_the_method_skips_is_refused(tmp_path):
    path = _domain(tmp_path, {"method": "sft"})
    raw = yaml.safe_load(path.read_text())
    raw["feedback"] = {"retrain": {"gates": {"reward": [{"metric": "heldout_accuracy", "min": 0.6}]}}}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(ConfigError, match=r"domain.yaml:\d+: feedback.retrain.gates.reward: training.method sft runs no reward stage"):
        load_domain_config(path)


def test_a_run_whose_config_names_another_method_than_the_compiled_pipeline_is_refused(tmp_path):
    # The pipeline's shape is fixed at compile time, the config is a run parameter: an sft
    # pipeline run with a full config would judge and release a model it does not say.
    from nuri.stages import evaluate_stage, register_stage

    full = load_domain_config(_domain(tmp_path, {"method": "full"}))
    models = {"base": str(tmp_path), "pretrain": str(tmp_path), "sft": str(tmp_path)}
    with pytest.raises(ValueError, match=r"evaluate: the pipeline was compiled for another training method than "
                                         r"the config's training.method full \(missing ppo, reward\)"):
        evaluate_stage(full.to_json(), str(tmp_path), models, None, str(tmp_path / "report"))
    sft = load_domain_config(_domain(tmp_path / "s", {"method": "sft"}))
    reports = {"dataset": str(tmp_path), "pretrain": str(tmp_path), "sft": str(tmp_path), "ppo": str(tmp_path)}
    with pytest.raises(ValueError, match=r"register: .*\(not made by this method: ppo\)"):
        register_stage(sft.to_json(), str(tmp_path), reports, str(tmp_path / "r"), str(tmp_path / "register"))
    assert not (tmp_path / "r").exists()


def test_a_foundation_domain_cannot_schedule_retraining(tmp_path):
    from nuri.cluster.retrain_schedule import schedule_retrain, schedule_threshold_check

    pretrained = {"source": "pretrained", "path": str(tmp_path / "foundation")}
    config = load_domain_config(_domain(tmp_path, {"method": "foundation"}, base=pretrained))
    for schedule in (schedule_retrain, schedule_threshold_check):
        # Refused before the KFP API is reached (the host does not exist).
        with pytest.raises(ConfigError, match="training.method foundation serves the base model as it is"):
            schedule(config, "http://127.0.0.1:9")


def _tasks(tmp_path, config):
    from pipelines.reference import build_pipeline_for

    out = tmp_path / "p.yaml"
    compiler.Compiler().compile(build_pipeline_for(config), str(out))
    spec = next(yaml.safe_load_all(out.read_text()))  # the pipeline spec; the platform spec follows
    gated = spec["components"]["comp-condition-1"]["dag"]["tasks"]
    return spec, set(spec["root"]["dag"]["tasks"]), gated


def test_the_pipeline_compiles_only_the_stages_of_the_method(tmp_path):
    pretrained = {"source": "pretrained", "path": str(tmp_path / "foundation")}
    common = {"ingest", "prepare", "base-model", "safety-classifier", "service-assets", "evaluate", "condition-1"}
    spec, root, gated = _tasks(tmp_path, load_domain_config(_domain(tmp_path / "s", {"method": "sft"})))
    assert root == common | {"pretrain", "sft"}
    evaluate = spec["root"]["dag"]["tasks"]["evaluate"]["inputs"]["artifacts"]
    assert set(evaluate) == {"dataset", "base", "safety", "pretrained", "sft"}
    # Inside the release gate the model arrives as the condition's input, named after its producer.
    assert gated["register"]["inputs"]["artifacts"]["model"] == {"componentInputArtifact": "pipelinechannel--sft-model"}
    assert "ppo_report" not in gated["register"]["inputs"]["artifacts"]

    spec, root, gated = _tasks(tmp_path, load_domain_config(_domain(tmp_path / "f", {"method": "foundation"},
                                                                    base=pretrained)))
    assert root == common
    assert gated["register"]["inputs"]["artifacts"]["model"] == {
        "componentInputArtifact": "pipelinechannel--base-model-model"}
    # The optional inputs a method leaves out are optional in the IR, so KFP accepts the run.
    inputs = spec["components"]["comp-evaluate"]["inputDefinitions"]["artifacts"]
    assert all(inputs[k].get("isOptional") for k in ("pretrained", "sft", "ppo", "reward"))
    assert not inputs["base"].get("isOptional")


def test_the_summary_shows_a_column_per_judged_model():
    sft_only = {"answer_rate_sft": 1.0, "decline_rate_sft": 0.9, "refusal_rate_sft": 1.0, "answer_diversity_sft": 0.8,
                "prompts_in_domain": 40, "facts_supported_sft": 0.5, "facts_contradicted_sft": 0.2,
                "facts_unsupported_sft": 0.1, "facts_absent_sft": 0.2, "hallucination_rate_sft": 0.3,
                "fact_questions": 30}
    rows = behaviour_rows(sft_only)
    assert rows[0] == ("in-domain questions answered", "40", "1") and len(rows) == 4  # no reward row
    text = render_behaviour({"metrics": sft_only, "samples": [{"kind": "in_domain", "prompt": "q", "sft": "a",
                                                               "sft_label": "answer"}]})
    assert "SFT" in text.splitlines()[0] and "PPO" not in text and "    sft [answer] a" in text
    assert trust_lines(sft_only)[0].rstrip().endswith("SFT")
