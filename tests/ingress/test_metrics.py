"""GET /metrics: what Prometheus scrapes moves with the traffic, and carries no customer data."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.builders import SMS_PATH, random_phone, signed_sms
from tests.support.pipeline import interaction_result


async def scrape(
    http: httpx.AsyncClient,
) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return samples, response.text


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_requests_starts_duplicates_and_signature_failures_are_counted(
    http: httpx.AsyncClient, client: Client, worker: Worker
) -> None:
    before, _ = await scrape(http)
    phone = random_phone()
    sid, request = signed_sms(sender=phone, body="secret words")
    for _ in range(2):
        assert (
            await http.post(SMS_PATH, content=request.body, headers=request.headers)
        ).status_code == 200
    await interaction_result(client, "twilio", sid)
    forged = {**request.headers, "X-Twilio-Signature": "forged"}
    assert (await http.post(SMS_PATH, content=request.body, headers=forged)).status_code == 403
    after, text = await scrape(http)

    route = {"route": "/webhooks/twilio/sms"}
    assert (
        delta(
            before, after, "switchboard_http_requests_total", **route, method="POST", status="200"
        )
        == 2
    )
    assert (
        delta(
            before, after, "switchboard_http_requests_total", **route, method="POST", status="403"
        )
        == 1
    )
    assert delta(before, after, "switchboard_webhook_ack_seconds_count", **route) == 3
    assert (
        delta(before, after, "switchboard_workflow_starts_total", provider="twilio", kind="sms")
        == 1
    )
    assert (
        delta(
            before, after, "switchboard_duplicate_deliveries_total", provider="twilio", kind="sms"
        )
        == 1
    )
    assert delta(before, after, "switchboard_signature_failures_total", provider="twilio") == 1
    for private in (phone, phone.removeprefix("+"), "secret words", sid):
        assert private not in text
