"""The import layers of the layout (docs/architecture.md) hold; `lint-imports` notices otherwise.
Test modules import helpers only from tests/support, never from one another."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_core_module_importing_the_composition_root_breaks_the_contract(tmp_path: Path) -> None:
    root = copy_of_tree(tmp_path)
    errors = root / "src" / "switchboard" / "errors.py"
    errors.write_text("import runtime.cli  # noqa: F401\n" + errors.read_text())
    result = lint_imports(root)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "switchboard.errors -> runtime.cli" in result.stdout


def test_a_workflow_importing_the_store_breaks_the_contract(tmp_path: Path) -> None:
    root = copy_of_tree(tmp_path)
    workflow = root / "src" / "workflows" / "interaction.py"
    workflow.write_text("import switchboard.store  # noqa: F401\n" + workflow.read_text())
    result = lint_imports(root)
    assert result.returncode != 0
    assert "workflows.interaction -> switchboard.store" in result.stdout


def imported_test_modules(path: Path) -> list[str]:
    """The modules of `tests` other than `tests.support` that the file at `path` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import inside tests reaches another test module, or conftest.
            names = ["tests." + (node.module or "")] if node.level else [node.module or ""]
        else:
            continue
        found += [
            name
            for name in names
            if (name == "tests" or name.startswith("tests."))
            and not (name == "tests.support" or name.startswith("tests.support."))
        ]
    return found


def test_tests_import_helpers_only_from_tests_support() -> None:
    """A test module's helpers and fixtures live in tests/support and the conftest files, so
    running, moving or deleting one test module never changes another."""
    offenders = {
        str(path.relative_to(ROOT)): modules
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (modules := imported_test_modules(path))
    }
    assert offenders == {}


def test_a_test_module_importing_another_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text("from tests.analytics.test_export import run_export\nimport tests.support\n")
    assert imported_test_modules(module) == ["tests.analytics.test_export"]
