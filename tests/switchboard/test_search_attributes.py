"""A deployed cluster gets Switchboard's search attributes from the first worker."""

from __future__ import annotations

import asyncio
import uuid

from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from switchboard import search_attributes


async def test_missing_attributes_are_registered_once(temporal_env: WorkflowEnvironment) -> None:
    namespace = "fresh-" + uuid.uuid4().hex[:8]
    service = temporal_env.client.service_client
    await service.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    client = Client(service, namespace=namespace)
    for _ in range(50):  # a new namespace takes a moment to reach every service
        try:
            added = await search_attributes.ensure_registered(client)
            break
        except Exception:
            await asyncio.sleep(0.2)
    assert added == sorted(key.name for key in search_attributes.ALL)
    listed = await service.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {key.name for key in search_attributes.ALL} <= set(listed.custom_attributes)
    assert await search_attributes.ensure_registered(client) == []  # idempotent
