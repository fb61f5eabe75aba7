"""From a webhook to the Overview: how long until a message shows on the open page.

A real `switchboard up` (default settings: the export every 60 s, the pages live over it) and
the Overview open in headless Chromium, never reloaded. Signed SMS from new senders at the
demo's pace (`--rate`, 2 a second as `make run`'s demo sends requests), `--count` of them;
the page's "Interactions" figure is read every 0.2 s. The n-th message counts as visible
when the figure first reaches the count before the run plus n (messages persist nearly in
the order sent: a late one is seen when all before it are). Printed: p50, p95 and max of
webhook sent → visible, over all messages.

    .venv/bin/python -m bench.freshness [--count 100] [--rate 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import time
from pathlib import Path

import httpx

from runtime.benchmark.stack import free_port, percentile, running_stack
from runtime.simulate import new_message_sid, sign_twilio, sms_fields
from tests.support.browser import Page, open_page

RESULTS = Path(__file__).with_name("results")
SHOWN = re.compile(r"^Interactions\n+([\d,]+)$", re.MULTILINE)


def interactions_shown(page: Page) -> int | None:
    found = SHOWN.search(page.text())
    return int(found.group(1).replace(",", "")) if found else None


async def watch(page: Page, seen: list[tuple[float, int]], stop: asyncio.Event) -> None:
    """Record (when, figure) each time the page's figure changes."""
    while not stop.is_set():
        shown = await asyncio.to_thread(interactions_shown, page)
        if shown is not None and (not seen or seen[-1][1] != shown):
            seen.append((time.monotonic(), shown))
        await asyncio.sleep(0.2)


async def main(count: int, rate: float) -> dict[str, object]:
    token = secrets.token_hex(16)
    port = free_port()
    settings = {"SWITCHBOARD_TWILIO_AUTH_TOKEN": token, "SWITCHBOARD_DASHBOARD_PORT": str(port)}
    async with running_stack(settings) as stack, httpx.AsyncClient(timeout=10) as http:
        url = stack.base_url + "/webhooks/twilio/sms"

        async def send(i: int) -> float:
            fields = sms_fields(new_message_sid(), f"+1415{i:07d}", "+14155550100", f"m{i}")
            request = sign_twilio(url, fields, token)
            sent = time.monotonic()
            response = await http.post(url, content=request.body, headers=request.headers)
            assert response.status_code == 200, response.text
            return sent

        await send(0)  # one message, then the first export: the page has something to show
        while not (stack.data_dir / "exports" / "current").exists():
            await asyncio.sleep(0.5)
        with open_page(f"http://127.0.0.1:{port}/") as page:
            seen: list[tuple[float, int]] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch(page, seen, stop))
            deadline = time.monotonic() + 120
            while not seen or seen[-1][1] < 1:
                assert time.monotonic() < deadline, "the Overview never showed the first message"
                await asyncio.sleep(0.2)
            before = seen[-1][1]
            sent_at = []
            for i in range(1, count + 1):
                sent_at.append(await send(i))
                await asyncio.sleep(1 / rate)
            deadline = time.monotonic() + 120
            while seen[-1][1] < before + count and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            stop.set()
            await watcher
    delays = []
    for n, sent in enumerate(sent_at, start=1):
        visible = next((at for at, shown in seen if shown >= before + n), None)
        assert visible is not None, f"message {n} never showed on the Overview"
        delays.append(max(0.0, visible - sent))
    return {
        "messages": count,
        "rate_per_s": rate,
        "export_interval_s": 60,
        "webhook_to_overview_p50_s": round(percentile(delays, 50), 1),
        "webhook_to_overview_p95_s": round(percentile(delays, 95), 1),
        "webhook_to_overview_max_s": round(max(delays), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rate", type=float, default=2.0)
    args = parser.parse_args()
    result = asyncio.run(main(args.count, args.rate))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "freshness.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:28} {value}")
