from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import RouteActivities, normalize
from switchboard.calendars import add_business_time
from switchboard.contract import (
    MALFORMED_PAYLOAD,
    Channel,
    Content,
    Direction,
    IdentityKind,
    RouteInput,
)
from tests.support.builders import sms_input, sms_raw
from tests.support.settings import timeless_rules


def test_sms_becomes_an_inbound_sms_interaction_of_the_sender() -> None:
    inp = sms_input(sender="+1 415 555 0123", body="Where is my order?")
    draft = ActivityEnvironment().run(normalize, inp)
    assert draft.channel is Channel.SMS
    assert draft.direction is Direction.INBOUND
    assert draft.from_address == "+14155550123"
    assert draft.to_address == "+14155550100"
    assert draft.content.text == "Where is my order?"
    assert draft.customer_identity.kind is IdentityKind.PHONE
    assert draft.customer_identity.value == "+14155550123"
    assert draft.occurred_at == draft.received_at == inp.raw.received_at
    assert draft.occurred_at.tzinfo is not None


def test_malformed_payload_fails_permanently_with_the_reason() -> None:
    raw = sms_raw()
    raw.fields = [(k, v) for k, v in raw.fields if k != "MessageSid"]
    from switchboard.contract import InteractionInput

    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(normalize, InteractionInput(raw=raw))
    assert info.value.non_retryable
    assert info.value.type == MALFORMED_PAYLOAD
    assert "MessageSid" in info.value.message


def test_sms_is_routed_by_the_rules_with_sla_targets() -> None:
    raw = sms_raw()
    route = RouteActivities(timeless_rules()).route
    result = ActivityEnvironment().run(
        route, RouteInput(Channel.SMS, raw.received_at, Content(text="hello"), "+14155550123")
    )
    assert result.queue == "messaging"
    # The targets are business time on the rules' calendar (New York, weekdays 09:00-17:00).
    hours = timeless_rules().hours
    assert result.sla_due_at == add_business_time(raw.received_at, timedelta(hours=1), hours)
    assert result.resolution_due_at == add_business_time(raw.received_at, timedelta(days=1), hours)
    assert result.sla is not None and result.sla.timezone == "America/New_York"
    assert (result.sla.first_response_s, result.sla.next_response_s) == (3600, 3600)
    billing = ActivityEnvironment().run(
        route, RouteInput(Channel.SMS, raw.received_at, Content(text="I want a REFUND"), "")
    )
    assert billing.queue == "billing"
