"""The conversations behind a Resolution figure, with links to each customer's timeline and
to the conversation's workflow in Temporal UI.

The list is `behind(...)` of analytics/metrics.sql: the same flags and the same filter the
figure is computed with, so its length is the figure's denominator and its share of `met` the
figure itself.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pandas as pd

from dashboards import data, temporal
from switchboard.contract import conversation_workflow_id

# A figure's label on the Resolution page → its column of `resolution(...)`.
FIGURES = {
    "Conversations": "conversations",
    "First-contact resolution": "fcr_rate",
    "Reopen rate": "reopen_rate",
    "Unanswered rate": "unanswered_rate",
    **{label: column for label, column, _ in data.SLA_TARGETS},
}

LIST = """
SELECT b.conversation_id AS conversation, b.customer_id AS customer,
    coalesce(seen.channels, b.channel) AS channels,
    group_key('queue', b.queue, NULL, NULL) AS queue,
    coalesce(b.agent, ?) AS agent, b.opened_at AS opened,
    CASE b.resolved_by
        WHEN 'agent' THEN 'resolved by an agent' WHEN 'auto' THEN 'auto-resolved' ELSE 'open'
    END || CASE WHEN b.reopened THEN ', reopened' ELSE '' END AS outcome,
    b.met
FROM behind(?, ?, ?, ?, ?) AS b
LEFT JOIN (
    SELECT conversation_id, string_agg(DISTINCT channel, ', ' ORDER BY channel) AS channels
    FROM interactions GROUP BY conversation_id
) AS seen USING (conversation_id)
ORDER BY opened DESC, conversation
"""


def conversations(
    snapshot: Path,
    f: data.Filters,
    figure: str,
    grouping_by: str | None = None,
    key: str | None = None,
) -> pd.DataFrame:
    """The conversations `figure` (a label of `FIGURES`) counts, in the sidebar's range and
    channels, of one queue or agent (`grouping_by` and `key`; the agent `unassigned` is no
    agent); `met`: whether each meets it; `timeline`, `workflow`: links."""
    if grouping_by == "agent" and key == data.UNASSIGNED:
        key = None
    listed = data.query(
        snapshot,
        LIST,
        (data.UNASSIGNED, f.since, f.channel_list, grouping_by, key, FIGURES[figure]),
    )
    return listed.assign(
        timeline=listed.customer.map(lambda c: f"timeline?customer={quote(c, safe='')}"),
        workflow=listed.customer.map(lambda c: temporal.workflow_url(conversation_workflow_id(c))),
    )
