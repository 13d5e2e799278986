"""The feedback database: PostgreSQL installed by the program (or an existing server),
one role and database per agency, the URL only ever in Secrets, and only the tenants'
labelled clients let through. The last test runs the setup Job's script against a real
local PostgreSQL when one is installed (skipped otherwise)."""
import os
import subprocess
from pathlib import Path

import pulumi
import pytest

from infra import config, feedback_db
from nuri.k8s.policy import check_all, is_protected
from nuri_infra_mocks import MINIMAL, render

NS = feedback_db.NAMESPACE
HOST = "postgres.nuri-feedback.svc.cluster.local"
EXISTING = {**MINIMAL, "feedbackDb": "existing", "feedbackDbHost": "pg.gov.example", "feedbackDbPort": 6432,
            "feedbackDbUser": "nuri_admin", "feedbackDbCidrs": ["10.20.0.15/32"]}
EXISTING_PASSWORD = "existing-admin-password-5c1d"


def _render_existing(raw=EXISTING, password=EXISTING_PASSWORD):
    """render() with the admin password set as a Pulumi secret, as `pulumi config set --secret` would."""
    original = pulumi.runtime.set_all_config

    def with_password(values, secret_keys=None):
        extra = {"nuri:feedbackDbPassword": password} if password else {}
        original({**values, **extra}, [*(secret_keys or []), *extra])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi.runtime, "set_all_config", with_password)
        return render(raw)


@pytest.fixture(scope="module")
def existing():
    return _render_existing()


def _plain_strings(node):
    """Every string outside Pulumi's secret envelopes."""
    if is_protected(node):
        return
    if isinstance(node, dict):
        for value in node.values():
            yield from _plain_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _plain_strings(item)
    elif isinstance(node, str):
        yield node


def _leaks(rendered, secret: str) -> list[str]:
    found = [f"{r.typ} {r.name}" for r in rendered.registered if any(secret in s for s in _plain_strings(r.inputs))]
    return found + [name for name, value in rendered.outputs.items() if secret in str(value)]


def _container(obj: dict) -> tuple[dict, dict]:
    pod = obj["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


# --- install mode ---------------------------------------------------------------------

def test_install_mode_runs_one_postgres_in_a_restricted_namespace(minimal):
    labels = minimal.one("Namespace", NS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    server = minimal.one("StatefulSet", "postgres", NS)
    pod, container = _container(server)
    assert server["spec"]["replicas"] == 1
    assert container["image"] == f"docker.io/library/postgres:{config.PlatformConfig().feedback_db_version}"
    claim = server["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data")
    assert _env(container)["PGDATA"].startswith(mount + "/") and _env(container)["PGDATA"] != mount
    service = minimal.one("Service", "postgres", NS)["spec"]
    assert service["type"] == "ClusterIP" and service["ports"][0]["port"] == 5432
    assert service["selector"] == server["spec"]["template"]["metadata"]["labels"]
    assert minimal.outputs["feedbackDbHost"] == f"{HOST}:5432"


def test_server_and_setup_jobs_pass_restricted_pod_security(minimal):
    workloads = [minimal.one("StatefulSet", "postgres", NS)] + minimal.k8s("Job", NS)
    assert len(workloads) == 3  # the server and one Job per agency
    for obj in workloads:
        pod, container = _container(obj)
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == feedback_db.UID == 999
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"} == pod["securityContext"]["seccompProfile"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert check_all(minimal.manifests()) == []


def test_the_admin_password_is_generated_and_never_plain(minimal):
    generated = {r.name: r.inputs for r in minimal.of_type("random:index/randomPassword:RandomPassword")}
    assert generated["feedback-db-admin"]["length"] >= 32 and generated["feedback-db-admin"]["special"] is False
    admin = minimal.one("Secret", "postgres-admin", NS)
    assert is_protected(admin["stringData"])
    _, container = _container(minimal.one("StatefulSet", "postgres", NS))
    assert _env(container)["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "postgres-admin", "key": "password"}}
    for name in ("feedback-db-admin", "feedback-db-health", "feedback-db-tax"):
        assert _leaks(minimal, f"mock-password-{name}") == [], name


def test_each_agency_gets_the_url_of_its_own_database(minimal):
    for agency in ("health", "tax"):
        secret = minimal.one("Secret", "nuri-feedback-db", f"agency-{agency}")
        assert is_protected(secret["stringData"])
        assert secret["stringData"]["value"] == {"url": f"postgresql+psycopg://feedback_{agency}:"
                                                        f"mock-password-feedback-db-{agency}@{HOST}:5432/feedback_{agency}"}
        job = minimal.one("Job", f"feedback-db-setup-{agency}", NS)
        _, container = _container(job)
        env = _env(container)
        assert env["AGENCY_ROLE"] == f"feedback_{agency}" and env["PGHOST"] == HOST
        assert env["AGENCY_PASSWORD"] == {"secretKeyRef": {"name": f"feedback-db-{agency}", "key": "password"}}
        assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "postgres-admin", "key": "password"}}
        assert is_protected(minimal.one("Secret", f"feedback-db-{agency}", NS)["stringData"])


def test_only_the_tenants_labelled_clients_reach_the_database(minimal):
    client = {"matchLabels": {"nuri.io/feedback-db-client": "true"}}
    spec = minimal.one("NetworkPolicy", "postgres-ingress", NS)["spec"]
    server_labels = minimal.one("StatefulSet", "postgres", NS)["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"] == {"matchLabels": server_labels} and spec["policyTypes"] == ["Ingress"]
    [rule] = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"nuri.io/tenant": "true"}}, "podSelector": client},
        {"podSelector": client},  # the setup Jobs beside it
    ]
    for agency in ("health", "tax"):
        egress = minimal.one("NetworkPolicy", "allow-feedback-db", f"agency-{agency}")["spec"]
        assert egress["podSelector"] == client and egress["policyTypes"] == ["Egress"]
        assert egress["egress"] == [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}},
                                             "podSelector": {"matchLabels": server_labels}}],
                                     "ports": [{"protocol": "TCP", "port": 5432}]}]
    for job in minimal.k8s("Job", NS):
        assert job["spec"]["template"]["metadata"]["labels"]["nuri.io/feedback-db-client"] == "true"


