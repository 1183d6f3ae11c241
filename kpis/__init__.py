"""KPI engine of the CPO dashboard: the store, the import of real exports, the KPIs. Never imports streamlit.

The public surface is small; everything else is reached through its layer (docs/architecture.md)::

    from kpis import KPIS, Store, import_file, series, undo

    with Store("kpis.duckdb") as store:
        import_file(store, "stripe_subscriptions.csv")
        mrr = series(store, "mrr", "month")
"""

from kpis.core.registry import KPIS
from kpis.ingest.importer import import_file, undo
from kpis.metrics.series import series
from kpis.store.db import Store

__all__ = ["KPIS", "Store", "import_file", "series", "undo"]
