"""Which dependency group a command needs, and a plain refusal when it is not installed.

pyproject.toml keeps each role's packages in a dependency group of its name (`ingress`, `worker`,
`dashboards`, and `embedded`: all of them beside the Temporal dev server), and each image installs
only its own. A command of another role, run there, stops with the group it needs instead of an
`ImportError` traceback.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

# Ours: a missing one of these is a broken install or a bug, not a missing group.
OUR_PACKAGES = frozenset(
    {"switchboard", "runtime", "ingress", "workflows", "activities", "analytics", "dashboards"}
)
# A few modules of each group, looked up (not imported) before a command starts anything, so
# that it stops at once; `up` starts every role, and Streamlit runs as a program of its own.
_INGRESS = ("fastapi", "uvicorn", "twilio", "sendgrid")
_WORKER = ("twilio", "sendgrid", "duckdb", "pyarrow", "great_expectations")
_DASHBOARDS = ("streamlit", "altair", "duckdb")
GROUP_MODULES = {
    "ingress": _INGRESS,
    "worker": _WORKER,
    "dashboards": _DASHBOARDS,
    "embedded": (*_INGRESS, *_WORKER, *_DASHBOARDS, "psutil"),
}

_stderr = Console(stderr=True, soft_wrap=True)


class MissingBinary(Exception):
    """A program that a dependency group installs (such as `temporal`) is not there."""


@contextmanager
def needs(group: str) -> Iterator[None]:
    """Run the body; if it lacks a third-party module (or program), name the group to install."""
    try:
        for module in GROUP_MODULES[group]:
            if importlib.util.find_spec(module) is None:
                raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if not missing or missing in OUR_PACKAGES:
            raise
        _refuse(group, f"no module named {missing!r}")
        raise typer.Exit(2) from exc
    except MissingBinary as exc:
        _refuse(group, str(exc))
        raise typer.Exit(2) from exc


def _refuse(group: str, what: str) -> None:
    _stderr.print(
        f"[red]This command needs the {group!r} dependency group[/], which this environment "
        f"does not have ({what}).\nRun it where that group is installed: `make run` installs "
        "every group from uv.lock (`uv sync --locked`), an image only its role's."
    )
