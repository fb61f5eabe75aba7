"""Failures: interactions that failed, were orphaned or are stuck. Read-only: the retry is the
operator's command (or the API's POST /api/failures/…/retry), shown beside them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, temporal
from dashboards.data import settings

st.title("Failures")
found = temporal.interaction_failures()
if found is None:
    st.warning(
        f"Temporal does not answer at `{settings().temporal_address}`: is it running? "
        "(`TEMPORAL_ADDRESS`)"
    )
    st.stop()
if not found:
    st.success("No failed, orphaned or stuck interactions.")
else:
    data.table(
        pd.DataFrame([vars(f) for f in found]),
        "Failed, orphaned and stuck interactions",
        hide_index=True,
        column_config={
            "temporal_url": st.column_config.LinkColumn("Temporal UI", display_text="open"),
        },
    )
st.caption("Retry one, or every match of a filter (the same as the API):")
st.code(
    "switchboard failures retry <workflow id>\n"
    "switchboard failures retry --provider twilio --kind voice_recording --since 2026-01-01",
    language="bash",
)
