"""Cost: what Twilio reports (segments, durations, its own price) priced by the rate card, with
the totals by hand, the same in the export, the marts and `switchboard metrics --json`."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from analytics import export
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
from switchboard.providers import twilio
from switchboard.routing import RulesError
from switchboard.store import ConversationStore, Store
from tests.support.builders import sms_raw

CARD = """
[rate_card]
currency = "EUR"
sms_segment = { inbound = 0.01, outbound = 0.02 }
whatsapp_message = 0.005
voice_minute = { inbound = 0.1, outbound = 0.2 }
email = 0.001
"""


def rules_file(tmp_path: Path, card: str = CARD) -> Path:
    shipped = routing.DEFAULT_RULES.read_text()
    start = shipped.index("[rate_card]")
    end = shipped.index("[[rules]]", start)
    path = tmp_path / "rules.toml"
    path.write_text(shipped[:start] + card.strip() + "\n\n" + shipped[end:])
    return path


def test_a_bad_rate_card_is_refused_with_its_key(tmp_path: Path) -> None:
    for card, words in (
        ('[rate_card]\nsms_segment = "cheap"', "sms_segment: a price is a number"),
        ("[rate_card]\nvoice_minute = -1", "zero or more"),
        ("[rate_card]\nfax = 1", "unknown key(s) fax"),
        ('[rate_card]\ncurrency = "dollars"', "three-letter"),
    ):
        with pytest.raises(RulesError, match=words.replace("(", r"\(").replace(")", r"\)")):
            routing.load(rules_file(tmp_path, card))


def test_twilio_s_reports_are_kept_and_a_bad_one_is_ignored_not_refused() -> None:
    now = datetime.now(UTC)
    fields = [("MessageSid", "SM" + "1" * 32), ("From", "+14155550123"), ("To", "+14155550100")]
    sms = twilio.sms([*fields, ("Body", "hi"), ("NumSegments", "3")], now)
    assert sms.interaction.content.segments == 3
    status = twilio.sms_status(
        [*fields, ("MessageStatus", "delivered"), ("Price", "-0.0500"), ("PriceUnit", "eur")], now
    )
    assert (status.interaction.content.price, status.interaction.content.price_unit) == (
        -0.05,
        "EUR",
    )
    call = twilio.voice_status(
        [
            ("CallSid", "CA" + "1" * 32),
            ("From", "+14155550123"),
            ("CallStatus", "completed"),
            ("CallDuration", "61"),
            ("Price", "n/a"),
        ],
        now,
    )
    assert call.interaction.content.call_duration_s == 61 and call.interaction.content.price is None


# Three customers' conversations, priced by hand with CARD:
#
# - a (resolved): an SMS in of 3 segments (3 x 0.01 = 0.03), a reply out (1 x 0.02), a
#   message out Twilio priced at 0.05 (its price, not the card's 0.02): 0.10;
# - b (resolved): a call in of 61 s (2 started minutes x 0.1 = 0.2), a voicemail with only
#   its 30 s recording reported (1 x 0.1), an email in (0.001): 0.301;
# - c (open): a WhatsApp message in (0.005), a call with no duration yet (no cost): 0.005.
#
# Today 0.406 (sms 0.10, voice 0.30 with one unpriced, email 0.001, whatsapp 0.005); per
# conversation an agent resolved (0.10 + 0.301) / 2 = 0.2005.
IN, OUT = Direction.INBOUND, Direction.OUTBOUND
SCENARIO: dict[str, list[tuple[Channel, Direction, Content]]] = {
    "a": [
        (Channel.SMS, IN, Content(text="hi", segments=3)),
        (Channel.SMS, OUT, Content(text="On it.")),
        (Channel.SMS, OUT, Content(text="Done.", price=-0.05, price_unit="EUR")),
    ],
    "b": [
        (Channel.VOICE, IN, Content(call_duration_s=61)),
        (Channel.VOICE, IN, Content(recording_duration_s=30)),
        (Channel.EMAIL, IN, Content(subject="hello")),
    ],
    "c": [
        (Channel.WHATSAPP, IN, Content(text="hola")),
        (Channel.VOICE, IN, Content()),
    ],
}


def _write(store: Store, today: datetime) -> dict[str, str]:
    conversations = ConversationStore(store.engine)
    ids = {}
    for name, items in SCENARIO.items():
        customer = store.resolve_customer(Identity(IdentityKind.EMAIL, f"{name}@x.com"))
        cid = ids[name] = str(uuid.uuid4())
        events = [(EventKind.OPENED, {"channel": items[0][0], "queue": "q"})]
        if name != "c":
            events.append((EventKind.RESOLVED, {"code": "answered"}))
        for seq, (kind, detail) in enumerate(events):
            conversations.record(
                customer,
                ConversationState(cid, ConversationStatus.OPEN, "q", opened_at=today),
                [ConversationEvent(str(uuid.uuid4()), cid, customer, kind, today, seq, detail)],
                [],
            )
        for n, (channel, direction, content) in enumerate(items):
            _report(store, customer, cid, n, channel, direction, content, today)
    return ids


def _report(
    store: Store,
    customer: str,
    cid: str,
    n: int,
    channel: Channel,
    direction: Direction,
    content: Content,
    today: datetime,
) -> None:
    """The `n`th interaction of conversation `cid` as a provider reports it (again: merged)."""
    store.persist_interaction(
        CustomerInteraction(
            interaction_id=str(uuid.uuid4()),
            customer_id=customer,
            conversation_id=cid,
            channel=channel,
            direction=direction,
            provider=Provider.SENDGRID if channel is Channel.EMAIL else Provider.TWILIO,
            provider_message_id=f"{cid}-{n}",
            from_address="+1",
            to_address="+2",
            occurred_at=today + timedelta(seconds=n),
            received_at=today,
            content=content,
            status=Status.COMPLETED,
            route=Route("q", 1),
        ),
        replace(sms_raw(), event_key=uuid.uuid4().hex),
    )


def test_costs_by_hand_in_the_export_the_marts_and_metrics_json(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = datetime.combine(datetime.now(UTC).date(), time(0, 0, 1), UTC)
    ids = _write(store, today)
    rules = routing.load(rules_file(tmp_path))
    assert rules.rate_card.currency == "EUR"
    root = tmp_path / "exports"
    staged = export.stage(
        store.engine,
        root,
        Privacy(b"k", False),
        rules.hours,
        datetime.now(UTC),
        rates=rules.rate_card,
    )
    snapshot = export.publish(root, staged, [])

    exported = pq.read_table(snapshot / "interactions").to_pylist()
    by_conversation: dict[str, list[float | None]] = {}
    for row in sorted(exported, key=lambda r: r["occurred_at"]):
        by_conversation.setdefault(row["conversation_id"], []).append(row["cost"])
    assert by_conversation[ids["a"]] == pytest.approx([0.03, 0.02, 0.05])
    assert by_conversation[ids["b"]] == pytest.approx([0.2, 0.1, 0.001])
    assert by_conversation[ids["c"]][0] == pytest.approx(0.005)
    assert by_conversation[ids["c"]][1] is None
    hand = {ids["a"]: 0.10, ids["b"]: 0.301, ids["c"]: 0.005}
    outcomes = pq.read_table(snapshot / "conversations").to_pylist()
    assert {row["conversation_id"]: row["cost"] for row in outcomes} == pytest.approx(hand)

    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        daily = {
            channel: (n, cost, unpriced)
            for _, channel, n, cost, unpriced in con.execute("SELECT * FROM cost_daily").fetchall()
        }
        per_conversation = dict(
            con.execute("SELECT conversation_id, cost FROM conversation_costs").fetchall()
        )
        cursor = con.execute("SELECT * FROM resolution_overall")
        names = [c[0] for c in cursor.description or []]
        mart = dict(zip(names, cursor.fetchone() or (), strict=True))
    finally:
        con.close()
    assert daily == {
        "email": (1, pytest.approx(0.001), 0),
        "sms": (3, pytest.approx(0.10), 0),
        "voice": (3, pytest.approx(0.30), 1),
        "whatsapp": (1, pytest.approx(0.005), 0),
    }
    assert per_conversation == pytest.approx(hand)
    assert mart["cost_today"] == pytest.approx(0.406)
    assert mart["cost_per_resolved_conversation"] == pytest.approx(0.2005)

    # The call of c reports its duration later (30 s: 1 started minute x 0.1): the next
    # export prices c again.
    (customer_c,) = {row["customer_id"] for row in outcomes if row["conversation_id"] == ids["c"]}
    _report(store, customer_c, ids["c"], 1, Channel.VOICE, IN, Content(call_duration_s=30), today)
    staged = export.stage(
        store.engine,
        root,
        Privacy(b"k", False),
        rules.hours,
        datetime.now(UTC),
        rates=rules.rate_card,
    )
    snapshot = export.publish(root, staged, [])
    hand[ids["c"]] = 0.105
    outcomes = pq.read_table(snapshot / "conversations").to_pylist()
    assert {row["conversation_id"]: row["cost"] for row in outcomes} == pytest.approx(hand)
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        costs = con.execute("SELECT conversation_id, cost FROM conversation_costs").fetchall()
    finally:
        con.close()
    assert dict(costs) == pytest.approx(hand)

    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", store.engine.url.render_as_string(False))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SWITCHBOARD_ROUTING_RULES", str(rules_file(tmp_path)))
    result = CliRunner().invoke(app, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["cost_today"] == pytest.approx(0.506)
    assert printed["cost_per_resolved_conversation"] == pytest.approx(0.2005)
