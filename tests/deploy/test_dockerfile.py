"""The Dockerfile, checked the way CI can without a Docker engine (hadolint lints it in
`make lint`): pinned inputs only, and the uv that the Makefile bootstraps."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_the_base_image_is_an_exact_python_release() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert base is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1))
    # Every stage starts from it or from another stage: nothing floats.
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", DOCKERFILE, re.M)
    named = {stage for _, stage in stages}
    assert all(image == "${PYTHON_IMAGE}" or image in named for image, _ in stages)


def test_images_install_uv_and_switchboard_as_make_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    wanted = re.search(r"^UV_VERSION := (\S+)$", makefile, re.M)
    assert wanted is not None
    assert f"ARG UV_VERSION={wanted.group(1)}\n" in DOCKERFILE
    assert f'"uv_build>={wanted.group(1)},' in (ROOT / "pyproject.toml").read_text()
    # From the lock, refusing one that pyproject.toml no longer matches; each role its own group.
    for role in ("ingress", "worker", "dashboards"):
        assert f"--locked --no-default-groups --group {role} --no-editable" in DOCKERFILE
        assert re.search(rf"^FROM runtime AS {role}$", DOCKERFILE, re.M)
    assert "\nUSER 10001\n" in DOCKERFILE
