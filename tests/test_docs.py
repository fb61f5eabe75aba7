"""The documentation keeps up with the code: every setting on the settings page, a short README,
every table and package on the architecture page, every dashboard page described.

docs/settings.md has one section per settings class, its heading naming the class in
backticks, and a table whose first column names each environment variable that class
declares. The variables are derived here from the classes themselves (field names with the
`env_prefix`, or the field's aliases), so adding, renaming or removing a setting without
touching the page fails this test.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from switchboard import settings
from switchboard.store.tables import metadata

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_PAGE = ROOT / "docs" / "settings.md"
README = ROOT / "README.md"

HEADING = re.compile(r"^## .*`(?P<cls>\w+)`\s*$")
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")
# A relative link to another file of the checkout: `[text](path)` or `[text](path#anchor)`.
LINK = re.compile(r"\]\((?!https?:|#)([^)#\s]+)")


def settings_classes() -> dict[str, type[BaseSettings]]:
    """Every pydantic-settings class defined in `switchboard.settings`."""
    return {
        name: value
        for name, value in vars(settings).items()
        if inspect.isclass(value)
        and issubclass(value, BaseSettings)
        and value.__module__ == settings.__name__
    }


def declared_variables(cls: type[BaseSettings]) -> set[str]:
    """The environment variables of the fields `cls` declares itself (not those it inherits)."""
    own = inspect.get_annotations(cls)
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field, info in cls.model_fields.items():
        if field not in own:
            continue
        alias = info.validation_alias or info.alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field}".upper())
    return names


def documented_variables(page: str) -> dict[str, set[str]]:
    """Class name → the variables in the first column of the tables of its section.

    Tables outside a class's section (the introduction, the closing notes) are kept under ""
    so that a variable listed there is checked too.
    """
    sections: dict[str, set[str]] = {"": set()}
    current = sections[""]
    for line in page.splitlines():
        if line.startswith("## "):
            heading = HEADING.match(line)
            current = sections.setdefault(heading["cls"] if heading else "", set())
        elif line.startswith("|"):
            first_cell = line.split("|")[1]
            current.update(VARIABLE.findall(first_cell))
    return sections


def test_every_settings_class_has_its_section_on_the_settings_page() -> None:
    documented = documented_variables(SETTINGS_PAGE.read_text(encoding="utf-8"))
    assert set(documented) - {""} == set(settings_classes())


def test_each_section_documents_exactly_the_settings_its_class_declares() -> None:
    documented = documented_variables(SETTINGS_PAGE.read_text(encoding="utf-8"))
    for name, cls in settings_classes().items():
        expected = declared_variables(cls)
        assert documented.get(name, set()) == expected, (
            f"{name}: undocumented {sorted(expected - documented.get(name, set()))}, "
            f"documented but not a setting {sorted(documented.get(name, set()) - expected)}"
        )


def test_every_setting_is_documented_and_nothing_else_is() -> None:
    documented = set().union(
        *documented_variables(SETTINGS_PAGE.read_text(encoding="utf-8")).values()
    )
    expected = set().union(*(declared_variables(cls) for cls in settings_classes().values()))
    assert documented == expected
    # The derivation itself still sees the settings of the external contract, under their names.
    assert {"TEMPORAL_ADDRESS", "SWITCHBOARD_DATA_DIR", "SWITCHBOARD_API_KEYS"} <= expected


def test_the_readme_stays_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"README.md has {len(lines)} lines: move the detail to docs/"


def test_links_between_the_pages_reach_files_that_exist() -> None:
    pages = [README, ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert broken == []
    assert "docs/settings.md" in LINK.findall(README.read_text(encoding="utf-8"))


def test_the_architecture_page_names_every_table_and_package() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tables = page.split("| table | what it holds |", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"^\s*\| `(\w+)` \|", tables, re.M)) == set(metadata.tables)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = set(project["tool"]["uv"]["build-backend"]["module-name"])
    assert set(re.findall(r"^src/(\w+)/", page, re.M)) == packages
    assert set(project["tool"]["importlinter"]["root_packages"]) == packages


def test_the_dashboards_page_describes_every_page_of_the_app() -> None:
    app = (ROOT / "src" / "dashboards" / "app.py").read_text(encoding="utf-8")
    pages = re.findall(r'st\.Page\(\s*PAGES / "(\w+)\.py", title="([^"]+)"', app)
    views = ROOT / "src" / "dashboards" / "views"
    assert {view for view, _ in pages} == {p.stem for p in views.glob("[!_]*.py")}
    doc = (ROOT / "docs" / "analytics-and-dashboards.md").read_text(encoding="utf-8")
    described = re.findall(r"^- \*\*([^*]+)\*\*:", doc.split("## Dashboards", 1)[1], re.M)
    assert described[: len(pages)] == [title for _, title in pages]
