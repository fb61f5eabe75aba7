"""The patch ledger: every `workflow.patched` id of the workflows, when it came, what it changed,
and when it may go.

Running workflows replay their history on the code of the worker that picks them up, so a
change to what a workflow does is patched: `workflow.patched(id)` is true in new runs (and
records a marker) and false when replaying a history recorded without it, which then takes the
old branch. A patch is retired in two steps, as samples-python's `hello_patch` shows:

1. `deprecated`: once no running execution can take the old branch, the old branch is deleted
   and `workflow.deprecate_patch(id)` stands where `workflow.patched(id)` was, so that
   histories carrying the marker still match it.
2. deleted: once no running execution carries the marker, the call goes. (Not before: a
   marker that no call matches fails the replay, unless `deprecate_patch` recorded it.)

A running execution replays its history whenever a worker restarts or evicts it from its
cache. A closed one within the namespace's retention replays only for a query, a reset or
`switchboard replay-check`, which would fail on it without harming anything running. Before
either step:

- count the running executions started before the patch's release:
  `temporal workflow count --query "WorkflowType='ConversationWorkflow' AND
  ExecutionStatus='Running' AND StartTime < '<release>'"` must say 0;
- `switchboard replay-check` against the deployment (its most recent executions of each type),
  and `switchboard replay-check --histories tests/workflows/histories` against the recorded
  histories, which stand for the executions each release left running (recorded at every
  patched change, see `tests/workflows/record_histories.py`). A history goes only with the
  branch it exercised, and the ledger says so.

Each `workflow.patched` asked in a new run also upserts `TemporalChangeVersion` (a history
event and a visibility write), so each workflow's current code path sits behind one patch,
and the patches before it are asked only when replaying a history that lacks it.

The ledger on 2026-12-01:

- The five patches of 2026-11-25 are deprecated. Their old branches are the code of that day's
  first hours: the code the day ended with (72fe4f7) had all five, and every version since
  asks them only under the two patches of 2026-11-30, when replaying a history without those.
  An InteractionWorkflow lasts seconds (longer only while the store is down), so none from
  those hours is running. A conversation started by a commit of those hours and still running
  would take the old branches: a deployment that ran one counts its conversations started
  before 2026-11-25T09:41Z before it takes this version.
  One recorded history took the old branches, `interaction_sms_completed` (the code before
  conversations, recorded at b689d1c), and went with them; `interaction_sms_malformed`, of the
  same code, still replays: a malformed payload fails before any of them. Deleting the calls
  outright fails the replay of the histories that carry their markers ("Non-deprecated patch
  marker encountered"), hence the deprecated step.
- CONVERSATION_FACTS_FROM_STORE and CONVERSATION_SLA_POLICIES (2026-12-01) stay: each new
  run asks only the newest, and a history from before it takes the one it carries.
- MEDIA_COPIES (2026-12-07) stays, with INTERACTION_LIFECYCLE asked under it when replaying a
  history without it; the `interaction_*_media_copies` histories stand for it.
- The two patches of 2026-11-30 stay: the versions before them (0d77f4c, 3a52218) ran a day
  ago and their conversations run until they continue as new. The `*_by_update` and
  `*_by_signal` histories stand for them.
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


# --- InteractionWorkflow ---------------------------------------------------------------------

CONVERSATION_HANDOFF = Patch(
    id="conversation-handoff",
    workflow="InteractionWorkflow",
    introduced=date(2026, 11, 25),
    commit="027deb4",
    changed="A new inbound interaction is handed to its customer's ConversationWorkflow; "
    "before, there were no conversations.",
    step="deprecated",
    retire_when="Deleted with the old branch of ONE_WORKFLOW_TASK, under which it is asked.",
)

LOCAL_STORE_STEPS = Patch(
    id="local-store-steps",
    workflow="InteractionWorkflow",
    introduced=date(2026, 11, 25),
    commit="594aaa5",
    changed="dedupe and persist run as local activities, and what the local steps found is "
    "upserted once, after route: two workflow tasks per message instead of four. Before: "
    "regular activities, an upsert after dedupe and another after route.",
    step="deprecated",
    retire_when="Deleted with the old branch of ONE_WORKFLOW_TASK, under which it is asked.",
)

ONE_WORKFLOW_TASK = Patch(
    id="one-workflow-task",
    workflow="InteractionWorkflow",
    introduced=date(2026, 11, 30),
    commit="d3b0c7f",
    changed="Every step a local activity; the interaction is signalled to its conversation "
    "(signal-with-start in `thread_interaction`) instead of an update awaited in the regular "
    "`hand_off` activity; one upsert at the end: a message is one workflow task. New runs ask "
    "this patch alone, for the two before it too.",
    step="patched",
    retire_when="No InteractionWorkflow started before this patch's release (the version "
    "after 0d77f4c) is running. Then the hand-off by update goes, with the two patches asked "
    "under it, the `hand_off` activity and the `interaction_*_by_update` histories; the "
    "conversation's `add_interaction` update goes once no running conversation run has "
    "received one.",
)

ORPHAN_CALLBACK_WAIT = Patch(
    id="orphan-callback-wait",
    workflow="InteractionWorkflow",
    introduced=date(2026, 12, 1),
    commit="h-uptime (issue 19)",
    changed="A callback that names no customer (a recording, a transcription) for an "
    "interaction not stored yet waits on timers at most `InteractionInput.orphan_wait_s` "
    "(SWITCHBOARD_ORPHAN_CALLBACK_WAIT_S, default 24 h), then is archived as orphaned and the "
    "workflow completes. Before: dedupe retried in a local activity for ever. Asked only for "
    "such callbacks.",
    step="patched",
    retire_when="No InteractionWorkflow started before this patch's release is still waiting "
    "for its interaction (count Running ones started before the release): then the old branch "
    "(the retry for ever) goes and the call becomes deprecate_patch.",
)

INTERACTION_LIFECYCLE = Patch(
    id="interaction-lifecycle",
    workflow="InteractionWorkflow",
    introduced=date(2026, 12, 1),
    commit="h-lifecycle (issue 20)",
    changed="A new inbound interaction is stored `processing` (its conversation completes it), "
    "no longer `completed` at once; a store step the store refuses for good "
    "(UnstorableInteraction) fails the workflow as `failed`, the interaction kept as a "
    "`failed` row, instead of retrying for ever. New runs ask this patch alone: it stands for "
    "ONE_WORKFLOW_TASK's path plus the life cycle.",
    step="patched",
    retire_when="No InteractionWorkflow started before this patch's release is running (they "
    "last seconds, or retry while the store is down): then ONE_WORKFLOW_TASK's branch without "
    "the life cycle goes, and this call becomes deprecate_patch.",
)

MEDIA_COPIES = Patch(
    id="interaction-media-copies",
    workflow="InteractionWorkflow",
    introduced=date(2026, 12, 7),
    commit="i-media (issue 30)",
    changed="`CustomerId` is upserted as soon as dedupe knows the customer (a run that fails "
    "or is stuck after it is found by erasure), no longer only at the end; an interaction "
    "whose files are still at Twilio (MMS media, a recording: `PersistResult.media_to_copy`) "
    "runs the regular activity `copy_media` before completing. Asked in every new run, since "
    "the early `CustomerId` is for every message; it stands for INTERACTION_LIFECYCLE's path "
    "(one marker a run). `copy_media` itself is scheduled only for events with files.",
    step="patched",
    retire_when="No InteractionWorkflow started before this patch's release is running (they "
    "last seconds, or retry while the store is down): then INTERACTION_LIFECYCLE's path "
    "without it goes, this call becomes deprecate_patch, and the interaction histories "
    "recorded without it (`*_sla_policies` and before) go with that branch.",
)

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
)

CONVERSATION_FACTS_FROM_STORE = Patch(
    id="conversation-facts-from-store",
    workflow="ConversationWorkflow",
    introduced=date(2026, 12, 1),
    commit="h-privacy (issue 18)",
    changed="A signalled interaction's customer, channel and address are read from the store "
    "(local activity `load_interactions`), never from the signal; another customer's is "
    "ignored. New runs ask this patch alone: it stands for CONVERSATION_ONE_PATCH's path plus "
    "the read.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release is running; "
    "then CONVERSATION_ONE_PATCH's branch without the read goes.",
)

CONVERSATION_SLA_POLICIES = Patch(
    id="conversation-sla-policies",
    workflow="ConversationWorkflow",
    introduced=date(2026, 12, 1),
    commit="h-sla (issue 20)",
    changed="A new conversation takes its route's SLA policy: next-response and resolution "
    "targets on the business-hours calendar, each a timer and an `sla_breached` event naming "
    "the target; the resolution clock pauses while the conversation waits on the customer. "
    "New runs ask this patch alone: it stands for CONVERSATION_FACTS_FROM_STORE's path plus "
    "the policies.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release is running; "
    "then CONVERSATION_FACTS_FROM_STORE's path without the policies goes.",
)

LEDGER = (
    CONVERSATION_HANDOFF,
    LOCAL_STORE_STEPS,
    ONE_WORKFLOW_TASK,
    ORPHAN_CALLBACK_WAIT,
    INTERACTION_LIFECYCLE,
    MEDIA_COPIES,
    RECORD_CONVERSATION_LOCALLY,
    UPSERT_CHANGED_ATTRIBUTES,
    KEEP_EARLIER_TIMER,
    CONVERSATION_ONE_PATCH,
    CONVERSATION_FACTS_FROM_STORE,
    CONVERSATION_SLA_POLICIES,
)
