"""KPI tables kept on disk between processes, for an engine whose answers are slow (Spark).

A table Spark took twenty seconds to compute must not be computed again by the next process: the dashboard after a
restart, or after ``python -m kpis --engine spark warm`` ran on a schedule before the Monday review. An engine that
names a folder (:attr:`kpis.store.spark.SparkStore.results`) has each table the memo computes written there as
Parquet, under its data version and request; any process reads it back instead of asking Spark. A new lake version
or a changed setting is a new data version, so a kept table is never served for other data. Only the last
:data:`VERSIONS_KEPT` data versions stay; older folders are removed when a new one is written.

DuckDB computes a table in well under a second: its tables are only memoized in the process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Hashable
from pathlib import Path

import pandas as pd

#: How many data versions keep their tables on disk (the current one, and a few before it for a lake replaced
#: while a page was still reading the old one).
VERSIONS_KEPT = 3


def folder_of(store: object) -> Path | None:
    """Where ``store`` keeps computed tables, or None when it keeps none."""
    found = getattr(store, "results", None)
    return Path(found) if found else None


def _digest(value: Hashable) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:32]


def path_of(folder: Path, version: Hashable, request: Hashable) -> Path:
    """The file of one table: a folder per data version, a file per request (table, grain, dates, segment, event).

    >>> path_of(Path("kept"), ("v", 1), ("revenue", "month")).parent.name == _digest(("v", 1))
    True
    """
    return folder / _digest(version) / f"{_digest(request)}.parquet"


def read(path: Path) -> pd.DataFrame | None:
    """The kept table, or None when there is none (or it cannot be read: it is then computed again)."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError):
        return None


def write(path: Path, table: pd.DataFrame) -> None:
    """Keep ``table`` at ``path`` (written aside and renamed, so a reader never sees half a file), and drop the
    folders of data versions older than the last :data:`VERSIONS_KEPT`. A failure to write loses nothing but
    time: the table is computed again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        table.to_parquet(partial, index=False)
        os.replace(partial, path)
        _prune(path.parent.parent)
    except (OSError, ValueError):
        return


def _prune(folder: Path) -> None:
    versions = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in versions[VERSIONS_KEPT:]:
        shutil.rmtree(old, ignore_errors=True)
