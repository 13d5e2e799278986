"""Stack config: documented in Pulumi.yaml with the program's defaults, validated up front."""
import json

import pulumi
import pytest
import yaml

from infra import config
from nuri_infra_mocks import REPO_ROOT, stack_config

PROJECT = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


def test_project_file_runs_the_infra_program_in_the_venv():
    assert PROJECT["name"] == config.NAMESPACE
    assert PROJECT["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert PROJECT["main"] == "infra/"


def test_every_config_key_is_documented_with_the_programs_default():
    declared = PROJECT["config"]
    fields = {f.alias: f.default for f in config.PlatformConfig.model_fields.values()}
    assert set(declared) == set(fields) | set(config.SECRET_KEYS)
    for key, spec in declared.items():
        assert spec.get("description"), f"{key} has no description"
        assert "default" in spec, f"{key} has no default"
        if key not in config.SECRET_KEYS:
            assert spec["default"] == fields[key], f"{key}: Pulumi.yaml default differs from infra/config.py"
        # Pulumi project config types allow only these (objects are not declarable).
        assert spec["type"] in {"string", "integer", "boolean", "array"}
    assert all("--secret" in declared[key]["description"] for key in config.SECRET_KEYS)


@pytest.mark.parametrize("stack", ["example-existing", "example-eks"])
def test_example_stacks_are_valid_and_cover_both_cluster_modes(stack):
    cfg = config.parse(stack_config(stack))
    assert cfg.cluster_mode == stack.removeprefix("example-")
    assert cfg.agency_list


def test_agency_entry_parses_settings_and_defaults():
    cfg = config.parse({"agencies": ["health gpus=8 memory=512Gi group=oidc:health", "tax"]})
    health, tax = cfg.agency_list
    assert (health.name, health.gpus, health.memory, health.group) == ("health", 8, "512Gi", "oidc:health")
    assert (tax.gpus, tax.cpu, tax.group, tax.namespace, tax.bucket) == (2, "32", "nuri-agency-tax", "agency-tax", "agency-tax")


@pytest.mark.parametrize("raw, message", [
    ({"clusterMode": "gke"}, "nuri:clusterMode:"),
    ({"clusterMode": "eks"}, "nuri:eksRegion: is required"),
    ({"agencies": ["Health"]}, "nuri:agencies: agency name 'Health'"),
    ({"agencies": ["health gpu=4"]}, "nuri:agencies: agency 'health': unknown setting 'gpu=4'"),
    ({"agencies": ["health cpu=lots"]}, "nuri:agencies: 'lots' is not a Kubernetes quantity"),
    ({"agencies": ["tax", "tax"]}, "nuri:agencies: duplicate agency name"),
    ({"agencies": ["  "]}, "nuri:agencies: an agency entry is empty"),
    ({"pipelinesMode": "multi-user"}, "nuri:pipelinesMode: multi-user is not supported: KFP's multi-user mode needs"),
    ({"pipelinesMode": "single"}, "nuri:pipelinesMode: Input should be 'standalone'"),
    ({"pipelinesVersion": "master"}, "nuri:pipelinesVersion: 'master' is not a Kubeflow Pipelines release tag"),
    ({"pipelinesManifests": "https://git.example/kfp?ref=2.5.0"}, "nuri:pipelinesManifests: give the mirror's repository URL only"),
    ({"eksPublicAccessCidrs": ["0.0.0.0/0"]}, "nuri:eksPublicAccessCidrs: must not contain a world-open CIDR"),
    ({"eksPublicAccessCidrs": ["0.0.0.0/00"]}, "nuri:eksPublicAccessCidrs: must not contain a world-open CIDR"),
    ({"apiServerCidrs": ["::/0"]}, "nuri:apiServerCidrs: must not contain a world-open CIDR"),
    ({"apiServerCidrs": ["10.0.0.300/32"]}, "nuri:apiServerCidrs: '10.0.0.300/32' is not a CIDR block"),
    ({"eksVpcCidr": "10.0.0.0/24"}, "nuri:eksVpcCidr: needs at least a /18"),
    ({"minioReplicas": 2}, "nuri:minioReplicas: must be 1"),
    ({"minioStorageSize": "big"}, "nuri:minioStorageSize:"),
    ({"clusterMode": "eks", "eksRegion": "x", "eksGpuMinSize": 5, "eksGpuMaxSize": 2}, "nuri:eksGpuMaxSize: must be >="),
    ({"agencis": []}, "nuri:agencis: unknown config key"),
    ({"clusterMode": "eks", "eksRegion": "x", "eksAvailabilityZones": ["xa"]}, "nuri:eksAvailabilityZones: EKS needs"),
])
def test_invalid_config_fails_with_one_line_naming_the_key(raw, message):
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_load_reads_pulumi_config_including_json_arrays():
    pulumi.runtime.set_all_config({
        "nuri:clusterMode": "existing",
        "nuri:minioReplicas": "4",
        "nuri:minioTls": "true",
        "nuri:agencies": json.dumps(["health gpus=1"]),
    })
    cfg = config.load()
    assert (cfg.minio_replicas, cfg.minio_tls, cfg.agency_list[0].gpus) == (4, True, 1)
