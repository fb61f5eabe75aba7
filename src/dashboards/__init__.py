"""The Streamlit dashboards: read-only views over the published exports (and Temporal)."""
