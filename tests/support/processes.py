"""Helpers to run Switchboard's own processes (as operators do) against the test Temporal."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from runtime.processes import switchboard_argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def switchboard(
    args: list[str], env: dict[str, str], cwd: Path, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `switchboard <args>` in `cwd` (away from a developer's .env) with `env` added.

    Its output is a pipe the caller reads, or, for long runs, appended to `log`: a pipe nobody
    reads fills up and blocks the process at its next log line.
    """
    output = subprocess.PIPE if log is None else log.open("ab")
    try:
        return subprocess.Popen(
            [*switchboard_argv(), *args],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            output.close()  # type: ignore[union-attr]
