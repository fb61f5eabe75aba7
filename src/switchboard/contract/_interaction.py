"""`CustomerInteraction`, the single source of truth for the shape of an interaction, and the
inputs and results of `InteractionWorkflow` and its activities."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

TASK_QUEUE = "switchboard"


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    # Twilio delivers WhatsApp on the Messaging webhook; the person is their phone number.
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    PUSH = "push"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Provider(StrEnum):
    TWILIO = "twilio"
    SENDGRID = "sendgrid"
    PUSH = "push"


class Status(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class IdentityKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    PUSH_USER = "push_user"
    # Callers that are not phone numbers: a SIP URI (`sip:user@host`), a browser or app
    # (`client:identity`).
    SIP = "sip"
    CLIENT = "client"
    # Senders that can be read but not answered: a short code, an alphanumeric sender ID.
    SHORT_CODE = "short_code"
    ALPHANUMERIC = "alphanumeric"
    # A WhatsApp user known by a WhatsApp id rather than a phone number (`whatsapp:US.…`).
    WHATSAPP = "whatsapp"
    # A withheld caller ID: the value is the call's (or message's) own sid, so every callback
    # of that call finds one customer of its own, never anyone else's.
    ANONYMOUS = "anonymous"


# Activity names: workflows refer to activities by name so that workflow modules never import
# the modules that do I/O.
NORMALIZE = "normalize"
DEDUPE = "dedupe"
ROUTE = "route"
PERSIST = "persist"
RECORD_FAILURE = "record_failure"
COPY_MEDIA = "copy_media"

# Error types of permanent (non-retryable) failures.
MALFORMED_PAYLOAD = "MalformedPayload"
# The store refuses the event's values for good (a character its driver cannot encode, a value
# the database rejects): retrying cannot help, so the message ends `failed`.
UNSTORABLE = "UnstorableInteraction"
# Retryable: an event that names no customer arrived before the interaction it belongs to.
AWAITING_INTERACTION = "AwaitingInteraction"
# The `InteractionStatus` of a callback whose interaction never arrived in time: its raw event
# is kept (with the reason) and its workflow completed, to be retried from the failures console.
ORPHANED = "orphaned"
# How long such a callback waits for its interaction when its input does not say.
DEFAULT_ORPHAN_WAIT_S = 24 * 3600.0


def interaction_workflow_id(provider: str, provider_message_id: str) -> str:
    """The workflow id every delivery of one provider message maps to."""
    return f"interaction:{provider}:{provider_message_id}"


def reprocess_workflow_id(batch: str, provider: str, event_key: str) -> str:
    """A reprocessing run's workflow for one archived event: never an original's id."""
    return f"reprocess:{batch}:{provider}:{event_key}"


@dataclass
class MediaRef:
    """A reference to media the provider hosts; the bytes never enter a workflow history."""

    url: str
    content_type: str | None = None
    filename: str | None = None
    size_bytes: int | None = None


@dataclass
class Content:
    text: str | None = None
    subject: str | None = None
    audio_url: str | None = None
    recording_duration_s: float | None = None
    transcript: str | None = None
    media: list[MediaRef] = field(default_factory=list)
    push_payload: dict[str, str] | None = None
    # A call's recording can be "absent" (too short, silent): that is an outcome, not an error.
    recording_status: str | None = None
    # Email threading, from the Message-ID, In-Reply-To and References headers.
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    # Twilio's SHAKEN/STIR verdict on a call's caller ID (`StirVerstat`, e.g.
    # `TN-Validation-Passed-A`), when the call carried one.
    caller_attestation: str | None = None
    # The approved WhatsApp template a reply was sent with (a Content SID, `HX…`).
    template_sid: str | None = None
    # What the provider reported for billing (`switchboard.costs`): an SMS's `NumSegments`, a
    # call's `CallDuration`, and Twilio's `Price` (negative: a charge) with its `PriceUnit`.
    segments: int | None = None
    call_duration_s: float | None = None
    price: float | None = None
    price_unit: str | None = None


@dataclass
class SlaPolicy:
    """The SLA targets of a route and the business-hours calendar they are measured on.

    Plain data, so a conversation carries it in its state: `switchboard.calendars` does the
    arithmetic. Targets in business seconds; a target that is None is not measured.
    """

    first_response_s: float
    next_response_s: float | None = None
    resolution_s: float | None = None
    timezone: str = "UTC"
    # Open days, 0 = Monday; opening hours as "HH:MM" in `timezone`; closed dates (ISO).
    days: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    opens: str = "09:00"
    closes: str = "17:00"
    holidays: list[str] = field(default_factory=list)


@dataclass
class Route:
    queue: str
    priority: int
    # First response due; resolution due (if nobody waits on the customer), on the calendar.
    sla_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla: SlaPolicy | None = None


@dataclass
class Identity:
    kind: IdentityKind
    value: str
    # False for a claim (an email From that passes neither DKIM nor aligned SPF, a push
    # event's phone or email): it finds no customer and owns nothing (`store.customers`).
    verified: bool = True


@dataclass
class CustomerInteraction:
    """One message or call of one customer, on any channel, as the store keeps it."""

    interaction_id: str
    customer_id: str
    channel: Channel
    direction: Direction
    provider: Provider
    provider_message_id: str
    from_address: str
    to_address: str
    occurred_at: datetime
    received_at: datetime
    content: Content
    status: Status
    route: Route
    conversation_id: str | None = None
    persisted_at: datetime | None = None
    delivery_status: str | None = None
    # Whether the identity that placed it was verified (Twilio's From, a signed push user, an
    # email whose From domain passes DKIM or aligned SPF); False: only claimed.
    identity_verified: bool = True
    # Identities the event claimed without proof, kept here instead of on any customer.
    claimed_identities: list[Identity] = field(default_factory=list)


@dataclass
class RawEvent:
    """A webhook exactly as it arrived (after its signature was verified).

    `fields` keeps every form field in order, duplicates and empty values included, so the
    interaction can be re-derived later without losing anything the provider sent.
    """

    provider: Provider
    kind: str
    event_key: str
    received_at: datetime
    url: str
    content_type: str
    fields: list[tuple[str, str]]
    # The delivery's own headers worth keeping: its signature, Twilio's idempotency token.
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class InteractionInput:
    """What the ingress (or `switchboard reprocess`) hands to `InteractionWorkflow`."""

    raw: RawEvent
    # Re-deriving an archived event: what it yields now replaces what it yielded before.
    reprocess: bool = False
    # An event that names no customer (a recording) waits at most this long for its
    # interaction (SWITCHBOARD_ORPHAN_CALLBACK_WAIT_S); None: DEFAULT_ORPHAN_WAIT_S.
    orphan_wait_s: float | None = None


@dataclass
class NormalizedInteraction:
    """A provider event in the contract's terms, before identity resolution and routing."""

    channel: Channel
    direction: Direction
    provider: Provider
    provider_message_id: str
    from_address: str
    to_address: str
    occurred_at: datetime
    received_at: datetime
    content: Content
    # None for an event that names no customer (a call's recording): it joins the interaction
    # already stored under its key.
    customer_identity: Identity | None
    # The provider's own status of the message or call (delivered, completed, …), if the
    # event carries one.
    delivery_status: str | None = None
    # Further identities the event claims for the same person (a push event's phone or
    # email): claims, whatever their `verified` says, never linked to anyone by the event.
    linked_identities: list[Identity] = field(default_factory=list)

    def complete(
        self, interaction_id: str, customer_id: str, route: Route, status: Status
    ) -> CustomerInteraction:
        """The interaction, once identity resolution and routing have filled in the rest."""
        return CustomerInteraction(
            interaction_id=interaction_id,
            customer_id=customer_id,
            channel=self.channel,
            direction=self.direction,
            provider=self.provider,
            provider_message_id=self.provider_message_id,
            from_address=self.from_address,
            to_address=self.to_address,
            occurred_at=self.occurred_at,
            received_at=self.received_at,
            content=self.content,
            status=status,
            route=route,
            delivery_status=self.delivery_status,
            identity_verified=self.identity_verified,
            claimed_identities=self.claims,
        )

    @property
    def identity_verified(self) -> bool:
        """Whether the identity that placed it is verified (an event naming none: yes)."""
        return self.customer_identity is None or self.customer_identity.verified

    @property
    def claims(self) -> list[Identity]:
        """The identities it claims without proof: an unverified sender, a push event's
        phone or email."""
        unverified = [] if self.identity_verified else [self.customer_identity]
        return [
            Identity(i.kind, i.value, verified=False)
            for i in [*unverified, *self.linked_identities]
            if i is not None
        ]


