"""UI building blocks shared by the pages: plain functions, so pages only arrange them.

Also the few bits of glue between Streamlit and :mod:`kpis`: the one Store per process, the demo company on
first start, caches keyed on the store's data version, and importing an upload. No SQL here: queries live in
:mod:`kpis.status` and the other :mod:`kpis` modules.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import IO, Literal, TypeVar

import pandas as pd
import streamlit as st

from kpis.errors import InputError
from kpis.importer import import_file
from kpis.store import Store, default_path

logger = logging.getLogger(__name__)

T = TypeVar("T")
Level = Literal["success", "info", "warning", "error"]

#: Setting that records that the demo company was offered once; it is never loaded again after that.
DEMO_OFFERED = "demo_offered"
DATA_PAGE = "app_pages/data.py"
OVERVIEW_PAGE = "app_pages/overview.py"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")


# -- text ----------------------------------------------------------------------------------------------------------

def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it literally (file names and messages from uploads).

    Every Markdown, HTML and directive character gets a backslash, so ``[x](javascript:...)``, ``<b>``,
    ``:red[...]`` or ``$x$`` in a file name or header shows as typed. Newlines become spaces.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


# -- the store -----------------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _store_at(path: str) -> Store:
    return Store(path)


def open_store() -> Store:
    """The process's one Store for the database at :func:`kpis.store.default_path` (``KPI_DB``)."""
    return _store_at(str(default_path().resolve()))


def _demo_module() -> ModuleType | None:
    """:mod:`kpis.demo`, or None when this build has no demo company."""
    try:
        import kpis.demo as demo
    except ModuleNotFoundError as exc:
        if exc.name != "kpis.demo":
            raise
        return None
    return demo


@st.cache_resource(show_spinner="Loading the demo company…")
def _offer_demo(path: str, _store: Store) -> str | None:
    """Load the demo company into an empty database, once per database; returns a problem to show, or None."""
    demo = _demo_module()
    if demo is None or _store.get_setting(DEMO_OFFERED) is not None:
        return None
    if not _store.is_empty():
        _store.set_setting(DEMO_OFFERED, "no: the database already held data")
        return None
    try:
        results = demo.load_demo(_store)
    except Exception as exc:
        logger.exception("loading the demo company failed")
        return f"The demo company could not be loaded ({type(exc).__name__}). Import your own exports on the Data page."
    _store.set_setting(DEMO_OFFERED, datetime.now(UTC).isoformat(timespec="seconds"))
    logger.info("demo company loaded: %d files", len(results))
    return None


def offer_demo(store: Store) -> str | None:
    """On the first start with an empty database, load the demo company (never again once removed)."""
    return _offer_demo(str(store.path), store)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, path: str, version: tuple[int, int], _func: Callable[[Store], T], _store: Store) -> T:
    return _func(_store)


