"""docs/security.md shows the roles table exactly as the permission table in code has it."""

from __future__ import annotations

from pathlib import Path

from switchboard.permissions import roles_table

PAGE = Path(__file__).resolve().parents[1] / "docs" / "security.md"


def test_the_roles_table_in_the_docs_is_the_one_in_code() -> None:
    page = PAGE.read_text(encoding="utf-8")
    start = page.index("-->\n", page.index("<!-- roles-table")) + len("-->\n")
    end = page.index("<!-- /roles-table -->")
    assert page[start:end] == roles_table(), (
        "regenerate the table: python -c 'from switchboard.permissions import roles_table; "
        'print(roles_table(), end="")\''
    )
