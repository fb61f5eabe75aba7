"""Reliability under faults, with the real processes: Temporal stopped and restarted mid-run;
the worker and the ingress SIGKILLed at random moments, the store locked, while a steady stream
of messages arrives. Whatever the ingress acknowledged is persisted exactly once; what it did
not, the sender (as Twilio does) delivers again, and then it is persisted exactly once too.

The message counts are what the faults need, no more: every message sent is one the pipeline
must then be waited for (a 1,000-message run took three of `make test`'s fifteen minutes).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import signal
import sqlite3
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from runtime.simulate import SignedRequest, new_message_sid, sign_twilio, sms_fields
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.processes import free_port, switchboard

SMS = "/webhooks/twilio/sms"
# Real processes killed and restarted while the suite's other processes share the two cores:
# more than the default three minutes when the machine is at its busiest.
pytestmark = pytest.mark.timeout(360)


@dataclass
class Run:
    """Messages, what the ingress answered each delivery of them, and the processes."""

    base: str
    token: str
    messages: dict[str, SignedRequest] = field(default_factory=dict)
    answers: dict[str, list[int | str]] = field(default_factory=dict)
    retry_after: set[str] = field(default_factory=set)

    def add(self, count: int) -> list[str]:
        """`count` new messages; their sids."""
        sids = []
        for _ in range(count):
            i, sid = len(self.messages), new_message_sid()
            fields = sms_fields(sid, f"+1415555{i % 200:04d}", "+14155550100", f"m{i}")
            self.messages[sid] = sign_twilio(self.base + SMS, fields, self.token)
            sids.append(sid)
        return sids

    async def deliver(self, http: httpx.AsyncClient, sid: str) -> bool:
        request = self.messages[sid]
        try:
            response = await http.post(request.url, content=request.body, headers=request.headers)
        except httpx.HTTPError as exc:  # the ingress is down: no answer is no acknowledgement
            self.answers.setdefault(sid, []).append(type(exc).__name__)
            return False
        self.answers.setdefault(sid, []).append(response.status_code)
        if response.status_code == 503 and response.headers.get("Retry-After"):
            self.retry_after.add(sid)
        return response.status_code == 200

    async def send_all(self, sids: list[str], concurrency: int = 16) -> set[str]:
        """Deliver each once; return the acknowledged ones."""
        slots = asyncio.Semaphore(concurrency)
        acked: set[str] = set()
        async with httpx.AsyncClient(timeout=20) as http:

            async def one(sid: str) -> None:
                async with slots:
                    if await self.deliver(http, sid):
                        acked.add(sid)

            await asyncio.gather(*(one(sid) for sid in sids))
        return acked

    async def redeliver_until_acknowledged(self, pending: set[str], timeout_s: float) -> None:
        """What a provider does with an unacknowledged webhook: deliver it again, later."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending:
            assert loop.time() < deadline, f"{len(pending)} messages never acknowledged"
            pending -= await self.send_all(sorted(pending))
            await asyncio.sleep(0.5)


def persisted(store: Store) -> Counter[str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(interactions.c.provider_message_id)).scalars().all()
    return Counter(rows)


async def wait_persisted(store: Store, sids: set[str], timeout_s: float) -> Counter[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found = persisted(store)
        if sids <= set(found) or loop.time() > deadline:
            return found
        await asyncio.sleep(0.5)


async def wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with httpx.AsyncClient(timeout=1) as http:
        while True:
            assert process.poll() is None, "the process exited while starting"
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert loop.time() < deadline, f"{url} not ready"
            await asyncio.sleep(0.2)


def report(name: str, run: Run, found: Counter[str]) -> str:
    acknowledged = sum(1 for answers in run.answers.values() if 200 in answers)
    deliveries = sum(len(a) for a in run.answers.values())
    duplicated = sum(n - 1 for n in found.values() if n > 1)
    lost = len(set(run.messages) - set(found))
    return (
        f"{name}: sent {len(run.messages)} messages in {deliveries} deliveries, "
        f"acknowledged {acknowledged}, persisted {len(found)}, duplicated {duplicated}, "
        f"lost {lost}; answers {dict(Counter(a for v in run.answers.values() for a in v))}"
    )


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_temporal_outage_never_acknowledges_a_message_it_could_not_make_durable(
    tmp_path: Path, task_queue: str
) -> None:
    temporal_port, ingress_port = free_port(), free_port()
    token = secrets.token_hex(16)
    db = tmp_path / "switchboard.db"
    env = {
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}",
        "SWITCHBOARD_TEMPORAL_PORT": str(temporal_port),
        "SWITCHBOARD_TEMPORAL_UI_PORT": str(free_port()),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "SWITCHBOARD_TASK_QUEUE": task_queue,
        "SWITCHBOARD_INGRESS_PORT": str(ingress_port),
        "SWITCHBOARD_PUBLIC_URL": f"http://127.0.0.1:{ingress_port}",
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_WORKER_METRICS_PORT": "0",
        "SWITCHBOARD_TEMPORAL_START_TIMEOUT_S": "2",
    }
    store = Store.from_url(f"sqlite:///{db}")
    store.migrate()
    run = Run(env["SWITCHBOARD_PUBLIC_URL"], token)
    # Before, during and after the outage; during it each request waits out the 2 s start.
    before, outage, back = run.add(40), run.add(40), run.add(40)
    sids = list(run.messages)
    temporal = switchboard(["temporal"], env, tmp_path, tmp_path / "temporal.log")
    started = [temporal]  # stopped however the test ends: a leaked server outlives the run
    try:
        await _temporal_ready(env["TEMPORAL_ADDRESS"])
        worker = switchboard(["worker"], env, tmp_path, tmp_path / "worker.log")
        ingress = switchboard(["ingress"], env, tmp_path, tmp_path / "ingress.log")
        started += [worker, ingress]
        await wait_http(run.base + "/readyz", ingress)
        first = await run.send_all(before)
        temporal.send_signal(signal.SIGKILL)  # an outage: no goodbye
        temporal.wait(timeout=10)
        during = await run.send_all(outage)
        # The same state on disk, as after a host restart.
        temporal = switchboard(["temporal"], env, tmp_path, tmp_path / "temporal.log")
        started.append(temporal)
        await _temporal_ready(env["TEMPORAL_ADDRESS"])
        after = await run.send_all(back)
        acknowledged = first | during | after
        await run.redeliver_until_acknowledged(set(sids) - acknowledged, timeout_s=60)
        found = await wait_persisted(store, set(sids), timeout_s=120)
    finally:
        stop(*started)
        store.close()

    print("\n" + report("temporal outage", run, found))
    refused = {sid for sid, answers in run.answers.items() if 200 not in answers[:1]}
    assert during == set(), "a message was acknowledged while Temporal was down"
    assert refused, "the outage did not reach the ingress"
    # Every refusal said "come back later" the way providers understand it.
    assert {a for answers in run.answers.values() for a in answers} <= {200, 503}
    assert refused <= run.retry_after
    assert set(found) == set(sids) and max(found.values()) == 1  # all, exactly once


