"""Merge and split of customers, and merge suggestions, at the store's seam, on each backend:
timelines, conversations, the export and `switchboard metrics --json` against figures computed
by hand before and after.

Two people, dated back from now so FCR is decided whatever day the test runs:

- Quinn emails (q@example.com) 20 days ago: conversation k1, answered after 30 min, resolved
  after 1 h. Quinn never writes again: k1's FCR is true.
- Pat texts (+14155550301) 15 days ago: k2, answered after 30 min, resolved after 1 h; no
  later contact: FCR true. Before: 2 conversations, FCR 2 of 2.
- Merged (Quinn into Pat), Pat's text 15 days ago is a return 4 days 23 h after k1 was
  resolved, inside the 7-day window: k1's FCR false, FCR 1 of 2.
- Split (Quinn's address back out), k1 is a new customer's again: FCR 2 of 2.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from analytics import export, quality
from analytics.export import erased
from analytics.privacy import Privacy
from runtime.cli import app
from switchboard import routing
from switchboard.contract import (
    Channel,
    Content,
    ConversationEvent,
    ConversationState,
    ConversationStatus,
    CustomerInteraction,
    Direction,
    EventKind,
    Identity,
    IdentityKind,
    Provider,
    Route,
    Status,
)
from switchboard.store import ConversationStore, Store
from switchboard.store.customers import claim_customer_id
from switchboard.store.erasure import Erasure
from switchboard.store.merges import Conflict, CustomerMerges, NotFound
from switchboard.store.suggestions import MergeSuggestions
from switchboard.store.tables import (
    conversation_events,
    customer_changes,
    customers,
    merge_suggestions,
)
from tests.support.builders import sms_raw

NOW = datetime.now(UTC).replace(microsecond=0)
PAT_PHONE = Identity(IdentityKind.PHONE, "+14155550301")
QUINN_EMAIL = Identity(IdentityKind.EMAIL, "q@example.com")
MINUTE = timedelta(minutes=1)


def conversation(
    store: Store, customer_id: str, conversation_id: str, address: str, opened: datetime
) -> None:
    """An inbound message, a reply after 30 min, resolved after 1 h; threaded as the
    conversation workflow records them."""
    channel = Channel.EMAIL if "@" in address else Channel.SMS
    messages = [(Direction.INBOUND, opened), (Direction.OUTBOUND, opened + 30 * MINUTE)]
    for direction, at in messages:
        interaction_id = str(uuid.uuid4())
        inbound = direction is Direction.INBOUND
        store.persist_interaction(
            CustomerInteraction(
                interaction_id=interaction_id,
                customer_id=customer_id,
                channel=channel,
                direction=direction,
                provider=Provider.TWILIO,
                provider_message_id=f"SM{interaction_id}",
                from_address=address if inbound else "support",
                to_address="support" if inbound else address,
                occurred_at=at,
                received_at=at,
                content=Content(text="hello"),
                status=Status.COMPLETED,
                route=Route("support", 1),
                conversation_id=conversation_id,
            ),
            sms_raw(),
        )
    events = [
        (EventKind.OPENED, opened, {"channel": str(channel), "queue": "support"}),
        (EventKind.INTERACTION, opened, {"direction": "inbound"}),
        (EventKind.ASSIGNED, opened, {"agent": "ana"}),
        (EventKind.FIRST_RESPONSE, opened + 30 * MINUTE, {}),
        (EventKind.INTERACTION, opened + 30 * MINUTE, {"direction": "outbound"}),
        (EventKind.RESOLVED, opened + 60 * MINUTE, {"code": "answered"}),
    ]
    ConversationStore(store.engine).record(
        customer_id,
        ConversationState(
            conversation_id=conversation_id,
            status=ConversationStatus.RESOLVED,
            queue="support",
            opened_at=opened,
            resolved_at=opened + 60 * MINUTE,
        ),
        [
            ConversationEvent(str(uuid.uuid4()), conversation_id, customer_id, kind, at, n, d)
            for n, (kind, at, d) in enumerate(events)
        ],
        [],
    )


def run_export(store: Store, root: Path) -> Path:
    """Stage, validate and publish the next export, as the export workflow does."""
    staged = export.stage(store.engine, root, Privacy(b"k"), routing.load().hours, NOW)
    assert staged.changed
    results = quality.validate_frames("t", quality.read_batch(staged.path, staged.partitions))
    assert quality.failures(results) == []
    published = export.publish(root, staged, quality.as_dicts(results))
    if staged.watermark.rewrites_until is not None:
        erased.settle(store.engine, root, published, staged.watermark.rewrites_until)
    return published


def exported(snapshot: Path) -> dict[str, object]:
    """What the published export says: each conversation's customer and FCR, the customers
    of the interactions and conversation events, and the overall mart's FCR rate."""
    table = pq.read_table(snapshot / "conversations" / "data.parquet").to_pylist()
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        rate = con.execute("SELECT fcr_rate FROM resolution_overall").fetchone()
        interactions = con.execute(
            "SELECT DISTINCT customer_id FROM read_parquet(?, hive_partitioning = true)",
            [str(snapshot / "interactions" / "*" / "*" / "data.parquet")],
        ).fetchall()
        events = con.execute(
            "SELECT DISTINCT customer_id FROM read_parquet(?, hive_partitioning = true)",
            [str(snapshot / "conversation_events" / "*" / "data.parquet")],
        ).fetchall()
    finally:
        con.close()
    return {
        "fcr": {r["conversation_id"]: (r["customer_id"], r["fcr"]) for r in table},
        "fcr_rate": rate[0] if rate else None,
        "interaction_customers": sorted(c for (c,) in interactions),
        "event_customers": sorted(c for (c,) in events),
    }


