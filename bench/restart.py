"""How long the ingress is away after a SIGKILL under `switchboard up` (issue 19: within 15 s).

Kills the ingress child `--kills` times and polls `/readyz` every 50 ms until it answers 200
again; prints each gap and the supervisor's restart delay as `up` logged it.

Usage:  .venv/bin/python -m bench.restart [--kills 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time

import httpx

from bench.limits import ingress_process
from runtime.benchmark.stack import running_stack


async def main(kills: int) -> list[float]:
    gaps: list[float] = []
    async with running_stack({}) as stack, httpx.AsyncClient(timeout=2) as http:
        for _ in range(kills):
            victim = ingress_process(stack.pid)
            os.kill(victim.pid, signal.SIGKILL)
            killed = time.perf_counter()
            while True:
                try:
                    ready = await http.get(stack.base_url + "/readyz")
                    if ready.status_code == 200 and ingress_process(stack.pid).pid != victim.pid:
                        break
                except (httpx.HTTPError, SystemExit):
                    pass
                await asyncio.sleep(0.05)
            gaps.append(time.perf_counter() - killed)
            print(f"ingress back {gaps[-1]:.1f} s after SIGKILL")
            await asyncio.sleep(2)  # past the supervisor's quick-exit window
    return gaps


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps({"ingress_back_s": asyncio.run(main(args.kills))}))
