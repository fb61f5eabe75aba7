"""Access through the real CLI and a real ingress: key life cycle, and the exposed-bind guard."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.processes import switchboard_argv
from switchboard import exposure
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
# Each `switchboard` command is a Python process of its own: on a loaded 2-core machine a
# test of several of them needs more than the suite's default three minutes.
pytestmark = pytest.mark.timeout(600)


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*switchboard_argv(), *args],
        env={**os.environ, "COLUMNS": "200", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, "the ingress exited while starting"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready"
        time.sleep(0.2)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_INGRESS_PORT": str(free_port()),
        "SWITCHBOARD_API_KEYS": secrets.token_hex(24),
        # The key routes never reach Temporal; the client connects lazily.
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "SWITCHBOARD_LOG_FORMAT": "text",
    }


@pytest.fixture
def ingress(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    assert run_cli(["migrate"], env, tmp_path).returncode == 0
    process = subprocess.Popen(
        [*switchboard_argv(), "ingress"],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{env['SWITCHBOARD_INGRESS_PORT']}"
    try:
        wait_ready(base + "/healthz", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_key_life_cycle_create_use_list_revoke(
    ingress: str, env: dict[str, str], tmp_path: Path
) -> None:
    created = run_cli(["keys", "create", "--name", "alice", "--role", "analyst"], env, tmp_path)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sbk_") and len(key) > 40

    bearer = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{ingress}/api/conversations", headers=bearer).status_code == 200
    # An analyst may read, not act.
    refused = httpx.post(f"{ingress}/api/keys", headers=bearer, json={"name": "x", "role": "admin"})
    assert refused.status_code == 403 and "keys:manage" in refused.text

    listed = run_cli(["keys", "list"], env, tmp_path)
    row = next(line for line in listed.stdout.splitlines() if "alice" in line)
    assert "analyst" in row and "never" not in row
    assert key not in listed.stdout

    revoked = run_cli(["keys", "revoke", "alice"], env, tmp_path)
    assert revoked.returncode == 0
    assert httpx.get(f"{ingress}/api/conversations", headers=bearer).status_code == 401


def test_keys_through_the_api_for_admins(ingress: str, env: dict[str, str]) -> None:
    admin = {"Authorization": f"Bearer {env['SWITCHBOARD_API_KEYS']}"}
    created = httpx.post(f"{ingress}/api/keys", headers=admin, json={"name": "bo", "role": "agent"})
    assert created.status_code == 201
    key = created.json()["key"]
    listed = httpx.get(f"{ingress}/api/keys", headers=admin).json()
    assert [(k["name"], k["role"]) for k in listed] == [("bo", "agent")]
    assert "key" not in listed[0]
    assert httpx.get(
        f"{ingress}/api/conversations", headers={"Authorization": f"Bearer {key}"}
    ).is_success
    assert httpx.delete(f"{ingress}/api/keys/bo", headers=admin).status_code == 204
    assert (
        httpx.get(
            f"{ingress}/api/conversations", headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 401
    )
    audit = httpx.get(f"{ingress}/api/audit", headers=admin).json()["items"]
    assert [(a["method"], a["route"], a["target"], a["status"]) for a in audit] == [
        ("DELETE", "/api/keys/{name}", "bo", 204),
        ("POST", "/api/keys", "bo", 201),
    ]
    assert {a["actor"] for a in audit} == {"key:bootstrap"}


def dev_values() -> dict[str, str]:
    """The variables `.env.example` sets, with their published values."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def test_every_published_secret_is_known_to_the_guard() -> None:
    secret_vars = {f"SWITCHBOARD_{field.upper()}" for field in exposure.SECRET_FIELDS}
    published = {v for name, v in dev_values().items() if name in secret_vars}
    assert published and published <= exposure.PUBLISHED


def test_an_exposed_ingress_refuses_development_secrets_naming_the_variable(
    env: dict[str, str], tmp_path: Path
) -> None:
    dev = dev_values()
    refused = run_cli(
        ["ingress"],
        {**env, **dev, "SWITCHBOARD_HOST": "0.0.0.0"},
        tmp_path,
    )
    assert refused.returncode == 2
    output = refused.stdout + refused.stderr
    assert "SWITCHBOARD_API_KEYS" in output and "SWITCHBOARD_TWILIO_AUTH_TOKEN" in output
    for value in dev.values():
        assert value not in output
    weak = run_cli(
        ["ingress"],
        {**env, "SWITCHBOARD_HOST": "0.0.0.0", "SWITCHBOARD_API_KEYS": "hunter2"},
        tmp_path,
    )
    assert weak.returncode == 2 and "SWITCHBOARD_API_KEYS is weak" in weak.stderr
    assert "hunter2" not in weak.stdout + weak.stderr


def test_an_exposed_ingress_with_strong_secrets_starts(env: dict[str, str], tmp_path: Path) -> None:
    strong = {
        **env,
        "SWITCHBOARD_HOST": "0.0.0.0",
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "SWITCHBOARD_SENDGRID_INBOUND_PASSWORD": secrets.token_urlsafe(24),
        # An exposed process also needs explicit payload keys (the privacy guard).
        "SWITCHBOARD_PAYLOAD_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    process = subprocess.Popen(
        [*switchboard_argv(), "ingress"],
        env={**os.environ, **strong},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{env['SWITCHBOARD_INGRESS_PORT']}/healthz", process)
    finally:
        process.terminate()
        process.wait(timeout=15)
