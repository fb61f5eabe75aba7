"""From a webhook to the dashboards: how long until a message shows, with the default settings.

A real `switchboard up` (default export interval, 60 s); one signed SMS at a time, at random
moments; the time until the published export the dashboards read contains it (the pages cache
per snapshot, so a new export shows on the next page load).

    .venv/bin/python -m bench.freshness [--samples 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import time
from pathlib import Path

import duckdb
import httpx

from analytics import export
from runtime.benchmark.stack import running_stack
from runtime.simulate import new_message_sid, sign_twilio, sms_fields

RESULTS = Path(__file__).with_name("results")


def exported_count(root: Path) -> int:
    snapshot = export.current(root)
    if snapshot is None:
        return 0
    con = duckdb.connect()
    try:
        export.register(con, snapshot, "interactions")
        return int(con.execute("SELECT count(*) FROM interactions").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


async def main(samples: int) -> dict[str, object]:
    token = secrets.token_hex(16)
    delays = []
    async with running_stack({"SWITCHBOARD_TWILIO_AUTH_TOKEN": token}) as stack:
        root = stack.data_dir / "exports"
        async with httpx.AsyncClient(timeout=10) as http:
            for i in range(samples):
                await asyncio.sleep(random.uniform(0, 60))  # any moment of the schedule
                before = exported_count(root)
                url = stack.base_url + "/webhooks/twilio/sms"
                request = sign_twilio(
                    url,
                    sms_fields(new_message_sid(), "+14155550142", "+14155550100", f"m{i}"),
                    token,
                )
                sent = time.monotonic()
                response = await http.post(url, content=request.body, headers=request.headers)
                assert response.status_code == 200, response.text
                while exported_count(root) <= before:
                    await asyncio.sleep(0.25)
                delays.append(time.monotonic() - sent)
                print(f"sample {i + 1}: {delays[-1]:.1f} s")
    return {
        "samples": samples,
        "export_interval_s": 60,
        "webhook_to_dashboard_s": [round(d, 1) for d in delays],
        "mean_s": round(statistics.mean(delays), 1),
        "max_s": round(max(delays), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3)
    result = asyncio.run(main(parser.parse_args().samples))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "freshness.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:28} {value}")
