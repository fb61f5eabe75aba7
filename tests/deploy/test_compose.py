"""docker-compose.yml, checked the way CI can without a Docker engine: Debian's
`docker-compose config` resolves and validates it, and what it resolves to is what a team needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from runtime.cli import app
from switchboard.settings import DashboardSettings, IngressSettings, WorkerSettings

ROOT = Path(__file__).parents[2]
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret-1",
    "SWITCHBOARD_DB_PASSWORD": "pg-secret-app",
    "TEMPORAL_DB_PASSWORD": "pg-secret-temporal",
    "SWITCHBOARD_PUBLIC_URL": "https://hooks.example.org",
    "SWITCHBOARD_TWILIO_AUTH_TOKEN": "token-2",
    "SWITCHBOARD_API_KEYS": "key-3",
    "SWITCHBOARD_OIDC_ISSUER": "https://idp.example.org/realms/support",
    "SWITCHBOARD_OIDC_AUDIENCE": "switchboard-api",
    "DASHBOARDS_OIDC_CLIENT_ID": "dashboards",
    "DASHBOARDS_OIDC_CLIENT_SECRET": "dash-secret-4",
    "DASHBOARDS_COOKIE_SECRET": "cookie-secret-5",
    "TEMPORAL_UI_OIDC_CLIENT_ID": "temporal-ui",
    "TEMPORAL_UI_OIDC_CLIENT_SECRET": "tui-secret-6",
    "SWITCHBOARD_PAYLOAD_KEYS": "k1:" + "A" * 43 + "=",
}
LONG_RUNNING = ("postgresql", "temporal", "worker", "analytics", "ingress", "dashboards")


def compose_config(env: dict[str, str], env_file: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: `make test` installs it with apt")
    # Only PATH from the outside: a developer's variables (or the .env that `make run` writes)
    # must not fill the file's gaps.
    return subprocess.run(
        [
            binary,
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(env_file),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "config",
        ],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def no_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def config(no_env_file: Path) -> dict[str, Any]:
    result = compose_config(SECRETS, no_env_file)
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    return resolved


def test_the_deployment_has_every_part_with_two_replicas_of_ours(config: dict[str, Any]) -> None:
    services = config["services"]
    assert {
        "postgresql",
        "temporal",
        "temporal-ui",
        "ingress",
        "worker",
        "analytics",
        "proxy",
        "dashboards",
    } <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    for name in ("ingress", "worker"):
        assert services[name]["deploy"]["replicas"] == 2
        assert services[name]["environment"]["SWITCHBOARD_DATABASE_URL"] == (
            "postgresql+psycopg://switchboard:pg-secret-app@postgresql:5432/switchboard"
        )
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert set(config["volumes"]) == {
        "postgresql-data",
        "switchboard-data",
        "switchboard-exports",
        "caddy-data",
        "prometheus-data",
        "temporal-tls-ca",
        "temporal-tls-server",
        "temporal-tls-client",
        "temporal-tls-ui",
    }
    # Named volumes, not host paths: the data outlives the containers.
    assert services["postgresql"]["volumes"][0].startswith("postgresql-data:")
    assert services["ingress"]["volumes"][0].startswith("switchboard-data:/data")
    assert services["worker"]["volumes"][0].startswith("switchboard-data:/data")
    # The export writes where the dashboards read.
    assert services["analytics"]["volumes"][0].startswith("switchboard-data:/data")
    assert "switchboard-exports:/data/exports:rw" in services["analytics"]["volumes"]
    assert services["worker"]["command"] == ["worker", "--role", "intake"]
    assert services["analytics"]["command"] == ["worker", "--role", "analytics"]
    assert services["dashboards"]["volumes"][0] == "switchboard-exports:/data/exports:ro"


def test_nothing_is_published_but_the_proxy_and_only_on_loopback_by_default(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["127.0.0.1:443:443/tcp", "127.0.0.1:80:80/tcp"]


def test_each_service_gets_only_the_secrets_it_uses(config: dict[str, Any]) -> None:
    services = config["services"]
    dashboards = services["dashboards"]
    # The published exports, read-only, and nothing of the data volume (attachments, blobs).
    assert all(v.endswith(":ro") for v in dashboards["volumes"])
    assert not any(v.startswith("switchboard-data:") for v in dashboards["volumes"])
    assert not set(SECRETS.values()) & set(map(str, dashboards["environment"].values()))
    assert "pg-secret-1" not in str(services["dashboards"])
    worker, ingress = services["worker"]["environment"], services["ingress"]["environment"]
    assert "SWITCHBOARD_API_KEYS" not in worker and "SWITCHBOARD_SENDGRID_API_KEY" not in ingress
    # The export sends nothing to providers: none of their credentials.
    analytics = services["analytics"]["environment"]
    assert not {"SWITCHBOARD_TWILIO_AUTH_TOKEN", "SWITCHBOARD_SENDGRID_API_KEY"} & set(analytics)
    assert ingress["SWITCHBOARD_OPS_LOOPBACK_ONLY"] == "1"
    # The application and Temporal reach PostgreSQL as different users, neither the superuser,
    # whose password is in the postgresql container alone (deploy/postgres-init.sh).
    assert services["temporal"]["environment"]["POSTGRES_USER"] == "temporal"
    assert services["temporal"]["environment"]["POSTGRES_PWD"] == "pg-secret-temporal"
    assert services["postgresql"]["environment"]["POSTGRES_USER"] == "postgres"
    for name, service in services.items():
        if name != "postgresql":
            assert "pg-secret-1" not in str(service), name


def test_every_ui_signs_users_in(config: dict[str, Any]) -> None:
    services = config["services"]
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true"
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["TEMPORAL_AUTH_PROVIDER_URL"] == SECRETS["SWITCHBOARD_OIDC_ISSUER"]
    sign_in = services["oauth2-proxy"]["environment"]
    assert sign_in["OAUTH2_PROXY_ALLOWED_GROUPS"] == "analyst,agent,admin"
    assert sign_in["OAUTH2_PROXY_OIDC_ISSUER_URL"] == SECRETS["SWITCHBOARD_OIDC_ISSUER"]


def test_our_services_run_real_commands_with_real_settings(config: dict[str, Any]) -> None:
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    known = (
        set(IngressSettings.model_fields)
        | set(WorkerSettings.model_fields)
        | set(DashboardSettings.model_fields)
    )
    for name in ("migrate", "worker", "analytics", "ingress", "dashboards"):
        service = config["services"][name]
        assert service["command"][0] in commands
        for variable in service["environment"]:
            if variable.startswith("SWITCHBOARD_"):
                assert variable.removeprefix("SWITCHBOARD_").lower() in known, variable


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_a_missing_secret_stops_the_deployment_with_its_name(
    missing: str, no_env_file: Path
) -> None:
    result = compose_config({k: v for k, v in SECRETS.items() if k != missing}, no_env_file)
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_an_empty_optional_setting_means_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # The compose file passes optional settings as `${VAR:-}`: an empty value.
    monkeypatch.setenv("SWITCHBOARD_PUSH_WEBHOOK_SECRET", "")
    monkeypatch.setenv("SWITCHBOARD_SENDGRID_INBOUND_PASSWORD", "")
    settings = IngressSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.push_webhook_secret is None
    assert settings.sendgrid_inbound_password is None


def test_prometheus_scrapes_and_alerts_without_publishing_its_ui(config: dict[str, Any]) -> None:
    prometheus = config["services"]["prometheus"]
    assert "ports" not in prometheus
    mounted = " ".join(str(v) for v in prometheus["volumes"])
    assert "alerts.yml" in mounted and "prometheus.yml" in mounted


def test_alert_rules_are_valid_and_pass_their_unit_tests() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: `make test` installs Debian's prometheus")
    rules = ROOT / "deploy" / "prometheus"
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        result = subprocess.run(
            [promtool, *args], cwd=rules, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_each_of_our_services_runs_its_roles_image_and_the_others_a_pinned_one(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    roles = {
        "migrate": "worker",
        "worker": "worker",
        "analytics": "worker",
        "ingress": "ingress",
        "dashboards": "dashboards",
    }
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M))
    for name, role in roles.items():
        assert services[name]["build"]["target"] == role
        assert role in stages
        assert services[name]["image"].startswith(f"switchboard-{role}:")
    for name, service in services.items():
        if name not in roles:
            # A release (major.minor at least, with its variant) or a digest: never `postgres:16`
            # or `latest`.
            pinned = r":v?\d+\.\d+(\.\d+)?(-[a-z]+)*$|@sha256:[0-9a-f]{64}$"
            assert re.search(pinned, service["image"]), name


def test_temporal_takes_mutual_tls_only_with_certificates_made_at_run_time(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    certs = services["temporal-certs"]
    assert certs["entrypoint"][:2] == ["sh", "/deploy/certs/make-certs.sh"]
    server = services["temporal"]
    assert server["environment"]["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    assert server["depends_on"]["temporal-certs"]["condition"] == "service_completed_successfully"
    # Each certificate's volume is mounted by its users only; the CA's by the maker alone.
    mounts = {
        name: {str(v).split(":")[0] for v in service.get("volumes", [])}
        for name, service in services.items()
    }
    users = {
        volume: {name for name, volumes in mounts.items() if volume in volumes}
        for volume in ("temporal-tls-ca", "temporal-tls-server", "temporal-tls-ui")
    }
    assert users == {
        "temporal-tls-ca": {"temporal-certs"},
        "temporal-tls-server": {"temporal-certs", "temporal"},
        "temporal-tls-ui": {"temporal-certs", "temporal-ui"},
    }
    for name in ("worker", "analytics", "ingress", "dashboards"):
        env = services[name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert Path(env["SWITCHBOARD_TEMPORAL_TLS_CERT"]).parent == Path("/run/temporal-tls")
        assert env["SWITCHBOARD_TEMPORAL_TLS_SERVER_NAME"] == "temporal"
        assert "temporal-tls-client:/run/temporal-tls:ro" in services[name]["volumes"], name
    ui = services["temporal-ui"]["environment"]
    assert (
        ui["TEMPORAL_TLS_CERT"].endswith("ui.pem") and ui["TEMPORAL_TLS_SERVER_NAME"] == "temporal"
    )
    assert services["temporal-namespace"]["environment"]["TEMPORAL_TLS_DIR"] == "/run/temporal-tls"


def test_prometheus_reaches_the_ingress_on_a_metrics_port_of_its_own(
    config: dict[str, Any],
) -> None:
    ingress = config["services"]["ingress"]["environment"]
    assert ingress["SWITCHBOARD_OPS_LOOPBACK_ONLY"] == "1"
    assert ingress["SWITCHBOARD_INGRESS_METRICS_HOST"] == "0.0.0.0"
    assert ingress["SWITCHBOARD_INGRESS_METRICS_PORT"] == "9464"
    # Published by no one (only the proxy publishes, test above), nor routed by the proxy.
    assert "9464" not in (ROOT / "deploy" / "Caddyfile").read_text()
