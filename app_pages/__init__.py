"""The dashboard's pages (run by ``st.navigation`` in dashboard.py) and their shared UI components."""
