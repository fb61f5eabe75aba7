"""The patch ledger: every `workflow.patched` id of the workflows, when it came, what it changed,
and when it may go.

Running workflows replay their history on the code of the worker that picks them up, so a
change to what a workflow does is patched: `workflow.patched(id)` is true in new runs (and
records a marker) and false when replaying a history recorded without it, which then takes the
old branch. A patch is retired in two steps, as samples-python's `hello_patch` shows:

1. `deprecated`: once no execution that can still be replayed took the old branch, the old
   branch is deleted and `workflow.deprecate_patch(id)` stands where `workflow.patched(id)`
   was, so that histories carrying the marker still match it.
2. deleted: once no history carrying the marker can be replayed, the call goes. (Not before:
   a marker that no call matches fails the replay, unless it was recorded by
   `deprecate_patch`.)

"Can be replayed" means open (every workflow task replays it on a worker that restarted or lost
its cache), or closed but within the namespace's retention (a query replays it, and
`switchboard replay-check` replays the most recent ones). Before either step:

- count the executions that could take the old branch:
  `temporal workflow count --query "WorkflowType='ConversationWorkflow' AND StartTime < '<the
  patch's release>'"` (0, open or closed);
- `switchboard replay-check` against the deployment, and
  `switchboard replay-check --histories tests/workflows/histories` against the recorded ones,
  which stand for the executions each release left running (recorded at every patched change,
  see `tests/workflows/record_histories.py`); a history goes only with the branch it exercised,
  and the entry here says so.

Each `workflow.patched` in a new run also upserts `TemporalChangeVersion` (a history event and
a visibility write), so each workflow's current code path sits behind one patch, and the
patches before it are asked only when replaying a history that lacks it.
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
    step="patched",
    retire_when="No InteractionWorkflow that lacks the marker (started before 2026-11-25 at "
    "the commit) is open or within retention.",
)

LOCAL_STORE_STEPS = Patch(
    id="local-store-steps",
    workflow="InteractionWorkflow",
    introduced=date(2026, 11, 25),
    commit="594aaa5",
    changed="dedupe and persist run as local activities, and what the local steps found is "
    "upserted once, after route: two workflow tasks per message instead of four. Before: "
    "regular activities, an upsert after dedupe and another after route.",
    step="patched",
    retire_when="No InteractionWorkflow that lacks the marker (started before 2026-11-25 at "
    "the commit) is open or within retention.",
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
    retire_when="No InteractionWorkflow started before this patch's release (the one after "
    "0d77f4c) is open or within retention. Then the `interaction_*_by_update` histories go, "
    "the hand-off by update and the patches asked under it are deleted, and the `hand_off` "
    "activity goes once no such workflow can schedule it.",
)

# --- ConversationWorkflow --------------------------------------------------------------------

RECORD_CONVERSATION_LOCALLY = Patch(
    id="record-conversation-locally",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 25),
    commit="28f2649",
    changed="record_conversation runs as a local activity, with slots of its own: a burst of "
    "hand-offs held every regular activity slot, so the recording they waited for never ran.",
    step="patched",
    retire_when="No ConversationWorkflow run that lacks the marker (started before 2026-11-25 "
    "at the commit) is open or within retention.",
)

UPSERT_CHANGED_ATTRIBUTES = Patch(
    id="upsert-changed-attributes",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 25),
    commit="594aaa5",
    changed="The search attributes are upserted only when an indexed value changed, not after "
    "every recorded change (each upsert is a history event and a visibility write).",
    step="patched",
    retire_when="No ConversationWorkflow run that lacks the marker (started before 2026-11-25 "
    "at the commit) is open or within retention.",
)

KEEP_EARLIER_TIMER = Patch(
    id="keep-earlier-timer",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 25),
    commit="f8e9c47",
    changed="One timer runs until the earliest thing due and is replaced only by an earlier "
    "one; before, every interaction cancelled and restarted it (two history events each).",
    step="patched",
    retire_when="No ConversationWorkflow run that lacks the marker (started before 2026-11-25 "
    "at the commit) is open or within retention.",
)

CONVERSATION_ONE_PATCH = Patch(
    id="conversation-one-patch",
    workflow="ConversationWorkflow",
    introduced=date(2026, 11, 30),
    commit="6f55de7",
    changed="New runs ask this patch alone for the three before it: four history events and "
    "two visibility writes fewer per run, continued runs included.",
    step="patched",
    retire_when="No ConversationWorkflow run started before this patch's release (the one "
    "after 3a52218) is open or within retention: a conversation runs until it continues as "
    "new, so count the open ones. Then the `conversation_by_*` histories go and the branch "
    "under it is deleted with the three patches asked there.",
)

LEDGER = (
    CONVERSATION_HANDOFF,
    LOCAL_STORE_STEPS,
    ONE_WORKFLOW_TASK,
    RECORD_CONVERSATION_LOCALLY,
    UPSERT_CHANGED_ATTRIBUTES,
    KEEP_EARLIER_TIMER,
    CONVERSATION_ONE_PATCH,
)
