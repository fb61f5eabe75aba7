"""Data quality: the latest results of the export's quality gate (Great Expectations)."""

from __future__ import annotations

import streamlit as st

from dashboards import data

st.title("Data quality")
results = data.validation_results()
f = data.filters()  # the gate checks batches, not channels: the time range applies
if results is not None and f.since is not None:
    results = results[results.validated_at >= f.since]
if results is None or results.empty:
    st.info("No export batch has been validated yet.")
    st.stop()

latest = results[results.batch == results.sort_values("validated_at").batch.iloc[-1]]
failed = latest[~latest.success]
cols = st.columns(3)
cols[0].metric("Expectations checked", len(latest))
cols[1].metric("Failed", len(failed))
cols[2].metric("Validated", str(latest.validated_at.max())[:19] + " UTC")
if failed.empty:
    st.success("The latest batch met every expectation and was published.")
else:
    st.error(
        "The latest batch broke expectations and was not published; the previous export "
        "is still the current one. The failed `validate_export` activity in Temporal UI says why."
    )
data.table(
    latest[["dataset", "column", "expectation", "success", "unexpected", "example"]].sort_values(
        ["success", "dataset"]
    ),
    "Latest batch's expectations",
    hide_index=True,
)
batches = (
    results.groupby("batch")
    .agg(validated_at=("validated_at", "max"), failed=("success", lambda s: int((~s).sum())))
    .sort_values("validated_at", ascending=False)
    .head(20)
)
st.subheader("Recent batches")
data.table(batches, "Recent batches", column_config={"failed": "failed expectations"})
