"""The migration files sort in the order Alembic chains them, and the chain has one head.

A file's name starts with a number; revision ids are what databases are stamped with and never
change, so when a migration came in out of order its file is renamed, not its revision.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from switchboard.store.migrate import MIGRATIONS

NUMBERED = re.compile(r"^(\d{4})_\w+\.py$")


def scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_the_chain_has_one_head() -> None:
    assert len(scripts().get_heads()) == 1


def test_the_files_sort_in_chain_order() -> None:
    chain = list(reversed(list(scripts().walk_revisions())))  # base first
    names = [Path(script.path).name for script in chain]
    assert all(NUMBERED.match(name) for name in names), names
    numbers = [int(name[:4]) for name in names]
    assert numbers == sorted(set(numbers)), f"files out of chain order: {names}"
    # Every file is in the chain: none is left behind by a rename or a re-chaining.
    on_disk = {p.name for p in (MIGRATIONS / "versions").glob("*.py")}
    assert on_disk == set(names)
