"""The providers' recorded payloads (tests/fixtures) and the secrets they were signed with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures"
# The fixtures were signed with this token for https://hooks.example.com; tests that do not
# replay fixtures use their own secrets.
FIXTURE_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
FIXTURE_PUBLIC_URL = "https://hooks.example.com"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())
