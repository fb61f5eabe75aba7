"""Hostile requests against the media route, and hostile files served by it: an attachment's
type and name are whatever its sender chose, so it is served as a download that no browser
renders as a page of ours, and no header can be forged through its name."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.settings import IngressSettings
from tests.support.builders import post_email
from tests.support.pipeline import interaction_result
from tests.support.settings import ingress_settings

PARSE = ("parse", secrets.token_urlsafe(12))
FILES = [
    ("page.html", "text/html", b"<script>alert(document.cookie)</script>"),
    ("logo.svg", "image/svg+xml", b"<svg onload='alert(1)'/>"),
    ("a\r\nSet-Cookie: sid=stolen.txt", "text/plain", b"header injection by name"),
    ('../../etc/"passwd"', 'image/png; x="1"', b"traversal by name"),
    ("\u202etxt.exe", "application/x-msdownload", b"right-to-left override"),
]


@pytest.fixture
def settings(task_queue: str, tmp_path: Path) -> IngressSettings:
    return ingress_settings(
        task_queue,
        data_dir=tmp_path / "data",
        sendgrid_inbound_user=PARSE[0],
        sendgrid_inbound_password=PARSE[1],
    )


async def test_hostile_files_are_served_as_inert_downloads_and_bad_paths_refused(
    http: httpx.AsyncClient, client: Client, worker: Worker, auth: dict[str, str]
) -> None:
    message_id = f"{secrets.token_hex(8)}@mail.example.com"
    await post_email(http, PARSE, message_id, "mallory@example.com", "files", "see", FILES)
    interaction_id = (await interaction_result(client, "sendgrid", message_id)).interaction_id
    base = f"/api/interactions/{interaction_id}/media"
    for index, (_, _, data) in enumerate(FILES):
        served = await http.get(f"{base}/{index}", headers=auth)
        assert served.status_code == 200 and served.content == data
        headers = served.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-disposition"].startswith("attachment; filename=")
        assert "set-cookie" not in headers and "\r" not in headers["content-disposition"]
        assert '../../etc/"' not in headers["content-disposition"]
        if index < 2:  # would run as a page of ours: opaque bytes instead
            assert headers["content-type"] == "application/octet-stream"
    assert (await http.get(f"{base}/3", headers=auth)).headers["content-type"] == "image/png"

    refused = {
        f"{base}/{len(FILES)}": 404,  # beyond the last file
        f"{base}/-1": 422,
        f"{base}/abc": 422,
        f"{base}/1e3": 422,
        f"{base}/99999999999999999999999": 422,
        "/api/interactions/..%2F..%2Fetc%2Fpasswd/media/0": 404,
        "/api/interactions/' OR 1=1 --/media/0": 404,
        f"/api/interactions/{'x' * 5000}/media/0": 404,
    }
    for path, expected in refused.items():
        response = await http.get(path, headers=auth)
        assert response.status_code == expected, (path, response.status_code)
    assert (await http.get(f"{base}/0")).status_code == 401
    wrong = {"Authorization": "Bearer sbk_" + secrets.token_hex(16)}
    assert (await http.get(f"{base}/0", headers=wrong)).status_code == 401
