"""Equality of what the two engines answer: the same rows, numbers within 1e-9 relative, NaN equal to NaN."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

#: The relative difference two engines' numbers may have (the order of a sum's terms differs between them).
RELATIVE = 1e-9


def same_value(a: Any, b: Any) -> bool:
    """Two cells equal: numbers within :data:`RELATIVE` (NaN and None equal only each other), else ``==``.

    >>> same_value(1.0, 1.0 + 1e-12), same_value(float("nan"), None), same_value(1.0, 1.001), same_value("a", "a")
    (True, True, False, True)
    """
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, bool | str | date | datetime) or isinstance(b, bool | str | date | datetime):
        return _plain(a) == _plain(b)
    x, y = float(a), float(b)
    return x == y or math.isclose(x, y, rel_tol=RELATIVE, abs_tol=0.0)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def differences(duck: pd.DataFrame, spark: pd.DataFrame, what: str, keys: Sequence[str] = ()) -> list[str]:
    """What differs between DuckDB's frame and Spark's (rows sorted by ``keys`` first when their order is not
    part of the answer): an empty list when they are equal."""
    if list(duck.columns) != list(spark.columns):
        return [f"{what}: columns {list(duck.columns)} != {list(spark.columns)}"]
    if keys:
        duck, spark = (f.sort_values(list(keys), kind="stable").reset_index(drop=True) for f in (duck, spark))
    if len(duck) != len(spark):
        return [f"{what}: {len(duck)} rows on DuckDB, {len(spark)} on Spark"]
    found = []
    for column in duck.columns:
        for row, (a, b) in enumerate(zip(duck[column].tolist(), spark[column].tolist(), strict=True)):
            if not same_value(a, b):
                found.append(f"{what}: row {row} {column}: DuckDB {a!r}, Spark {b!r}")
    return found
