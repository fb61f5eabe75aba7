"""The `switchboard` command line: one module per group of commands, all on one Typer app."""

from runtime.cli import checks, customers, data, failures, keys, privacy, services, simulate
from runtime.cli._base import app

# Imported for their commands, which register themselves on `app`.
__all__ = [
    "app",
    "checks",
    "customers",
    "data",
    "failures",
    "keys",
    "privacy",
    "services",
    "simulate",
]
