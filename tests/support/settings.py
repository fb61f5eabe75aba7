"""Settings and routing rules the tests run with, independent of a developer's .env."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from switchboard import routing
from switchboard.routing import Rules
from switchboard.settings import IngressSettings
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.keys import PAYLOAD_KEYS

API_KEY = "test-api-key-" + uuid.uuid4().hex


def ingress_settings(task_queue: str, **overrides: Any) -> IngressSettings:
    values: dict[str, Any] = {
        "public_url": FIXTURE_PUBLIC_URL,
        "twilio_auth_token": FIXTURE_TOKEN,
        "api_keys": API_KEY,
        "task_queue": task_queue,
        "temporal_start_timeout_s": 3.0,
        "payload_keys": PAYLOAD_KEYS,
        # The Host httpx's and Starlette's test clients send.
        "allowed_hosts": "testserver",
    }
    values.update(overrides)
    # `_env_file=None`: a developer's .env must not change what the tests check.
    return IngressSettings(_env_file=None, **values)  # type: ignore[call-arg]


def timeless_rules() -> Rules:
    """The shipped rules without those that depend on the time of day, so tests are stable."""
    rules = routing.load()
    return replace(rules, rules=tuple(r for r in rules.rules if r.business_hours is None))


# The Temporal namespace of the test that replays "the most recent executions" of the server.
REPLAY_NAMESPACE = "replay-check"
