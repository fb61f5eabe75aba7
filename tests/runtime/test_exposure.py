"""The exposed-bind guard of the service commands other than the ingress, in-process: each
refuses before it starts anything (the ingress's, through real processes, refusing and
starting, is in tests/integration/test_access_cli.py)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.cli import app
from switchboard import exposure
from switchboard.settings import IngressSettings, UpSettings, WorkerSettings

DEV_API_KEY = "dev-api-key-change-me"
DEV_TWILIO_TOKEN = "dev-twilio-auth-token-change-me"
WEAK_HASH_KEY = "hunter2hunter2"
ZERO_KEY = "k1:" + base64.b64encode(bytes(32)).decode()
# 32 bytes, but a passphrase: printable, and far fewer distinct values than random bytes.
PASSPHRASE_KEY = "k1:" + base64.b64encode(b"correct horse battery staple!!!!").decode()
STRONG_KEY = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
STRONG_SECRET = secrets.token_hex(32)


@pytest.mark.parametrize(
    ("command", "env", "refusal"),
    [
        (
            "dashboards",
            {"SWITCHBOARD_DASHBOARD_HOST": "0.0.0.0", "SWITCHBOARD_EXPORT_HASH_KEY": WEAK_HASH_KEY},
            "SWITCHBOARD_EXPORT_HASH_KEY is weak",
        ),
        (
            "worker",
            {
                "SWITCHBOARD_WORKER_METRICS_HOST": "0.0.0.0",
                "SWITCHBOARD_WORKER_METRICS_PORT": "9464",
                "SWITCHBOARD_TWILIO_AUTH_TOKEN": DEV_TWILIO_TOKEN,
            },
            "SWITCHBOARD_TWILIO_AUTH_TOKEN is a development value published in .env.example",
        ),
        (
            "up",
            {"SWITCHBOARD_TEMPORAL_HOST": "0.0.0.0", "SWITCHBOARD_API_KEYS": DEV_API_KEY},
            "SWITCHBOARD_API_KEYS is a development value published in .env.example",
        ),
        (
            "ingress",
            {"SWITCHBOARD_HOST": "0.0.0.0", "SWITCHBOARD_PAYLOAD_KEYS": ZERO_KEY},
            "SWITCHBOARD_PAYLOAD_KEYS key 1 is weak",
        ),
        (
            "worker",
            {
                "SWITCHBOARD_WORKER_METRICS_HOST": "0.0.0.0",
                "SWITCHBOARD_PAYLOAD_KEYS": f"{STRONG_KEY.replace('k1', 'k2')},{PASSPHRASE_KEY}",
            },
            "SWITCHBOARD_PAYLOAD_KEYS key 2 is weak",
        ),
        (
            "ingress",
            {
                "SWITCHBOARD_HOST": "0.0.0.0",
                "SWITCHBOARD_PAYLOAD_KEYS": STRONG_KEY,
                "SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE": "1",
            },
            "SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE is on",
        ),
        (
            "worker",
            {
                "SWITCHBOARD_WORKER_METRICS_HOST": "10.0.0.5",
                "SWITCHBOARD_PAYLOAD_KEYS": STRONG_KEY,
                "SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE": "true",
            },
            "SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE is on",
        ),
        (
            # Only the dev server exposed, every secret strong: still refused.
            "up",
            {"SWITCHBOARD_TEMPORAL_HOST": "0.0.0.0", "SWITCHBOARD_API_KEYS": STRONG_SECRET},
            "SWITCHBOARD_TEMPORAL_HOST exposes the embedded Temporal dev server",
        ),
    ],
)
def test_an_exposed_service_refuses_an_unsafe_secret_naming_only_its_variable(
    command: str,
    env: dict[str, str],
    refusal: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    env = {**env, "SWITCHBOARD_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(app, [command], env=env)
    assert result.exit_code == 2, result.output
    assert "refusing to listen on " in result.stderr
    assert refusal in " ".join(result.stderr.split())
    for value in (DEV_API_KEY, DEV_TWILIO_TOKEN, WEAK_HASH_KEY, ZERO_KEY, PASSPHRASE_KEY):
        assert (value.partition(":")[2] or value) not in result.output
    assert not (tmp_path / "data").exists(), "the refused command started something"


def test_strong_keys_and_no_development_switch_pass_the_guard() -> None:
    # The other side of the table above: what an exposed deployment runs with is not refused.
    common = {"_env_file": None, "payload_keys": f"{STRONG_KEY},k0:{STRONG_KEY[3:]}"}
    for settings in (
        IngressSettings(**common, host="0.0.0.0", api_keys=STRONG_SECRET),  # type: ignore[arg-type]
        WorkerSettings(**common, worker_metrics_host="0.0.0.0"),  # type: ignore[arg-type]
        UpSettings(**common, host="0.0.0.0", api_keys=STRONG_SECRET),  # type: ignore[arg-type]
    ):
        assert exposure.unsafe_settings(settings) == []
