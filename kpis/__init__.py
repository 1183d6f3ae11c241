"""KPI engine of the CPO dashboard: the store, the import of real exports, the KPIs. Never imports streamlit.

The public surface is small; everything else is reached through its layer (docs/architecture.md)::

    from kpis import KPIS, Store, import_file, series, undo

    with Store("kpis.duckdb") as store:
        import_file(store, "stripe_subscriptions.csv")
        mrr = series(store, "mrr", "month")

Each public name is loaded when first asked for (PEP 562), so ``python -m kpis funnel ...`` starts without the
importer and its sources, which only the commands that import or undo need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpis.core.registry import KPIS
    from kpis.ingest.importer import import_file, undo
    from kpis.metrics.series import series
    from kpis.store.db import Store

__all__ = ["KPIS", "Store", "import_file", "series", "undo"]


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its layer on first use.

    >>> import kpis
    >>> kpis.series.__module__
    'kpis.metrics.series'
    """
    if name == "KPIS":
        from kpis.core.registry import KPIS
        return KPIS
    if name == "Store":
        from kpis.store.db import Store
        return Store
    if name in ("import_file", "undo"):
        from kpis.ingest import importer
        return getattr(importer, name)
    if name == "series":
        from kpis.metrics.series import series
        return series
    raise AttributeError(f"module 'kpis' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the public ones loaded on first use."""
    return sorted({*globals(), *__all__})
