"""Customer timeline: one customer's interactions across every channel, newest first.

Exports keep addresses only as keyed hashes: what is typed here is hashed with the same key.
A link from a drill-down names the customer instead (`?customer=<customer id>`).
"""

from __future__ import annotations

import streamlit as st

from dashboards import data

st.title("Customer timeline")
snapshot = data.require_export()
linked = st.query_params.get("customer")
if linked and "range" not in st.session_state:
    st.session_state["range"] = "Everything"  # a link names the customer, not a time range
f = data.filters()
if linked:
    ids: tuple[str, ...] = (linked,)
    st.caption(f"Customer `{linked}` · [search by address instead](timeline)")
else:
    address = st.text_input("Phone number or email address", placeholder="+14155550123")
    if not address:
        st.caption("Phone numbers in any usual spelling; emails in any case.")
        st.stop()
    hashed = data.privacy().address(address)
    customers = data.query(
        snapshot,
        "SELECT DISTINCT customer_id FROM interactions WHERE from_hash = ? OR to_hash = ?",
        (hashed, hashed),
    )
    if customers.empty:
        st.warning("No interactions from or to that address in the export.")
        st.stop()
    ids = tuple(customers.customer_id)

where, params = f.where("occurred_at")
timeline = data.query(
    snapshot,
    f"""SELECT occurred_at, channel, direction, coalesce(subject, text) AS content, has_media,
               delivery_status, route_queue AS queue, conversation_id, interaction_id
        FROM interactions WHERE customer_id IN ({", ".join("?" for _ in ids)}) AND {where}
        ORDER BY occurred_at DESC""",
    (*ids, *params),
)
data.data_age(snapshot, refreshes=False)
cols = st.columns(3)
cols[0].metric("Interactions", len(timeline))
cols[1].metric("Channels", timeline.channel.nunique())
cols[2].metric("Conversations", timeline.conversation_id.nunique())
if timeline.empty:
    st.info("No interactions of this customer in this time range and these channels.")
else:
    data.table(timeline, "Customer timeline", hide_index=True)
