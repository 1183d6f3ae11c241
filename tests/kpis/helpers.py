"""Shared by the KPI tests: load hand-written CSV text through the real importer, read KPI values back."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from kpis.ingest.importer import import_file
from kpis.store.db import Store

SUBS_HEADER = ("subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,"
               "started_at,trial_end,canceled_at,ended_at")
EVENTS_HEADER = "user_id,event,timestamp,account_id"


def load(store: Store, folder: Path, name: str, text: str) -> None:
    """Write ``text`` to ``folder/name`` and import it; the import must succeed."""
    path = folder / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    result = import_file(store, path)
    assert result.status == "ok", result.summary()


def subs(store: Store, folder: Path, rows: str) -> None:
    """Import subscription rows (without the header) in the canonical CSV format."""
    load(store, folder, "subscriptions.csv", SUBS_HEADER + "\n" + rows.strip())


def events(store: Store, folder: Path, rows: str) -> None:
    """Import event rows (without the header) in the canonical CSV format."""
    load(store, folder, "events.csv", EVENTS_HEADER + "\n" + rows.strip())


def column(table: pd.DataFrame, kpi: str) -> dict[str, float]:
    """``{period_start (ISO): value}`` for one KPI column of a KPI table."""
    return {p.isoformat(): float(v) for p, v in zip(table["period_start"], table[kpi], strict=True)}


def same(actual: float, expected: float) -> bool:
    """Equal within float noise; NaN (undefined) equals only NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(actual, float) and math.isnan(actual):
        return False
    return actual == pytest.approx(expected, rel=1e-6, abs=1e-6)


def assert_values(actual: dict[str, float], expected: dict[str, float], what: str = "") -> None:
    """Every period and value equal (NaN == NaN), with a readable message."""
    assert list(actual) == list(expected), f"{what}: periods {list(actual)} != {list(expected)}"
    wrong = {p: (actual[p], expected[p]) for p in expected if not same(actual[p], expected[p])}
    assert not wrong, f"{what}: (actual, expected) {wrong}"
