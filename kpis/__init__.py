"""KPI engine of the CPO dashboard: store, import of real exports, KPI queries. Never imports streamlit."""
