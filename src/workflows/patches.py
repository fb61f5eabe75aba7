"""The patch ledger: every `workflow.patched` id of the workflows, when it came, what it changed,
and when it may go.

Only the conversation has patches. The other workflows (interaction, export, retention,
delivery) are pinned to the release they started on (Worker Versioning, `runtime.versions`),
so no release replays their histories and they change without patches.

The conversation follows releases: `switchboard up` moves its run to the new version (after
replaying it), a rolling release tells it a newer version is current; either way its next task
runs the new code, which replays its history (so a change to what it does is patched:
`workflow.patched(id)` is true in new runs and false when replaying a history recorded
without it), and it then continues as new, keeping its state. A patch therefore has to outlive
only the conversation runs of the release before it: once every conversation has woken once
on the release that brought the patch (a message, an agent action or a timer; the
auto-resolve delay at most), no run can take the old branch.

Retiring a patch is mechanical: delete the old branch (or the `deprecate_patch` call), the
entry below and the histories it names (`histories`). `tests/workflows/test_patches.py` proves
the code asks exactly the ledger's ids, and `tests/workflows/test_replay.py` that the recorded
histories are exactly those the ledger names. Before deploying, `switchboard replay-check`
against the deployment.

Each `workflow.patched` asked in a new run also upserts `TemporalChangeVersion` (a history
event and a visibility write), so the conversation's current code path sits behind one patch,
and the patches before it are asked only when replaying a history that lacks it.

The ledger on 2026-12-07: the interaction's patches (conversation-handoff, local-store-steps,
one-workflow-task, orphan-callback-wait, interaction-lifecycle, interaction-media-copies) went
with Worker Versioning, with their histories and the `hand_off` activity: their executions
in flight at the first versioned release are replayed by `switchboard up` before it makes the
release current (it refuses otherwise). The conversation's `add_interaction` update (the
hand-off by update) stays until no conversation run has received one.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True)
class Patch:
    """One patch id and its record."""

    id: str
    workflow: str
    introduced: date
    commit: str
    changed: str
    # `patched`: both branches in the code; `deprecated`: `deprecate_patch`, the old one gone.
    step: Literal["patched", "deprecated"]
    # The condition for the next step.
    retire_when: str
    # The recorded histories (`tests/workflows/histories/<name>.json`) of the path this patch
    # opened: they replay in every test run and go with the path.
    histories: tuple[str, ...] = ()


# --- ConversationWorkflow --------------------------------------------------------------------

RECORD_CONVERSATION_LOCALLY = Patch(
    id="record-conversation-locally",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 25),
    commit="28f2649",
    changed="record_conversation runs as a local activity, with slots of its own: a burst of "
    "hand-offs held every regular activity slot, so the recording they waited for never ran.",
    step="deprecated",
    retire_when="Deleted with the old branch of CONVERSATION_ONE_PATCH, under which it is asked.",
    histories=("conversation_by_update",),
)

UPSERT_CHANGED_ATTRIBUTES = Patch(
    id="upsert-changed-attributes",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 25),
    commit="594aaa5",
    changed="The search attributes are upserted only when an indexed value changed, not after "
    "every recorded change (each upsert is a history event and a visibility write).",
    step="deprecated",
    retire_when="Deleted with the old branch of CONVERSATION_ONE_PATCH, under which it is asked.",
)

KEEP_EARLIER_TIMER = Patch(
    id="keep-earlier-timer",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 25),
    commit="f8e9c47",
    changed="One timer runs until the earliest thing due and is replaced only by an earlier "
    "one; before, every interaction cancelled and restarted it (two history events each).",
    step="deprecated",
    retire_when="Deleted with the old branch of CONVERSATION_ONE_PATCH, under which it is asked.",
    histories=("conversation_by_signal",),
)

CONVERSATION_ONE_PATCH = Patch(
    id="conversation-one-patch",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 30),
    commit="6f55de7",
    changed="New runs ask this patch alone for the three before it: four history events and "
    "two visibility writes fewer per run, continued runs included.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release (the version "
    "after 3a52218) is running: a conversation runs until it continues as new, so count them. "
    "Then the three patches asked under it go, with the `conversation_by_*` histories.",
    histories=(
        "conversation_one_patch",
        "conversation_actions_one_patch",
        "conversation_encrypted",
    ),
)

CONVERSATION_FACTS_FROM_STORE = Patch(
    id="conversation-facts-from-store",
    workflow="ConversationWorkflow",
    introduced=date(2026, 12, 1),
    commit="f9cb246",
    changed="A signalled interaction's customer, channel and address are read from the store "
    "(local activity `load_interactions`), never from the signal; another customer's is "
    "ignored. New runs ask this patch alone: it stands for CONVERSATION_ONE_PATCH's path plus "
    "the read.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release is running; "
    "then CONVERSATION_ONE_PATCH's branch without the read goes.",
    histories=("conversation_facts_from_store",),
)

CONVERSATION_SLA_POLICIES = Patch(
    id="conversation-sla-policies",
    workflow="ConversationWorkflow",
    introduced=date(2026, 12, 1),
    commit="c6172e1",
    changed="A new conversation takes its route's SLA policy: next-response and resolution "
    "targets on the business-hours calendar, each a timer and an `sla_breached` event naming "
    "the target; the resolution clock pauses while the conversation waits on the customer. "
    "New runs ask this patch alone: it stands for CONVERSATION_FACTS_FROM_STORE's path plus "
    "the policies.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release is running; "
    "then CONVERSATION_FACTS_FROM_STORE's path without the policies goes.",
    histories=("conversation_sla_policies", "conversation_actions_sla_policies"),
)

CONVERSATION_STORE_THREADING = Patch(
    id="conversation-store-threading",
    workflow="ConversationWorkflow",
    introduced=date(2026, 12, 8),
    commit="a982b40",
    changed="A message that changes nothing the conversation keeps is threaded by its "
    "interaction's persist step, without a signal (`store.conversation_threading`); so before "
    "auto-resolving for inactivity the conversation asks the store (local activity "
    "`claim_inactive`), which resolves it there unless such a message came since, and the "
    "timer is re-armed to it. New runs ask this patch alone: it stands for "
    "CONVERSATION_SLA_POLICIES's path plus the claim.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release is running; "
    "then CONVERSATION_SLA_POLICIES's path without the claim goes.",
    histories=("conversation_store_threading", "conversation_actions_store_threading"),
)

# --- Recorded histories of workflows with no patch --------------------------------------------

# DeliveryWorkflow (pinned since Worker Versioning): its executions started before versioning
# move to the first versioned release and replay there, until the last one ends.
UNPATCHED_HISTORIES = ("delivery_retried_then_delivered", "delivery_dead_lettered")

LEDGER = (
    RECORD_CONVERSATION_LOCALLY,
    UPSERT_CHANGED_ATTRIBUTES,
    KEEP_EARLIER_TIMER,
    CONVERSATION_ONE_PATCH,
    CONVERSATION_FACTS_FROM_STORE,
    CONVERSATION_SLA_POLICIES,
    CONVERSATION_STORE_THREADING,
)
