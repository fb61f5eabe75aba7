"""How one Switchboard process starts another."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def switchboard_argv() -> list[str]:
    """The command line that runs the `switchboard` CLI in a child process.

    The console script is preferred over `python -m runtime` so that the child's command line
    reads `… switchboard worker`: operators find processes with `pgrep -f "switchboard worker"`.
    """
    beside = Path(sys.executable).with_name("switchboard")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("switchboard")
    if found:
        return [found]
    return [sys.executable, "-m", "runtime"]
