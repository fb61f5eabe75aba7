"""Custom search attributes engineers filter on in Temporal UI."""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
PROVIDER = SearchAttributeKey.for_keyword("Provider")
ROUTE_QUEUE = SearchAttributeKey.for_keyword("RouteQueue")
INTERACTION_STATUS = SearchAttributeKey.for_keyword("InteractionStatus")
CONVERSATION_ID = SearchAttributeKey.for_keyword("ConversationId")
CONVERSATION_STATUS = SearchAttributeKey.for_keyword("ConversationStatus")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")

ALL = (
    CUSTOMER_ID,
    CHANNEL,
    PROVIDER,
    ROUTE_QUEUE,
    INTERACTION_STATUS,
    CONVERSATION_ID,
    CONVERSATION_STATUS,
    SLA_BREACHED,
)


async def ensure_registered(client: Client) -> list[str]:
    """Register the attributes the namespace lacks (a new cluster); return the names added.

    The embedded dev server registers them at start; a deployed cluster gets them from the
    first worker. Temporal Cloud refuses the operator call: there they are added in its UI.
    """
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in ALL
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
