"""Switchboard's dashboards: `switchboard dashboards` (or `make run`) serves them on 8501."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# Not `pages/`: Streamlit runs a script of a folder of that name on its own, without this
# navigation, when its URL is opened directly (a drill-down's link, in a new tab).
PAGES = Path(__file__).with_name("views")

st.set_page_config(page_title="Switchboard", page_icon=":material/call:", layout="wide")
st.navigation(
    [
        st.Page(
            PAGES / "overview.py", title="Overview", icon=":material/monitoring:", default=True
        ),
        st.Page(PAGES / "channels.py", title="Channels", icon=":material/forum:"),
        st.Page(PAGES / "resolution.py", title="Resolution", icon=":material/task_alt:"),
        st.Page(PAGES / "timeline.py", title="Customer timeline", icon=":material/person_search:"),
        st.Page(PAGES / "quality.py", title="Data quality", icon=":material/rule:"),
        st.Page(PAGES / "pipeline.py", title="Pipeline", icon=":material/account_tree:"),
        st.Page(PAGES / "failures.py", title="Failures", icon=":material/error:"),
        st.Page(PAGES / "deliveries.py", title="Events out", icon=":material/send:"),
    ]
).run()
