"""Fixtures of the workflow tests: Temporal's time-skipping test server and a worker on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.worker import build_worker
from switchboard.store import Store
from tests.support.settings import timeless_rules
from tests.support.time_skipping import POLICY, STARTED, start_time_skipping


@pytest.fixture(scope="module")
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, one per module."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
async def skipping_worker(
    skipping: WorkflowEnvironment, store: Store, task_queue: str
) -> AsyncIterator[Worker]:
    """The worker on the time-skipping server; it terminates the conversations in `STARTED`."""
    with ThreadPoolExecutor(8) as executor:
        async with build_worker(
            skipping.client, store, task_queue, executor, 8, POLICY, rules=timeless_rules()
        ) as w:
            yield w
            while STARTED:
                await STARTED.pop().terminate("test finished")