def test_air_gapped_stacks_pull_postgres_from_the_mirror(existing_example):
    _, container = _container(existing_example.one("StatefulSet", "postgres", NS))
    assert container["image"].startswith("registry.gov.example/nuri-mirror/library/postgres:")
    claim = existing_example.one("StatefulSet", "postgres", NS)["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "ceph-block"


def test_the_service_and_the_trigger_use_the_same_names():
    from nuri.config import DeployConfig
    from nuri.k8s.inference_service import LABEL_FEEDBACK_CLIENT

    assert feedback_db.CLIENT_LABEL == LABEL_FEEDBACK_CLIENT
    assert feedback_db.URL_SECRET == DeployConfig().feedback_db_secret


# --- existing server ------------------------------------------------------------------

def test_existing_server_mode_installs_no_server(existing):
    assert not existing.k8s("StatefulSet") and not existing.k8s("Service", NS)
    assert not [p for p in existing.k8s("NetworkPolicy", NS)]
    assert "feedback-db-admin" not in {r.name for r in existing.of_type("random:index/randomPassword:RandomPassword")}
    secret = existing.one("Secret", "nuri-feedback-db", "agency-health")
    assert secret["stringData"]["value"]["url"] == \
        "postgresql+psycopg://feedback_health:mock-password-feedback-db-health@pg.gov.example:6432/feedback_health"
    env = _env(_container(existing.one("Job", "feedback-db-setup-tax", NS))[1])
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("pg.gov.example", "6432", "nuri_admin")
    egress = existing.one("NetworkPolicy", "allow-feedback-db", "agency-tax")["spec"]["egress"]
    assert egress == [{"to": [{"ipBlock": {"cidr": "10.20.0.15/32"}}], "ports": [{"protocol": "TCP", "port": 6432}]}]
    assert check_all(existing.manifests()) == []


def test_existing_server_password_comes_from_a_pulumi_secret_and_stays_one(existing):
    admin = existing.one("Secret", "postgres-admin", NS)
    assert is_protected(admin["stringData"]) and admin["stringData"]["value"] == {"password": EXISTING_PASSWORD}
    assert _leaks(existing, EXISTING_PASSWORD) == []
    assert "feedbackDbPassword" not in config.PlatformConfig.model_fields  # never a plain config field
    assert "feedbackDbPassword" in config.SECRET_KEYS


@pytest.mark.parametrize("raw, message", [
    ({"feedbackDb": "existing", "feedbackDbCidrs": ["10.0.0.1/32"]}, "nuri:feedbackDbHost: is required"),
    ({"feedbackDb": "existing", "feedbackDbHost": "pg"}, "nuri:feedbackDbCidrs: is required"),
    ({"feedbackDb": "existing", "feedbackDbHost": "pg", "feedbackDbCidrs": ["0.0.0.0/0"]},
     "nuri:feedbackDbCidrs: must not contain a world-open CIDR"),
    ({"feedbackDb": "external"}, "nuri:feedbackDb:"),
    ({"feedbackDbStorageSize": "lots"}, "nuri:feedbackDbStorageSize:"),
])
def test_bad_feedback_db_config_is_one_line_naming_the_key(raw, message):
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_existing_server_without_its_password_is_a_config_error():
    with pytest.raises(config.ConfigError, match=r"^nuri:feedbackDbPassword: is required when feedbackDb is existing"):
        _render_existing(password=None)


# --- the setup Job's script on a real PostgreSQL ----------------------------------------

def _run_setup_job(job: dict, host: str, port: int, secrets: dict[str, str]) -> subprocess.CompletedProcess:
    """The rendered Job's container, run here: its command, its env, secret references resolved."""
    _, container = _container(job)
    env = {"PATH": os.environ["PATH"]}
    for item in container["env"]:
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        env[item["name"]] = secrets[ref["name"]] if ref else item["value"]
    env.update(PGHOST=host, PGPORT=str(port))
    return subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=60)


def test_setup_jobs_make_one_private_database_per_agency(minimal, local_postgres):
    import psycopg

    from nuri.feedback.store import FeedbackStore

    host, port, admin = local_postgres
    secrets = {"postgres-admin": admin, "feedback-db-health": "health-pw-1", "feedback-db-tax": "tax-pw-1"}
    for agency in ("health", "tax", "health"):  # a second run (a later `pulumi up`) changes nothing
        result = _run_setup_job(minimal.one("Job", f"feedback-db-setup-{agency}", NS), host, port, secrets)
        assert result.returncode == 0, result.stderr
    # The agency's URL (as in its secret, pointed at this server) holds its ratings, migrations and all.
    store = FeedbackStore(f"postgresql+psycopg://feedback_health:health-pw-1@{host}:{port}/feedback_health")
    store.log_completion("c-1", release="welfare-v0001", service="welfare",
                         messages=[{"role": "user", "content": "기초연금은?"}], answer="...", outcome="answer")
    assert store.add_rating("c-1", "good").created and store.count() == 1
    store.close()
    # Another agency's role cannot even connect to it.
    with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
        psycopg.connect(host=host, port=port, user="feedback_tax", password="tax-pw-1", dbname="feedback_health")
    psycopg.connect(host=host, port=port, user="feedback_tax", password="tax-pw-1", dbname="feedback_tax").close()
