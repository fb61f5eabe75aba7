"""The exposed-bind guard of the service commands other than the ingress, in-process: each
refuses before it starts anything (the ingress's, through real processes, refusing and
starting, is in tests/integration/test_access_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.cli import app

DEV_API_KEY = "dev-api-key-change-me"
DEV_TWILIO_TOKEN = "dev-twilio-auth-token-change-me"
WEAK_HASH_KEY = "hunter2hunter2"


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
    assert "refusing to listen on 0.0.0.0" in result.stderr
    assert refusal in " ".join(result.stderr.split())
    for value in (DEV_API_KEY, DEV_TWILIO_TOKEN, WEAK_HASH_KEY):
        assert value not in result.output
    assert not (tmp_path / "data").exists(), "the refused command started something"