def metrics_json(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", store.engine.url.render_as_string(False))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def timeline(store: Store, customer_id: str) -> list[str]:
    return sorted(i.from_address for i in store.list_interactions(store.survivor(customer_id), 50))


def test_merge_then_split_round_trips_timelines_conversations_exports_and_metrics(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "exports"
    pat, quinn = store.resolve_customer(PAT_PHONE), store.resolve_customer(QUINN_EMAIL)
    conversation(store, quinn, "k1", QUINN_EMAIL.value, NOW - timedelta(days=20))
    conversation(store, pat, "k2", PAT_PHONE.value, NOW - timedelta(days=15))

    before = exported(run_export(store, root))
    assert before["fcr"] == {"k1": (quinn, True), "k2": (pat, True)}
    assert before["fcr_rate"] == 1.0
    assert metrics_json(store, tmp_path, monkeypatch)["fcr_rate"] == 1.0
    assert timeline(store, quinn) == [QUINN_EMAIL.value, "support"]

    merges = CustomerMerges(store.engine)
    survivor = merges.merge(pat, quinn, "key:desk")
    assert survivor["customer_id"] == pat and survivor["merged_into"] is None
    assert {i["value"] for i in survivor["identities"]} == {PAT_PHONE.value, QUINN_EMAIL.value}
    assert merges.merge(pat, quinn, "key:desk")["customer_id"] == pat  # idempotent
    merged = store.get_customer(quinn)
    assert merged is not None and merged["merged_into"] == pat and merged["identities"] == []
    # Quinn's timeline is Pat's, which holds both.
    assert timeline(store, quinn) == timeline(store, pat)
    assert timeline(store, pat) == sorted(
        [PAT_PHONE.value, QUINN_EMAIL.value, "support", "support"]
    )
    assert store.find_customer(QUINN_EMAIL)["customer_id"] == pat  # type: ignore[index]
    k1 = ConversationStore(store.engine).get("k1")
    assert k1 is not None and k1["customer_id"] == pat
    # Quinn's conversation workflow still holds k1: agent actions go there.
    assert k1["workflow_customer_id"] == quinn

    after_merge = exported(run_export(store, root))
    assert after_merge["fcr"] == {"k1": (pat, False), "k2": (pat, True)}
    assert after_merge["fcr_rate"] == 0.5
    assert after_merge["interaction_customers"] == [pat]
    assert after_merge["event_customers"] == [pat]
    assert metrics_json(store, tmp_path, monkeypatch)["fcr_rate"] == 0.5

    split = merges.split(pat, [QUINN_EMAIL], "key:desk")
    assert (split.interactions, split.conversations) == (2, 1)
    back = split.customer_id
    assert timeline(store, back) == [QUINN_EMAIL.value, "support"]
    assert timeline(store, pat) == [PAT_PHONE.value, "support"]
    assert store.find_customer(QUINN_EMAIL)["customer_id"] == back  # type: ignore[index]

    after_split = exported(run_export(store, root))
    assert after_split["fcr"] == {"k1": (back, True), "k2": (pat, True)}
    assert after_split["fcr_rate"] == 1.0
    assert after_split["interaction_customers"] == sorted([pat, back])
    assert after_split["event_customers"] == sorted([pat, back])
    assert metrics_json(store, tmp_path, monkeypatch)["fcr_rate"] == 1.0
    with store.engine.connect() as conn:
        logged = conn.execute(
            select(customer_changes.c.kind, customer_changes.c.actor).order_by(
                customer_changes.c.change_id
            )
        ).all()
    assert [tuple(r) for r in logged] == [("merged", "key:desk"), ("split", "key:desk")]


def test_merges_refuse_what_cannot_be_done(store: Store) -> None:
    merges = CustomerMerges(store.engine)
    ana = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550311"))
    ben = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550312"))
    cy = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550313"))
    with pytest.raises(Conflict):
        merges.merge(ana, ana, None)
    with pytest.raises(NotFound):
        merges.merge(ana, str(uuid.uuid4()), None)
    with pytest.raises(NotFound):
        merges.merge(str(uuid.uuid4()), ana, None)
    merges.merge(ana, ben, None)
    with pytest.raises(Conflict):  # Ben is Ana's now
        merges.merge(cy, ben, None)
    with pytest.raises(Conflict):  # into a merged customer
        merges.merge(ben, cy, None)
    with pytest.raises(Conflict):  # an identity that is not the customer's
        merges.split(cy, [Identity(IdentityKind.PHONE, "+14155550311")], None)
    # Cy merged into Ana later: Ben's and Cy's ids both point straight at Ana.
    merges.merge(ana, cy, None)
    assert store.survivor(ben) == store.survivor(cy) == ana


def test_a_claim_of_someone_elses_identity_is_a_suggestion_until_merged(store: Store) -> None:
    owner = store.resolve_customer(PAT_PHONE)
    claim = Identity(IdentityKind.PHONE, PAT_PHONE.value, verified=False)
    claimant = store.resolve_customer(claim, claim_customer_id("push", "r1"))
    assert claimant != owner
    assert store.resolve_customer(claim, claim_customer_id("push", "r1")) == claimant  # again
    ids = []
    for key in ("r1", "r2"):  # the app sends the same claim with every event
        ids.append(str(uuid.uuid4()))
        store.persist_interaction(
            CustomerInteraction(
                interaction_id=ids[-1],
                customer_id=claimant,
                channel=Channel.PUSH,
                direction=Direction.INBOUND,
                provider=Provider.PUSH,
                provider_message_id=key,
                from_address="user-1",
                to_address="app",
                occurred_at=NOW,
                received_at=NOW,
                content=Content(text="hi"),
                status=Status.COMPLETED,
                route=Route("support", 1),
                identity_verified=True,
                claimed_identities=[claim],
            ),
            sms_raw(),
        )
    interaction_id = ids[0]
    stored = store.get_interaction(interaction_id)
    assert stored is not None and stored.claimed_identities == [claim]
    assert store.find_customer(PAT_PHONE)["customer_id"] == owner  # type: ignore[index]
    found = MergeSuggestions(store.engine)
    (suggestion,) = found.suggestions(10)
    assert (suggestion["customer_id"], suggestion["other_customer_id"]) == (claimant, owner)
    assert (suggestion["claim_kind"], suggestion["interaction_id"]) == ("phone", interaction_id)
    # Merging the two answers it: no longer open, dismissed by whoever merged.
    CustomerMerges(store.engine).merge(owner, claimant, "key:desk")
    assert found.suggestions(10) == [] and len(found.suggestions(10, True)) == 1
    dismissed = found.dismiss(suggestion["suggestion_id"], "key:other")
    assert dismissed is not None and dismissed["dismissed_by"] == "key:desk"
    assert found.dismiss("nope", None) is None


def test_erasing_a_survivor_erases_what_merges_left(store: Store, tmp_path: Path) -> None:
    from switchboard.blobs import BlobStore

    merges = CustomerMerges(store.engine)
    ana = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550321"))
    ben = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550322"))
    merges.merge(ana, ben, "key:desk")
    erasure = Erasure(store.engine, b"k" * 32, BlobStore(tmp_path / "blobs"))
    assert erasure.erase(ana) is not None
    with store.engine.connect() as conn:
        left = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (customers, customer_changes, merge_suggestions)
        }
    assert left == {"customers": 0, "customer_changes": 0, "merge_suggestions": 0}
    with pytest.raises(NotFound):
        merges.merge(ana, ben, None)


def test_a_moved_conversations_workflow_records_under_its_customer_now(store: Store) -> None:
    pat, quinn = store.resolve_customer(PAT_PHONE), store.resolve_customer(QUINN_EMAIL)
    conversation(store, quinn, "k1", QUINN_EMAIL.value, NOW - timedelta(days=2))
    conversations = ConversationStore(store.engine)

    def assign(agent: str) -> str:
        """An assignment recorded by Quinn's workflow, which holds k1: whose event it is."""
        state = ConversationState(
            conversation_id="k1",
            status=ConversationStatus.OPEN,
            queue="support",
            opened_at=NOW,
            assignee=agent,
        )
        event = ConversationEvent(str(uuid.uuid4()), "k1", quinn, EventKind.ASSIGNED, NOW)
        conversations.record(quinn, state, [event], [])
        found = conversations.get("k1")
        assert found is not None and found["assignee"] == agent
        assert found["workflow_customer_id"] == quinn
        with store.engine.connect() as conn:
            return str(
                conn.execute(
                    select(conversation_events.c.customer_id).where(
                        conversation_events.c.event_id == event.event_id
                    )
                ).scalar_one()
            )

    merges = CustomerMerges(store.engine)
    merges.merge(pat, quinn, None)
    assert assign("ana") == pat
    back = merges.split(pat, [QUINN_EMAIL], None).customer_id
    assert assign("bo") == back
