"""The domain config is validated before any work starts, and every error names the
file, line and field."""

import pytest

from nuri_testing import WELFARE, write_domain
from nuri.config import load_domain_config
from nuri.errors import ConfigError


def test_sample_domain_loads_with_absolute_data_paths():
    config = load_domain_config(WELFARE)
    assert config.name == "welfare"
    assert config.data.corpus.endswith("domains/welfare/data/corpus")
    assert config.gates.criteria("reward")[0].metric == "heldout_accuracy"


def test_round_trips_through_json():
    config = load_domain_config(WELFARE)
    assert type(config).from_json(config.to_json()) == config


@pytest.mark.parametrize("override, field, problem", [
    ({"stages": {"sft": {"lr_rate": 1}}}, "stages.sft.lr_rate", "unknown field"),
    ({"stages": {"sft": {"epochs": "three"}}}, "stages.sft.epochs", "valid number"),
    ({"runtime": {"precision": "fp8"}}, "runtime.precision", "'fp8'"),
    ({"name": "Welfare Ministry"}, "name", "lowercase"),
    ({"gates": {"reward": [{"metric": "accuracy", "min": 0.5}]}}, "gates", "unknown metric 'accuracy'"),
    ({"gates": {"reward": [{"metric": "heldout_accuracy"}]}}, "gates.reward.0", "needs min or max"),
    ({"base_model": {"source": "pretrained"}}, "base_model", "path is required"),
    ({"stages": {"ppo": {"batch_size": 10, "mini_batches": 3}}}, "stages.ppo", "multiple of mini_batches"),
    ({"stages": {"ppo": {"batch_size": 8, "mini_batches": 2, "whiten_rewards": True}}}, "stages.ppo",
     "whiten_rewards needs at least 8 rollouts per mini-batch"),
    ({"serving": {"services": {"code": {"template": "코드를 써 주세요", "selftest": "x"}}}},
     "serving.services.code.template", "must hold {input}"),
    ({"serving": {"selftest": {"services_required": ["translation"]}}}, "serving",
     "services_required names translation"),
    ({"serving": {"engine": {"max_batch": 0}}}, "serving.engine.max_batch", "greater than or equal to 1"),
])
def test_invalid_config_names_file_line_and_field(tmp_path, override, field, problem):
    path = write_domain(tmp_path, override)
    with pytest.raises(ConfigError) as e:
        load_domain_config(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:"), msg
    assert f": {field}" in msg and problem in msg, msg
    assert "\n" not in msg
    line = int(msg.split(":")[1])
    last = field.split(".")[-1]
    held = path.read_text().splitlines()[line - 1]
    assert (last in held) if not last.isdigit() else held.lstrip().startswith("-")  # the field's line


def test_missing_required_section(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("name: x1\ndisplay_name: X\norganisation: O\ndata_grade: public\nserving: {selftest: {in_domain: [q]}}\n")
    with pytest.raises(ConfigError, match=r"d.yaml: data: required field is missing"):
        load_domain_config(path)


def test_yaml_syntax_error_has_line(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("name: x\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match=r"d.yaml:\d+: invalid YAML"):
        load_domain_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_domain_config("no/such/domain.yaml")
