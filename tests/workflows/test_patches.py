"""The patch ledger names every patch the workflows ask, as the code asks it."""

from __future__ import annotations

import ast
from pathlib import Path

import workflows
from workflows import patches

SOURCES = sorted(Path(workflows.__file__).parent.rglob("*.py"))
CALLS = {"patched": "patched", "deprecate_patch": "deprecated"}


def patch_calls() -> list[tuple[str, str, str]]:
    """(module, `patched` or `deprecate_patch`, what it is given) for every call in workflows."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CALLS
            ):
                found.append((path.name, node.func.attr, ast.unparse(node.args[0])))
    return found


def test_every_patch_is_asked_by_its_ledger_name_at_its_step() -> None:
    calls = patch_calls()
    entries = {name: value for name, value in vars(patches).items() if value in patches.LEDGER}
    assert calls, "no patch calls found: has the workflows package moved?"
    for module, call, argument in calls:
        name = argument.removesuffix(".id")
        assert name in entries, f"{module}: {call}({argument}) is not a ledger entry's id"
        assert CALLS[call] == entries[name].step, f"{module}: {name} is {entries[name].step}"
    asked = {argument.removesuffix(".id") for _, _, argument in calls}
    assert asked == set(entries), "ledger entries no workflow asks (delete them with the call)"


def test_patch_ids_are_unique() -> None:
    ids = [patch.id for patch in patches.LEDGER]
    assert len(ids) == len(set(ids))
