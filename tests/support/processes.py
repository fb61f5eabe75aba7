"""Helpers to run Switchboard's own processes (as operators do) against the test Temporal."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import psutil

from runtime.processes import switchboard_argv
from tests.support.keys import PAYLOAD_KEYS

# What `make run` copies to .env the first time: the settings of a first run.
ENV_EXAMPLE = Path(__file__).parents[2] / ".env.example"


def env_example() -> dict[str, str]:
    """The settings .env.example gives (`make run` reads them from the .env it copies)."""
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


# Ports for the tests' servers come from below the kernel's ephemeral range (32768 and up on
# Linux), where no outgoing connection takes one, in a block per pytest-xdist worker, so two
# workers never hand out the same port. Each call skips STRIDE ports: `switchboard up` gives its
# N workers' metrics the ports after the one it is given.
FIRST_PORT, LAST_PORT, STRIDE = 10_000, 32_000, 10
_calls = itertools.count()


def free_port() -> int:
    """A port free now on 127.0.0.1, and the STRIDE - 1 after it this process won't hand out."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    block = (LAST_PORT - FIRST_PORT) // max(workers, 1) // STRIDE
    for _ in range(block):
        port = FIRST_PORT + (worker * block + next(_calls) % block) * STRIDE
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in this worker's block of {block * STRIDE}")


def switchboard(
    args: list[str], env: dict[str, str], cwd: Path, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `switchboard <args>` in `cwd` (away from a developer's .env) with `env` added.

    The child seals and opens payloads with the tests' keys, as the test's own clients and
    workers do, unless `env` names others (a deployment's processes share their keys too).

    Its output is a pipe the caller reads, or, for long runs, appended to `log`: a pipe nobody
    reads fills up and blocks the process at its next log line.
    """
    output = subprocess.PIPE if log is None else log.open("ab")
    try:
        return subprocess.Popen(
            [*switchboard_argv(), *args],
            env={**os.environ, "SWITCHBOARD_PAYLOAD_KEYS": PAYLOAD_KEYS, **env},
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            output.close()  # type: ignore[union-attr]


class Up:
    """A running `switchboard up`, its output collected as it comes."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.process = switchboard(["up"], env, cwd)
        self.output = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            self.output += line.decode(errors="replace")

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while "Switchboard is running" not in self.output:
            assert self.process.poll() is None, f"`up` exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"`up` not ready:\n{self.output}"
            time.sleep(0.2)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        """After a failure: `up`'s children too (a SIGKILLed `up` cannot stop them, and they
        would go on holding ports and CPU for the rest of the session)."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    child.kill()
        self.process.kill()
        self.process.wait(timeout=10)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def child_of(up: Up, role: str) -> psutil.Process:
    """The direct child of `up` in `role` (intake or analytics for a worker, ingress,
    dashboards or start-dev for Temporal), found by its parent rather than by name: other runs
    may share the machine."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for child in psutil.Process(up.process.pid).children():
            with contextlib.suppress(psutil.Error):
                if role in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        time.sleep(0.2)
    raise AssertionError(f"`up` has no {role} child:\n{up.output}")