@dataclass
class DedupeInput:
    provider: Provider
    provider_message_id: str
    customer_identity: Identity | None
    linked_identities: list[Identity] = field(default_factory=list)


@dataclass
class DedupeResult:
    customer_id: str
    existing_interaction_id: str | None


@dataclass
class RouteInput:
    channel: Channel
    received_at: datetime
    content: Content
    from_address: str = ""


@dataclass
class PersistInput:
    interaction: CustomerInteraction
    raw: RawEvent
    rederive: bool = False


@dataclass
class PersistResult:
    interaction_id: str
    persisted_at: datetime
    created: bool
    # Stored before, still waiting for its conversation (`processing`): a run whose first
    # workflow task timed out after persist, before the hand-off, runs persist again and
    # must still hand the interaction off. False in histories recorded before it existed.
    awaiting_thread: bool = False
    # Files of the interaction still only at Twilio (MMS media, a recording): the workflow
    # copies them (`copy_media`). 0 in histories recorded before media were copied.
    media_to_copy: int = 0
    # The conversation persist threaded it into, in the same transaction, because it changes
    # nothing the conversation's workflow keeps (`store.conversation_threading`): no signal.
    # None: the workflow signals the conversation (or it needs none).
    threaded_into: str | None = None


@dataclass
class CopyMediaInput:
    """The interaction whose files at Twilio `copy_media` copies (read from the store)."""

    interaction_id: str


