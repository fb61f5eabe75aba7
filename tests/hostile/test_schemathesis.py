"""Schemathesis against the OpenAPI schema: every operation, generated requests, never a 5xx.

The real app on a real store and the real Temporal dev server. Webhooks are fuzzed without a
valid signature (a generator cannot sign), so they exercise the checks before it; the API is
fuzzed with a valid key, so its handlers see every shape of input the schema allows and more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from ingress import create_app
from tests.support.keys import KEYRING
from tests.support.settings import API_KEY, ingress_settings

pytestmark = pytest.mark.slow  # a minute on a busy 2-core machine: not in `make test-fast`

# 30 per operation with inputs: over 900 generated requests on today's 40 operations. At 100
# (3,010 requests) every (operation, status) pair answered, 46 of them, had already come up
# within the first 20 of each operation's examples (derandomized: the same examples each run).
EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def app_client(
    temporal_env: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("fuzz")
    settings_ = ingress_settings(
        "tq-fuzz",
        data_dir=data,
        database_url=f"sqlite:///{data / 'switchboard.db'}",
        temporal_address=temporal_env.client.service_client.config.target_host,  # type: ignore[attr-defined]
        sendgrid_inbound_user="parse",
        sendgrid_inbound_password="fuzz-password",
        push_webhook_secret="whsec_ZnV6ei1zZWNyZXQtZm9yLXRoZS10ZXN0cy0xMjM0",
    )
    from switchboard.store import Store

    store = Store.from_url(settings_.resolved_database_url())
    store.migrate()
    store.close()
    # The app creates its own Temporal client and store in its lifespan, on TestClient's loop.
    with TestClient(create_app(settings_, KEYRING), raise_server_exceptions=False) as client:
        yield client


def test_no_generated_request_gets_a_server_error(app_client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app_client.app)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    calls: Counter[str] = Counter()
    server_errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(session=app_client, headers=headers)
            label = case.operation.label
            calls[label] += 1
            if response.status_code >= 500:
                server_errors.append(f"{label}: {response.status_code} {response.text[:200]}")

        fuzz()
    print(f"\nschemathesis: {sum(calls.values())} requests over {len(operations)} operations")
    assert len(operations) >= 15 and sum(calls.values()) >= 20 * len(operations)
    assert server_errors == []
