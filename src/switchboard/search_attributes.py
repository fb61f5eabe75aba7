"""Custom search attributes engineers filter on in Temporal UI (registered at server start)."""

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