def cached(store: Store, func: Callable[[Store], T]) -> T:
    """``func(store)``, cached until the stored data changes (an import or an undo)."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _cached(name, str(store.path), store.data_version(), func, store)


def forget_cached() -> None:
    """Drop every cached result after this process wrote to the store (whatever the write did to the version)."""
    _cached.clear()


def has_demo(store: Store) -> bool:
    """Whether the demo company is loaded (False when this build has no demo)."""
    demo = _demo_module()
    return demo is not None and cached(store, demo.has_demo)


def has_real_data(store: Store) -> bool:
    """Whether anything other than the demo company is loaded."""
    demo = _demo_module()
    return cached(store, demo.has_real_data) if demo is not None else not store.is_empty()


def remove_demo(store: Store) -> list[tuple[Level, str]]:
    """Remove the demo company; returns the messages to show."""
    demo = _demo_module()
    if demo is None:
        return [("info", "There is no demo company to remove.")]
    try:
        done = demo.remove_demo(store)
    except InputError as exc:
        return [("error", str(exc))]
    except Exception as exc:
        logger.exception("removing the demo company failed")
        return [("error", f"Removing the demo company failed unexpectedly ({type(exc).__name__}); nothing changed.")]
    finally:
        forget_cached()
    return [("success", "The demo company was removed.")] + [("info", line) for line in done]


def undo(store: Store, import_id: int) -> tuple[Level, str]:
    """Undo one import; returns the message to show."""
    from kpis.importer import undo_import

    try:
        return "success", undo_import(store, import_id)
    except InputError as exc:
        return "error", str(exc)
    except Exception as exc:
        logger.exception("undoing import %s failed", import_id)
        return "error", f"Undoing import {import_id} failed unexpectedly ({type(exc).__name__}); nothing changed."
    finally:
        forget_cached()


# -- uploads -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadOutcome:
    """What importing one upload did, ready to show."""

    name: str
    level: Level
    message: str


def import_upload(store: Store, name: str, data: IO[bytes], who: str = "local") -> UploadOutcome:
    """Import one uploaded file: written to a temporary file, then :func:`kpis.importer.import_file`.

    Bad files give the importer's message; anything unexpected gives a short message with the error's class
    (the details go to the server log), never a traceback.
    """
    handle, tmp_path = tempfile.mkstemp(prefix="kpi-upload-")
    try:
        with os.fdopen(handle, "wb") as tmp:
            if data.seekable():
                data.seek(0)
            shutil.copyfileobj(data, tmp, 4 * 1024 * 1024)
        result = import_file(store, tmp_path, name=name, who=who)
    except InputError as exc:
        return UploadOutcome(name, "error", str(exc))
    except Exception as exc:
        logger.exception("importing %r failed", name)
        return UploadOutcome(
            name, "error", f"{name}: the import failed unexpectedly ({type(exc).__name__}); nothing was stored."
        )
    finally:
        os.unlink(tmp_path)
        forget_cached()
    return UploadOutcome(name, "info" if result.status == "duplicate" else "success", result.summary())


# -- display -------------------------------------------------------------------------------------------------------

_ICONS: dict[Level, str] = {
    "success": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


def message(level: Level, text: str) -> None:
    """One status message; ``text`` is shown literally (it may quote an uploaded file)."""
    show = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[level]
    show(plain(text), icon=_ICONS[level])


def messages(items: Iterable[tuple[Level, str]]) -> None:
    """Several status messages, in order."""
    for level, text in items:
        message(level, text)


def demo_banner() -> None:
    """The reminder shown on every page while the demo company is loaded."""
    st.info(
        "**Showing the demo company**, a made-up business, so you can explore the dashboard. "
        "Import your own exports, then remove it on the Data page.",
        icon=":material/science:",
    )


def nothing_loaded() -> None:
    """What an empty database says, with the way to the Data page."""
    st.info("Nothing is loaded yet. Import your exports (Stripe, PostHog, Amplitude, ...) to see your numbers.",
            icon=":material/inbox:")
    st.page_link(DATA_PAGE, label="Import files on the Data page", icon=":material/upload_file:")


def _as_of_text(value: object) -> str:
    return "no data" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%d %b %Y}"


def _dates(values: pd.Series, fmt: str = "%d %b %Y") -> pd.Series:
    """Dates as text for a table, with a dash where there is none (st.dataframe would print "None")."""
    return values.map(lambda v: "—" if v is None or pd.isna(v) else f"{pd.Timestamp(v):{fmt}}")


def loaded_metrics(summary: pd.DataFrame) -> None:
    """Headline counts: subscriptions, customers and events, with the date each source runs to."""
    by_table = summary.set_index("table")
    cards = [
        ("Subscriptions", "subscriptions", "subscriptions"),
        ("Customers", "customers", None),
        ("Product events", "events", "events"),
    ]
    columns = st.columns(len(cards), border=True)
    for column, (label, table, as_of) in zip(columns, cards, strict=True):
        rows = int(by_table.loc[table, "rows"])
        note = f"data as of {_as_of_text(by_table.loc[as_of, 'data_as_of'])}" if as_of else "current records"
        column.metric(label, f"{rows:,}", help=None)
        column.caption(note)


def loaded_table(summary: pd.DataFrame) -> None:
    """Rows per canonical table and data as of per source."""
    shown = summary[["label", "rows", "data_as_of"]].assign(data_as_of=lambda f: _dates(f["data_as_of"]))
    st.dataframe(
        shown,
        hide_index=True,
        width="content",
        column_config={
            "label": st.column_config.TextColumn("Table", width=240),
            "rows": st.column_config.NumberColumn("Rows", format="localized", width=110),
            "data_as_of": st.column_config.TextColumn("Data as of", width=130,
                                                      help="The last day this data covers (never in the future)"),
        },
    )


def history_table(history: pd.DataFrame) -> None:
    """The import log as a table; file names and sources are shown as plain text."""
    if history.empty:
        st.caption("No file has been imported yet.")
        return
    when = "%d %b %Y %H:%M"
    undone = _dates(history["undone_at"], when)
    shown = pd.DataFrame({
        "import_id": history["import_id"],
        "filename": history["filename"],
        "source": history["source"],
        "imported_at": _dates(history["imported_at"], when),
        "imported_by": history["imported_by"],
        "status": history["status"].where(history["undone_at"].isna(), "undone " + undone),
        "rows_added": history["rows_added"],
        "rows_updated": history["rows_updated"],
        "duplicates": history["duplicates"],
        "rows_rejected": history["rows_rejected"],
        "data_as_of": _dates(history["data_as_of"]),
    })
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "import_id": st.column_config.NumberColumn("Import", format="%d", width=60),
            "filename": st.column_config.TextColumn("File", width=165),
            "source": st.column_config.TextColumn("Recognised as", width=145),
            "imported_at": st.column_config.TextColumn("Imported (UTC)", width=120),
            "imported_by": st.column_config.TextColumn("By", width=50),
            "status": st.column_config.TextColumn("Status", width=60),
            "rows_added": st.column_config.NumberColumn("Added", format="localized", width=70),
            "rows_updated": st.column_config.NumberColumn("Updated", format="localized", width=65),
            "duplicates": st.column_config.NumberColumn("Duplicates", format="localized", width=75),
            "rows_rejected": st.column_config.NumberColumn("Rejected", format="localized", width=65),
            "data_as_of": st.column_config.TextColumn("Latest date", width=100,
                                                      help="The latest date in the file (it may lie in the "
                                                           "future, e.g. a scheduled end); the newest export of "
                                                           "a record wins by it"),
        },
    )