async def _temporal_ready(address: str, timeout_s: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            client = await Client.connect(address)
            if await client.service_client.check_health():
                return
        except Exception:
            pass
        assert loop.time() < deadline, "Temporal did not start"
        await asyncio.sleep(0.3)


async def test_kills_and_a_locked_store_during_a_steady_stream_lose_and_double_nothing(
    temporal_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    ingress_port = free_port()
    token = secrets.token_hex(16)
    db = tmp_path / "switchboard.db"
    env = {
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}",
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "SWITCHBOARD_TASK_QUEUE": task_queue,
        "SWITCHBOARD_INGRESS_PORT": str(ingress_port),
        "SWITCHBOARD_PUBLIC_URL": f"http://127.0.0.1:{ingress_port}",
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_WORKER_METRICS_PORT": "0",
        "SWITCHBOARD_SQLITE_BUSY_TIMEOUT_S": "0.5",
    }
    store = Store.from_url(f"sqlite:///{db}")
    store.migrate()
    processes = {
        "worker": switchboard(["worker"], env, tmp_path, tmp_path / "worker.log"),
        "ingress": switchboard(["ingress"], env, tmp_path, tmp_path / "ingress.log"),
    }
    run = Run(env["SWITCHBOARD_PUBLIC_URL"], token)
    rng = random.Random()
    kills: Counter[str] = Counter()

    async def faults() -> None:
        """SIGKILL the worker or the ingress at random moments; lock the store once."""
        for n in range(6):
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            if n == 3:  # the store: another writer holds its lock for two seconds
                locker = sqlite3.connect(db, isolation_level=None)
                locker.execute("BEGIN IMMEDIATE")
                await asyncio.sleep(2)
                locker.execute("ROLLBACK")
                locker.close()
                continue
            name = rng.choice(["worker", "ingress"])
            processes[name].send_signal(signal.SIGKILL)
            processes[name].wait(timeout=10)
            kills[name] += 1
            await asyncio.sleep(0.3)
            processes[name] = switchboard([name], env, tmp_path, tmp_path / f"{name}.log")

    try:
        await wait_http(run.base + "/readyz", processes["ingress"])
        fault_task = asyncio.create_task(faults())
        acknowledged: set[str] = set()
        # A steady stream, not one burst, for as long as the faults last: each fault lands
        # on traffic, and nothing is sent after them only to be waited for.
        while not fault_task.done():
            acknowledged |= await run.send_all(run.add(10))
            await asyncio.sleep(0.5)
        await fault_task
        sids = list(run.messages)
        await wait_http(run.base + "/readyz", processes["ingress"])
        acked_during_faults = set(acknowledged)
        await run.redeliver_until_acknowledged(set(sids) - acknowledged, timeout_s=90)
        found = await wait_persisted(store, set(sids), timeout_s=180)
    finally:
        stop(*processes.values())
        store.close()

    print("\n" + report(f"crashes {dict(kills)} and a locked store", run, found))
    assert sum(kills.values()) == 5
    assert acked_during_faults <= set(found)  # what was acknowledged was not lost
    assert set(found) == set(sids)  # redelivered, the rest arrived too
    assert max(found.values()) == 1  # and nothing twice
