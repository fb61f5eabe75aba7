"""`make test-fast` installs nothing with apt-get and selects no test that needs what it would
install: the inner loop runs on a machine that has only Python (docs/testing.md)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Programs of the Debian packages `make test` installs (`make postgres`, `caddy`, ...).
RUNS_A_SYSTEM_PROGRAM = re.compile(
    r'which\(\s*"(caddy|docker-compose|promtool|openssl|chromium)"|tests\.support\.browser'
)


def test_fast_target_installs_nothing_with_apt() -> None:
    plan = subprocess.run(
        ["make", "-n", "test-fast"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert plan.returncode == 0, plan.stderr
    assert "pytest" in plan.stdout
    assert "apt-get" not in plan.stdout


def test_fast_target_deselects_every_test_module_that_runs_a_system_program() -> None:
    """Each module that runs one is marked (`system` through tests/conftest.py's
    NEEDS_SYSTEM_PACKAGE, or `browser`), and test-fast deselects the marker."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (expression,) = re.findall(r'^test-fast:.*\n\t\S*pytest -m "([^"]+)"', makefile, re.M)
    assert {"not system", "not browser", "not postgresql"} <= set(expression.split(" and "))
    conftest = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    listed = set(re.findall(r'^\s+"([\w/]+\.py)",  # ', conftest, re.M))
    unmarked = [
        str(path.relative_to(ROOT / "tests"))
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        if RUNS_A_SYSTEM_PROGRAM.search(text := path.read_text(encoding="utf-8"))
        and path.resolve() != Path(__file__).resolve()
        and str(path.relative_to(ROOT / "tests")) not in listed
        and "pytest.mark.browser" not in text
    ]
    assert "deploy/test_caddy.py" in listed  # the scan reads the list
    assert unmarked == []
