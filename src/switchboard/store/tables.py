"""The operational store's tables (SQLAlchemy Core). Migrations in `migrations/` create them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from switchboard.store.timestamps import UTCDateTime

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(36), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # Set when the customer was merged into another (`store.merges`): the survivor holds
    # everything, this id answers with it.
    Column("merged_into", String(36)),
    Column("merged_at", UTCDateTime()),
)

identities = Table(
    "identities",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.customer_id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Who verified an identity linked by hand (`key:<name>`, `cli:<user>`); None for one a
    # provider verified (Twilio's From, a signed push user, an authenticated email).
    Column("linked_by", String(320)),
    Index("ix_identities_customer_id", "customer_id"),
)

interactions = Table(
    "interactions",
    metadata,
    Column("interaction_id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.customer_id"), nullable=False),
    Column("conversation_id", String(64)),
    Column("channel", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_message_id", String(255), nullable=False),
    Column("from_address", String(320), nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("persisted_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("delivery_status", String(32)),
    Column("content", JSON, nullable=False),
    Column("route_queue", String(64), nullable=False),
    Column("route_priority", Integer, nullable=False),
    Column("sla_due_at", UTCDateTime()),
    # The route's SLA targets and calendar (`SlaPolicy` as JSON), for the conversation.
    Column("route_sla", JSON),
    # Last insert or merge: exports pick up changed rows by it.
    Column("updated_at", UTCDateTime()),
    # False when the identity that placed it was only claimed; the claims themselves.
    Column("identity_verified", Boolean, nullable=False, server_default=true()),
    Column("claimed_identities", JSON),
    UniqueConstraint("provider", "provider_message_id", name="uq_interactions_provider_message"),
    Index("ix_interactions_customer_timeline", "customer_id", "occurred_at", "interaction_id"),
    Index("ix_interactions_updated_at", "updated_at"),
    Index("ix_interactions_occurred_at", "occurred_at", "channel"),
)

raw_events = Table(
    "raw_events",
    metadata,
    Column("raw_event_id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("event_key", String(255), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("url", Text, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("error", Text),
    Column("headers", JSON),
    # The interaction the event created or merged into, set when it is persisted (None for an
    # event that never became one: malformed, orphaned). Erasure, retention and merge find a
    # customer's raw events by it, never by their keys.
    Column("interaction_id", String(36)),
    UniqueConstraint("provider", "kind", "event_key", name="uq_raw_events_key"),
    Index("ix_raw_events_interaction_id", "interaction_id"),
)

# Every blob and provider-hosted file of an interaction: an email's attachments and its raw
# MIME, an MMS's media, a call's recording. Written when the interaction is persisted; a Twilio
# file (`source_url`) is copied into the blob store (`blob_ref`) by the interaction's workflow.
# `position` numbers what `GET /api/interactions/{id}/media/{index}` serves (None: the raw
# email, kept but not served). Erasure, retention and merge work from these rows.
media = Table(
    "media",
    metadata,
    Column("interaction_id", String(36), primary_key=True),
    # What this file is within its interaction: `attachment:<n>`, `raw`, or the Twilio URL.
    Column("media_key", String(512), primary_key=True),
    Column("position", Integer),
    Column("kind", String(16), nullable=False),
    Column("content_type", String(255)),
    Column("filename", String(255)),
    Column("size_bytes", Integer),
    Column("blob_ref", String(80)),
    # The provider's copy (a Twilio Media or Recording URL), deleted there at erasure.
    Column("source_url", Text),
    # Why the copy failed for good (a 404, too large); the record stands without it.
    Column("error", String(200)),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_media_blob_ref", "blob_ref"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.customer_id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("assignee", String(128)),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("first_response_due_at", UTCDateTime()),
    Column("first_response_at", UTCDateTime()),
    Column("sla_breached", Boolean, nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("resolution_code", String(64)),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Agent actions: labels (a JSON list), the resolution's disposition, the customer's score.
    Column("labels", JSON, nullable=False, server_default="[]"),
    Column("disposition", String(64)),
    Column("csat_score", Integer),
    # The customer whose conversation workflow holds it, once a merge moved it to another
    # customer (None: `customer_id`'s own). Agent actions are sent to that workflow.
    Column("workflow_customer_id", String(36)),
    # The latest activity, and whether an agent replied after the customer's last message
    # (NULL: unknown); what persist threads by (`store.conversation_threading`).
    Column("last_activity_at", UTCDateTime()),
    Column("awaiting_customer", Boolean),
    Index("ix_conversations_customer_id", "customer_id"),
    Index("ix_conversations_status_queue", "status", "queue"),
)

# Every state change of a conversation, so every metric can be recomputed from events.
conversation_events = Table(
    "conversation_events",
    metadata,
    # Assigned by the workflow, so a retried activity writes each event once.
    Column("event_id", String(36), primary_key=True),
    Column("conversation_id", String(36), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("detail", JSON, nullable=False),
    # Who caused it (`key:<name>`, `oidc:<sub>`); empty for the customer's messages and timers.
    Column("actor", String(320)),
    Index("ix_conversation_events_conversation", "conversation_id", "at"),
)

# Agent replies: written before they are sent, so a crash between the two loses nothing.
outbox = Table(
    "outbox",
    metadata,
    Column("outbox_id", String(36), primary_key=True),
    Column("conversation_id", String(36), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("body", Text, nullable=False),
    Column("subject", Text),
    Column("status", String(16), nullable=False),
    Column("provider_message_id", String(255)),
    Column("error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
)

# Named API keys: only a hash of each key is kept; the key itself is shown once, at creation.
api_keys = Table(
    "api_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
)

# Who changed what through the API: never a body, an address or a message's text.
audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(320)),
    Column("role", String(16)),
    Column("method", String(8), nullable=False),
    Column("route", String(255), nullable=False),
    Column("target", String(255)),
    Column("status", Integer, nullable=False),
    Column("detail", JSON),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
)

# Events out (issue 21): who subscribes to what, the events themselves, and each delivery.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", String(36), primary_key=True),
    Column("url", Text, nullable=False),
    # Event types, or ["*"] for all of them.
    Column("events", JSON, nullable=False),
    Column("description", Text),
    Column("include_content", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(200)),
    # Kept as is: every delivery signs with it (HMAC needs the secret itself, not a hash).
    Column("secret", String(128), nullable=False),
    # After a rotation the old secret signs too, until it expires.
    Column("previous_secret", String(128)),
    Column("previous_secret_expires_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The endpoint's health, shared by every deliverer (`switchboard.store.breaker`): failed
    # attempts in a row, since when none succeeded, and its circuit breaker (`closed`, `open`
    # until `breaker_until`, `half_open` while one probe holds it until `breaker_until`).
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("failing_since", UTCDateTime()),
    Column("breaker_state", String(16), nullable=False, server_default="closed"),
    Column("breaker_until", UTCDateTime()),
)

# Every event emitted while any subscription exists. No message content: a subscription that
# includes content reads it from `interactions` when it is sent, so erasure reaches it there.
outbound_events = Table(
    "outbound_events",
    metadata,
    # Derived from what happened (not random), so a repeated activity writes it once.
    Column("event_id", String(36), primary_key=True),
    Column("type", String(48), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("conversation_id", String(36)),
    Column("interaction_id", String(36)),
    Column("sequence", Integer),
    Column("body", JSON, nullable=False),
    # Set once deliveries to the subscriptions of the moment have been started.
    Column("dispatched_at", UTCDateTime()),
    Index("ix_outbound_events_created_at", "created_at"),
    Index("ix_outbound_events_dispatched_at", "dispatched_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column(
        "subscription_id",
        String(36),
        ForeignKey("subscriptions.subscription_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(48), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # Attempts in the current round of the retry schedule (a retry or replay starts a new one);
    # picks the wait before the next attempt.
    Column("schedule_step", Integer, nullable=False, server_default="0"),
    Column("last_status_code", Integer),
    Column("last_latency_ms", Integer),
    # Why the last attempt failed, in a few words (never the receiver's whole answer).
    Column("last_error", String(200)),
    Column("response_excerpt", String(200)),
    Column("next_attempt_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    UniqueConstraint("subscription_id", "event_id", name="uq_deliveries_subscription_event"),
    Index("ix_deliveries_subscription_created", "subscription_id", "created_at"),
    # The deliverer's question, many times a second: which of a subscription's are due.
    Index("ix_deliveries_due", "subscription_id", "status", "next_attempt_at"),
)

# Erasure (issue 18). A keyed hash of each erased provider key, so a redelivery of an erased
# message is acknowledged and dropped instead of coming back; the key itself is not kept.
erased_keys = Table(
    "erased_keys",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("erased_at", UTCDateTime(), nullable=False),
)

# Export partitions that held erased rows: the next export rewrites them, then forgets them.
export_rewrites = Table(
    "export_rewrites",
    metadata,
    Column("dataset", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("part", String(32), primary_key=True),
    Column("requested_at", UTCDateTime(), nullable=False),
)

# Refused deliveries (issue 19): webhook requests answered with an error, counted per minute,
# endpoint and reason by the ingress (upsert-increment), never their bodies.
refused_deliveries = Table(
    "refused_deliveries",
    metadata,
    Column("minute", UTCDateTime(), primary_key=True),
    Column("provider", String(16), primary_key=True),
    Column("endpoint", String(64), primary_key=True),
    Column("reason", String(16), primary_key=True),
    Column("refused", Integer, nullable=False),
    # When the row last grew: the export rewrites the days whose rows grew since its watermark.
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_refused_deliveries_updated_at", "updated_at"),
)

# Idempotency-Key (issue 34): a state-changing API call's first answer, per credential and key,
# kept 24 h so a retry gets it again instead of doing the work twice. `status` is null while
# the first call is in progress. The answer is sealed with the payload keys (it can hold a
# secret shown once, e.g. a new API key).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", String(255), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),
    Column("answer", LargeBinary),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# Rate limits on PostgreSQL (issue 34): requests per credential, route group and fixed window,
# shared by every ingress replica (upsert-increment).
rate_limit_windows = Table(
    "rate_limit_windows",
    metadata,
    Column("actor", String(255), primary_key=True),
    Column("bucket", String(16), primary_key=True),
    Column("window_start", UTCDateTime(), primary_key=True),
    Column("requests", Integer, nullable=False),
)

# Merge suggestions (issue 30): an interaction claimed an identity another customer owns.
# Only the claim's kind is kept here; the claimed value is on the interaction.
merge_suggestions = Table(
    "merge_suggestions",
    metadata,
    Column("suggestion_id", String(36), primary_key=True),
    # The customer the interaction went to, and the owner of the identity it claimed.
    Column("customer_id", String(36), nullable=False),
    Column("other_customer_id", String(36), nullable=False),
    Column("claim_kind", String(16), nullable=False),
    Column("interaction_id", String(36), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("dismissed_at", UTCDateTime()),
    Column("dismissed_by", String(320)),
    UniqueConstraint(
        "interaction_id", "other_customer_id", "claim_kind", name="uq_merge_suggestions_claim"
    ),
    Index("ix_merge_suggestions_created_at", "created_at"),
)

# Merges and splits, so the next export recomputes both customers' figures.
customer_changes = Table(
    "customer_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("other_customer_id", String(36), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(320)),
    Index("ix_customer_changes_at", "at"),
)