@dataclass
class CopyMediaResult:
    copied: int
    # Files that could not be copied for good (a 404, too large): recorded in the store.
    failed: int = 0


@dataclass
class FailureInput:
    raw: RawEvent
    reason: str
    # The interaction the store refused, when the pipeline got that far: kept as a `failed`
    # row (its values made storable), so the store counts it.
    interaction: CustomerInteraction | None = None


@dataclass
class InteractionResult:
    interaction_id: str
    customer_id: str
    created: bool
    conversation_id: str | None = None
    # The event's interaction never arrived: nothing was stored but the raw event.
    orphaned: bool = False


__all__ = [
    "AWAITING_INTERACTION",
    "COPY_MEDIA",
    "DEDUPE",
    "DEFAULT_ORPHAN_WAIT_S",
    "MALFORMED_PAYLOAD",
    "NORMALIZE",
    "ORPHANED",
    "PERSIST",
    "RECORD_FAILURE",
    "ROUTE",
    "TASK_QUEUE",
    "UNSTORABLE",
    "Channel",
    "Content",
    "CopyMediaInput",
    "CopyMediaResult",
    "CustomerInteraction",
    "DedupeInput",
    "DedupeResult",
    "Direction",
    "FailureInput",
    "Identity",
    "IdentityKind",
    "InteractionInput",
    "InteractionResult",
    "MediaRef",
    "NormalizedInteraction",
    "PersistInput",
    "PersistResult",
    "Provider",
    "RawEvent",
    "Route",
    "RouteInput",
    "SlaPolicy",
    "Status",
    "interaction_workflow_id",
    "reprocess_workflow_id",
]
