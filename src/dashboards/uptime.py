"""Uptime per service as `switchboard up` observed it (`supervisor.json` in the data dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

# Written by runtime.up (the composition root); the name is the file contract between them.
STATUS_FILE = "supervisor.json"


def table(data_dir: Path) -> pd.DataFrame | None:
    """One row per service: uptime, restarts, last exit code; None when `up` is not in use."""
    try:
        status = json.loads((data_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    rows = [
        {
            "service": name,
            "running": service["running"],
            "uptime %": round(100 * service["uptime"], 2),
            "restarts": service["restarts"],
            "last exit code": service["last_exit_code"],
        }
        for name, service in status["services"].items()
    ]
    return pd.DataFrame(rows).set_index("service")
