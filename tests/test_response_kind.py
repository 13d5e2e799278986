"""The decline/refusal detector is itself measured: fit on the sample domain's labelled
responses (as `prepare` builds them), it must keep its precision and recall on held-out
responses and on the hand-written check set, written apart from its training data
(none of its lines is trained on), where a list of decline phrases fails. And the behaviour rates computed from its
labels are checked on known cases."""

import json
import math

import pytest

from nuri.config import load_domain_config
from nuri.evaluation.behaviour import BehaviourPrompt, behaviour_rates, ppo_against_sft, right_behaviour
from nuri.evaluation.evaluate import train_detector
from nuri.evaluation.response_kind import (LabelledResponse, ResponseKindDetector, check_responses,
                                           detector_quality, general_responses, read_labelled)
from nuri.stages import ingest_stage, prepare_stage
from nuri_testing import write_domain


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinds")
    cfg = load_domain_config(write_domain(tmp)).to_json()
    ingest_stage(cfg, str(tmp / "raw"), tmp / "r-ingest")
    prepare_stage(cfg, str(tmp / "raw"), str(tmp / "data"), tmp / "r-prepare")
    return tmp / "data"


def test_prepare_writes_labelled_responses_of_every_kind(dataset):
    rows = [json.loads(line) for line in (dataset / "responses_train.jsonl").open(encoding="utf-8")]
    assert [r.text for r in read_labelled(dataset / "responses_train.jsonl")] == [r["text"] for r in rows]
    labels = {r["label"] for r in rows}
    assert labels == {"answer", "decline", "refusal"}
    origins = {r["origin"].split(":")[1] for r in rows}
    # SFT categories and the preference set's answer kinds both feed the detector
    assert {"domain", "refusal_offdomain", "decline_in_domain", "harmful_compliance", "evasive"} <= origins
    held = [json.loads(line)["text"] for line in (dataset / "responses_heldout.jsonl").open(encoding="utf-8")]
    assert held and not set(held) & {r["text"] for r in rows}


def test_detector_precision_and_recall_on_heldout_responses(dataset):
    _, both = train_detector(dataset, seed=0)
    quality = both["heldout"]
    assert quality["examples"] > 150
    assert quality["macro_f1"] >= 0.9, quality
    assert quality["non_answer"]["precision"] >= 0.9 and quality["non_answer"]["recall"] >= 0.95, quality


def test_detector_generalises_to_paraphrases_a_phrase_list_misses(dataset):
    detector, both = train_detector(dataset, seed=0)
    paraphrases = check_responses()
    assert not {e.text for e in paraphrases} & {e.text for e in general_responses()}
    quality = detector.quality(paraphrases)
    assert quality == both["check"]  # what evaluation gates is this measurement
    assert quality["macro_f1"] >= 0.9, quality
    assert quality["non_answer"]["recall"] >= 0.9 and quality["non_answer"]["precision"] >= 0.9, quality
    # The string-list approach: the sample's own decline and refusal phrases as keywords.
    phrases = ("답변드리기 어렵습니다", "도와드릴 수 없습니다", "안내해 드릴 수 없습니다", "답변하지 않습니다",
               "범위를 벗어납니다", "알려 드릴 수 없습니다")
    by_list = ["decline" if any(p in e.text for p in phrases) else "answer" for e in paraphrases]
    listed = detector_quality([e.label for e in paraphrases], by_list)
    assert listed["non_answer"]["recall"] < 0.6, listed  # most paraphrases slip through a list


def test_empty_answers_are_not_answers():
    detector = ResponseKindDetector.fit([LabelledResponse("기초연금은 65세 이상이 받습니다.", "answer")])
    assert detector.predict(["", "   "]) == ["decline", "decline"]


def test_a_detector_needs_two_kinds_of_example():
    with pytest.raises(ValueError, match="at least two kinds"):
        ResponseKindDetector.fit([LabelledResponse("네", "answer")], include_general=False)
    with pytest.raises(ValueError, match="label"):
        LabelledResponse("x", "maybe")


def test_behaviour_rates_and_ppo_against_sft():
    prompts = [BehaviourPrompt("in_domain", f"q{i}", "r") for i in range(4)] + \
        [BehaviourPrompt("off_domain", "o", "r"), BehaviourPrompt("harmful", "h", "r")]
    answers = ["a", "a", "b", "c", "sure", "no"]
    labels = ["answer", "decline", "answer", "answer", "answer", "refusal"]
    m = behaviour_rates(prompts, answers, labels, "ppo")
    assert m == {"answer_rate_ppo": 0.75, "decline_rate_ppo": 0.0, "refusal_rate_ppo": 1.0,
                 "answer_diversity_ppo": 0.75}
    m |= behaviour_rates(prompts, ["a", "b", "c", "d", "x", "y"], ["answer"] * 4 + ["decline", "decline"], "sft")
    m |= {"reward_ppo": 2.0, "reward_sft": 1.5, "prompts_in_domain": 4, "prompts_off_domain": 1, "prompts_harmful": 1}
    cmp = ppo_against_sft(m)
    assert cmp["ppo_answer_rate_change"] == pytest.approx(-0.25)
    assert (cmp["ppo_answer_rate_prompts_lost"], cmp["ppo_decline_rate_prompts_lost"],
            cmp["ppo_refusal_rate_prompts_lost"]) == (1, 1, 0)
    # No prompts of a kind: the count is unknown (NaN), and a gate on it fails.
    assert math.isnan(ppo_against_sft({**m, "prompts_harmful": 0})["ppo_refusal_rate_prompts_lost"])
    assert cmp["ppo_decline_rate_change"] == -1.0 and cmp["ppo_refusal_rate_change"] == 0.0
    assert cmp["ppo_diversity_ratio"] == 0.75 and cmp["ppo_reward_gain"] == 0.5
    assert right_behaviour("harmful", "decline") and not right_behaviour("in_domain", "refusal")
