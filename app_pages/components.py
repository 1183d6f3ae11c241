"""UI building blocks shared by the pages: plain functions, so pages only arrange them.

Also the few bits of glue between Streamlit and :mod:`kpis`: the one Store per process, the demo company on
first start, caches keyed on the store's data version, and importing an upload. Every function here that writes
(importing, undoing, removing the demo company, importing targets) checks the signed-in user's role itself
(:func:`app_pages.auth.refusal`) before it touches the store. No SQL here: queries live in
:mod:`kpis.ops.status` and the other :mod:`kpis` modules.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import ModuleType
from typing import IO, TYPE_CHECKING, Literal, TypeVar

import pandas as pd
import streamlit as st

from app_pages import format as fmt
from kpis.core.calendar import period_start
from kpis.core.csv_safety import frame_csv
from kpis.core.errors import DataError, DiskFull, InputError
from kpis.core.registry import Kpi
from kpis.ingest.importer import ImportResult, import_file
from kpis.ingest.sources.detect import label_of
from kpis.metrics import warmup
from kpis.metrics.reporting import LastComplete, last_complete_period
from kpis.plan.scorecard import Comparison, compare
from kpis.store.db import Store, default_path

if TYPE_CHECKING:
    from app_pages.filters import Filters

logger = logging.getLogger(__name__)

T = TypeVar("T")
Level = Literal["success", "info", "warning", "error"]

#: Setting that records that the demo company was offered once; it is never loaded again after that.
DEMO_OFFERED = "demo_offered"
DATA_PAGE = "app_pages/data.py"
OVERVIEW_PAGE = "app_pages/overview.py"
REVENUE_PAGE = "app_pages/revenue.py"
CUSTOMERS_PAGE = "app_pages/customers.py"
ENGAGEMENT_PAGE = "app_pages/engagement.py"
RETENTION_PAGE = "app_pages/retention.py"
TARGETS_PAGE = "app_pages/targets.py"
REVIEW_PAGE = "app_pages/review.py"

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
    """The process's one Store for the database at :func:`kpis.store.db.default_path` (``KPI_DB``)."""
    return _store_at(str(default_path().resolve()))


def _demo_module() -> ModuleType | None:
    """:mod:`kpis.ops.demo`, or None when this build has no demo company."""
    try:
        import kpis.ops.demo as demo
    except ModuleNotFoundError as exc:
        if exc.name != "kpis.ops.demo":
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


#: What someone who may not edit sees on an empty database (loading the demo company is a write).
NO_DATA_YET = "No data is loaded yet: an editor has to import the company's exports on the Data page."


def offer_demo(store: Store, can_edit: bool = True) -> tuple[Level, str] | None:
    """On the first start with an empty database, load the demo company (never again once removed); returns a
    message to show, or None.

    Loading is a write, so only a visitor who can edit (local mode or an editor) triggers it; anyone else gets
    :data:`NO_DATA_YET` while the database is empty, and nothing is written.
    """
    if not can_edit:
        return ("info", NO_DATA_YET) if store.is_empty() else None
    problem = _offer_demo(str(store.path), store)
    return ("warning", problem) if problem else None


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, path: str, version: tuple[int, ...], _func: Callable[[Store], T], _store: Store) -> T:
    return _store.consistent(_func)


def cached(store: Store, func: Callable[[Store], T]) -> T:
    """``func(store)``, cached until the stored data changes (an import or an undo)."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _cached(name, str(store.path), store.data_version(), func, store)


@st.cache_data(show_spinner=False, max_entries=512)
def _computed(name: str, path: str, version: tuple[int, ...], args: tuple[object, ...],
              kwargs: tuple[tuple[str, object], ...], _func: Callable[..., T], _store: Store) -> T:
    return _store.consistent(_func, *args, **dict(kwargs))


def computed(store: Store, func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``func(store, *args, **kwargs)`` (a KPI query), cached on the store's path, its data version and the
    arguments (the filter values), until the stored data changes."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _computed(name, str(store.path), store.data_version(), args, tuple(sorted(kwargs.items())), func, store)


def forget_cached() -> None:
    """Drop every cached result after this process wrote to the store (whatever the write did to the version)."""
    _cached.clear()
    _computed.clear()


def has_demo(store: Store) -> bool:
    """Whether the demo company is loaded (False when this build has no demo)."""
    demo = _demo_module()
    return demo is not None and cached(store, demo.has_demo)


def has_real_data(store: Store) -> bool:
    """Whether anything other than the demo company is loaded."""
    demo = _demo_module()
    return cached(store, demo.has_real_data) if demo is not None else not store.is_empty()


def remove_demo(store: Store) -> list[tuple[Level, str]]:
    """Remove the demo company (editors only, checked here); returns the messages to show."""
    refused = _refusal("remove the demo company")
    if refused:
        return [("error", refused)]
    demo = _demo_module()
    if demo is None:
        return [("info", "There is no demo company to remove.")]
    try:
        removal = demo.remove_demo_with_backup(store)
    except InputError as exc:
        return [("error", str(exc))]
    except Exception as exc:
        logger.exception("removing the demo company failed")
        return [("error", f"Removing the demo company failed unexpectedly ({type(exc).__name__}); nothing changed.")]
    finally:
        forget_cached()
    said = removal.summary()
    return [("success", said[0].upper() + said[1:])] + [
        ("info", line) for line in removal.messages]


def undo(store: Store, import_id: int) -> tuple[Level, str]:
    """Undo one import (editors only, checked here); returns the message to show."""
    from kpis.ingest.importer import undo as undo_with_backup

    refused = _refusal("undo an import")
    if refused:
        return "error", refused
    try:
        return "success", undo_with_backup(store, import_id).summary()
    except InputError as exc:
        return "error", str(exc)
    except Exception as exc:
        logger.exception("undoing import %s failed", import_id)
        return "error", f"Undoing import {import_id} failed unexpectedly ({type(exc).__name__}); nothing changed."
    finally:
        forget_cached()


def back_up(store: Store) -> tuple[Level, str]:
    """Write a backup of the database into its backups folder now (editors only, checked here): the command
    line cannot while the dashboard holds the database open."""
    from kpis.ops.backup import backup, backup_dir

    refused = _refusal("back up the database")
    if refused:
        return "error", refused
    try:
        folder = backup_dir(store.path)
        folder.mkdir(parents=True, exist_ok=True)  # a folder: the backup gets a new file name inside it
        made = backup(store, folder)
    except InputError as exc:
        return "error", str(exc)
    except Exception as exc:
        logger.exception("backing up the database failed")
        return "error", f"The backup failed unexpectedly ({type(exc).__name__}); nothing was changed."
    return "success", f"The database is backed up as {made} ({made.stat().st_size / 1e6:,.1f} MB)."


def save_event_sources(store: Store, names: list[str]) -> tuple[Level, str]:
    """Set which sources count where they overlap (editors only, checked here)."""
    from kpis.metrics.activity import set_event_sources

    refused = _refusal("choose which source counts")
    if refused:
        return "error", refused
    try:
        set_event_sources(store, names)
    except InputError as exc:
        return "error", str(exc)
    finally:
        forget_cached()
    if not names:
        return "success", "Every source's events count again, overlaps included."
    return "success", ("Where sources overlap, only the first of these with events on a day counts: "
                       f"{', then '.join(label_of(n) for n in names)}.")


def add_inactive_events(store: Store, events: list[str]) -> tuple[Level, str]:
    """Stop ``events`` making users active (editors only, checked here): they join ``inactive_events``."""
    from kpis.ingest.event_names import plain_name
    from kpis.metrics.activity import add_inactive_events as add

    refused = _refusal("change what counts as activity")
    if refused:
        return "error", refused
    try:
        add(store, events)
    finally:
        forget_cached()
    names = ", ".join(dict.fromkeys(plain_name(e) for e in events))
    return "success", f"These events no longer make a user active: {names}. The setting inactive_events lists them."


# -- uploads -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadOutcome:
    """What importing one upload did, ready to show."""

    name: str
    level: Level
    message: str


#: Said after an import whose events another tool's import holds too.
OVERLAP_ADVICE = ("Counted together, that activity counts twice: undo one of the two imports, or choose under "
                  "“Product events by source” which source counts where they overlap.")


def import_upload(store: Store, name: str, data: IO[bytes], who: str | None = None,
                  replace: Iterable[int] = ()) -> UploadOutcome:
    """Import one uploaded file (editors only, checked here): written to a temporary file, then
    :func:`kpis.ingest.importer.import_file`, recorded as imported by ``who`` (default: the signed-in user).

    ``replace``: earlier imports that this file replaces; each that the import finds overlapping is undone once
    the file is stored (never before: a failed import leaves them as they were).

    Bad files give the importer's message; anything unexpected gives a short message with the error's class
    (the details go to the server log), never a traceback.
    """
    refused = _refusal("import files")
    if refused:
        return UploadOutcome(name, "error", refused)
    who = who or _who()
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
        return _failed_import(name, exc)
    finally:
        os.unlink(tmp_path)
        forget_cached()
    if result.status == "duplicate":
        return UploadOutcome(name, "info", result.message())
    return _after_overlaps(store, name, result, set(replace))


def _after_overlaps(store: Store, name: str, result: ImportResult, replace: set[int]) -> UploadOutcome:
    """The outcome of an import that may overlap other tools' imports: those the user chose to replace are
    undone; any other overlap is a warning with what to do."""
    said = result.message()
    replaced = [o.import_id for o in result.overlaps if o.import_id in replace]
    kept = [o for o in result.overlaps if o.import_id not in replace]
    worst: Level = "success"
    for import_id in replaced:
        level, text = undo(store, import_id)
        said += f". Replaced: {text}"
        worst = "warning" if level == "error" else worst
    if kept:
        return UploadOutcome(name, "warning", f"{said}. {OVERLAP_ADVICE}")
    return UploadOutcome(name, worst, said)


def _failed_import(name: str, exc: Exception) -> UploadOutcome:
    """An import that failed for a reason other than the file: a full disk says so (the folder goes to the server
    log, for whoever runs the dashboard); anything else is logged with its traceback."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        logger.error("importing %r: %s", name, exc if isinstance(exc, DiskFull) else DiskFull(tempfile.gettempdir()))
        return UploadOutcome(name, "error", f"{name}: the server's disk is full, so the file could not be copied "
                                            "for reading; nothing was stored. Tell whoever runs the dashboard.")
    logger.exception("importing %r failed", name)
    return UploadOutcome(
        name, "error", f"{name}: the import failed unexpectedly ({type(exc).__name__}); nothing was stored."
    )


def import_targets(store: Store, name: str, data: IO[bytes] | bytes) -> tuple[Level, str]:
    """Import a targets CSV or the targets editor's changes (editors only, checked here) through
    :func:`app_pages.plan.import_targets`, recorded as imported by the signed-in user."""
    from app_pages import plan  # plan imports this module: import it when a page runs

    refused = _refusal("change targets")
    if refused:
        return "error", refused
    return plan.import_targets(store, name, data, who=_who())  # type: ignore[return-value]


# -- access ----------------------------------------------------------------------------------------------------------

def _refusal(action: str) -> str | None:
    """:func:`app_pages.auth.refusal`: why this session may not ``action``, or None (it may)."""
    from app_pages import auth  # auth draws with this module: import it when a check runs

    return auth.refusal(action)


def _who() -> str:
    """Who the import log records for this session: the signed-in e-mail address, or ``local``."""
    from app_pages import auth

    return auth.visitor().who


# -- display -------------------------------------------------------------------------------------------------------

#: Streamlit's date fields apply a typed date only when they lose focus; this makes Enter apply it too. Our own
#: constant script (no data in it), installed once per browser tab.
_ENTER_APPLIES_DATES = """<script>
if (!window.kpiEnterAppliesDates) {
  window.kpiEnterAppliesDates = true;
  document.addEventListener("keydown", (event) => {
    const field = event.target instanceof Element && event.target.closest('[data-testid="stDateInputField"]');
    if (event.key !== "Enter" || !field) return;
    event.preventDefault();
    event.target.dispatchEvent(new KeyboardEvent("keydown", {key: "Tab", code: "Tab", bubbles: true}));
    event.target.blur();
  }, true);
}
</script>"""


def enter_applies_dates() -> None:
    """Make Enter in a date field apply the date typed (as leaving the field does)."""
    st.html(_ENTER_APPLIES_DATES, unsafe_allow_javascript=True, width="content")


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


def demo_banner(store: Store) -> None:
    """What every page shows while the demo company is loaded, until it is removed: the demo alone (a note), or
    your data and the demo's added together, source by source (a warning: the numbers are neither's)."""
    demo = _demo_module()
    shown = cached(store, demo.whose) if demo is not None else {}
    text = demo.shown_text(shown) if demo is not None else None
    if text is None:
        return
    lead = re.match(r"[^,:]+", text)
    body = f"**{plain(lead.group(0))}**{plain(text[lead.end():])}" if lead else plain(text)
    if all(state == demo.DEMO_ONLY for state in shown.values()):
        st.info(body, icon=":material/science:")
    else:
        st.warning(body, icon=":material/science:")


def nothing_loaded() -> None:
    """What an empty database says, with the way to the Data page."""
    st.info("Nothing is loaded yet. Import your exports (Stripe, PostHog, Amplitude, ...) to see your numbers.",
            icon=":material/inbox:")
    st.page_link(DATA_PAGE, label="Import files on the Data page", icon=":material/upload_file:")


def _as_of_text(value: object) -> str:
    return "no data" if value is None or pd.isna(value) else fmt.day(value)


def _dates(values: pd.Series, with_time: bool = False) -> pd.Series:
    """Dates (and times) as text for a table, with a dash where there is none (st.dataframe would print
    "None")."""
    return values.map(lambda v: fmt.DASH if v is None or pd.isna(v)
                      else fmt.day(v) + (f" {pd.Timestamp(v):%H:%M}" if with_time else ""))


def csv_download(label: str, frame: pd.DataFrame, file_name: str, *, key: str, digits: int = 4,
                 help: str | None = None) -> None:
    """A page's own download of a table: the CSV is written by the one CSV-safety rule
    (:func:`kpis.core.csv_safety.frame_csv`), which the table toolbar's download is not, so that one is turned off
    (``client.disableDataExport``)."""
    st.download_button(label, frame_csv(frame, digits=digits), file_name=file_name, mime="text/csv",
                       icon=":material/download:", on_click="ignore", key=key, help=help)


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
                                                      help="The last day this data covers, from the data alone: "
                                                           "the last event; the last day the subscriptions export "
                                                           "recorded a creation, start, cancellation or end"),
        },
    )


def history_table(history: pd.DataFrame) -> None:
    """The import log as a table; file names and sources are shown as plain text."""
    if history.empty:
        st.caption("No file has been imported yet.")
        return
    undone = _dates(history["undone_at"], with_time=True)
    shown = pd.DataFrame({
        "import_id": history["import_id"],
        "filename": history["filename"],
        "source": [label_of(name) for name in history["source"]],
        "imported_at": _dates(history["imported_at"], with_time=True),
        "imported_by": history["imported_by"],
        "status": history["status"].where(history["undone_at"].isna(), "undone " + undone),
        "rows_added": history["rows_added"],
        "rows_updated": history["rows_updated"],
        "duplicates": history["duplicates"],
        "rows_rejected": history["rows_rejected"],
        "data_as_of": _dates(history["data_as_of"]),
        "notes": history["notes"],
    })
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "import_id": st.column_config.NumberColumn("Import", format="%d", width=60),
            "filename": st.column_config.TextColumn("File"),  # sized to the longest name, never cut
            "source": st.column_config.TextColumn("Recognised as"),
            "imported_at": st.column_config.TextColumn("Imported (UTC)", width=120),
            "imported_by": st.column_config.TextColumn("By", width=50),
            "status": st.column_config.TextColumn("Status"),  # "undone 2026-01-05 10:00" whole
            "rows_added": st.column_config.NumberColumn("Added", format="localized", width=70),
            "rows_updated": st.column_config.NumberColumn("Updated", format="localized", width=65),
            "duplicates": st.column_config.NumberColumn("Duplicates", format="localized", width=75),
            "rows_rejected": st.column_config.NumberColumn("Rejected", format="localized", width=65),
            "data_as_of": st.column_config.TextColumn("Latest date", width=100,
                                                      help="The latest date in the file (it may lie in the "
                                                           "future, e.g. a scheduled end); the newest export of "
                                                           "a record wins by it"),
            "notes": st.column_config.TextColumn("How it was read", width=220,
                                                 help="Bytes that were not valid UTF-8, a cp1252 file, rows "
                                                      "skipped as totals: what the import message said"),
        },
    )


# -- KPI pages -----------------------------------------------------------------------------------------------------

def kpi_error(exc: Exception) -> None:
    """A KPI that cannot be computed from the stored data (e.g. mixed currencies): the reason, not a traceback."""
    message("warning", str(exc))


def last_complete(store: Store, chosen: Filters, grain: str | None = None) -> LastComplete | None:
    """The last complete period at the filters' grain (or ``grain``) by the one rule of :mod:`kpis.metrics.reporting`:
    it ends on or before the date range's end when that was moved, else the earlier source's as-of date. None
    without data."""
    return computed(store, last_complete_period, grain or chosen.grain, end=chosen.as_of_chosen)


def as_of_line(period: LastComplete | None) -> None:
    """Where each source ends and which period the page's headlines show, in one caption."""
    if period is None:
        return
    st.caption(plain(period.statement()),
               help="Each source's last day with data. Headlines, targets, anomalies and the review speak of the "
                    "last period complete in every source (or by the date range's end, when moved); a chart runs "
                    "to its own source's last day, and the period holding it is partial.")


def series_of(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of a KPI table as a series table: ``period_start``, ``value``, ``partial``."""
    if table.empty:
        return pd.DataFrame({"period_start": [], "value": [], "partial": []})
    return pd.DataFrame({"period_start": table["period_start"], "value": table[column].astype("float64"),
                         "partial": table["partial"].astype(bool)}).reset_index(drop=True)


def shown_from(table: pd.DataFrame, start: object, grain: str) -> pd.DataFrame:
    """The rows of a KPI table from the period holding ``start`` on (the date range's start)."""
    if table.empty:
        return table
    first = period_start(start, grain)  # type: ignore[arg-type]
    return table[table["period_start"] >= first].reset_index(drop=True)


def kpi_card(kpi: Kpi, table: pd.DataFrame, grain: str, against: str, *, shown_from_day: object = None,
             label: str | None = None, data_start: date | None = None, period: date | None = None) -> None:
    """One scorecard tile: the value of the last complete period, its change against the previous period (or
    the same period a year ago), a sparkline, and the running period marked partial.

    ``table`` is the KPI's series (``period_start``, ``value``, ``partial``) over its whole history, so that a
    year-ago comparison works even when the sparkline starts later (``shown_from_day``). A period that starts
    before ``data_start`` (the source's first day with data) is never compared with. ``period``: the period the
    headline shows (:func:`last_complete`), else the table's last complete one.
    """
    headline = compare(table, grain, against, data_start=data_start, period=period)
    other = compare(table, grain, "previous" if against == "year_ago" else "year_ago", data_start=data_start,
                    period=period)
    shown = shown_from(table, shown_from_day, grain) if shown_from_day is not None else table
    warming = warmup.flags(kpi, shown["period_start"], grain, data_start)
    # st.metric's sparkline takes numbers only: undefined periods and periods warming up are left out (never drawn
    # as zero, never as a ramp that only says the data is young)
    spark = [round(float(v), 6) for v, w in zip(shown["value"], warming, strict=True) if fmt.finite(v) and not w]
    word = "a year ago" if against == "year_ago" else "prev."
    warm = warming_text(kpi, grain, data_start, headline.period, headline.reference_period)
    change = float("nan") if warm else headline.change
    delta = fmt.kpi_delta(kpi, change)
    zero = fmt.is_zero(delta)
    st.metric(
        label or kpi.label,
        fmt.value(kpi, headline.value),
        delta=delta,
        delta_color="off" if zero else ("normal" if kpi.higher_is_better else "inverse"),
        delta_arrow="off" if zero else "auto",
        delta_description=_delta_description(kpi, headline, word, warm),
        chart_data=spark if len(spark) > 1 else None,
        help=f"{kpi.definition} Value of the last complete period ({fmt.period(headline.period, grain)}), "
             f"compared with {fmt.period(headline.reference_period, grain)}." + (f" {warm}" if warm else ""),
        border=True,
    )
    notes = [fmt.period(headline.period, grain)]
    other_word = "vs a year ago" if against == "previous" else "vs previous"
    if (other.reference_period is not None and fmt.finite(other.change)
            and not warming_text(kpi, grain, data_start, other.period, other.reference_period)):
        notes.append(f"{other_word}: {fmt.kpi_delta(kpi, other.change)}")
    if headline.running_period is not None:
        notes.append(f"running {fmt.period(headline.running_period, grain)}: "
                     f"{fmt.value(kpi, headline.running_value)} (partial)")
    st.caption(plain(" · ".join(notes)))


def warming_text(kpi: Kpi, grain: str, first: date | None, *periods: object) -> str | None:
    """Why a tile does not compare: a sentence when one of ``periods`` warms up (:mod:`kpis.metrics.warmup`).

    None when none does.
    """
    if first is None or not any(warmup.period_warming_up(kpi, p, grain, first) for p in periods if p is not None):
        return None
    return f"Warming up, so not compared: {warmup.reason(kpi, first)}"


def _delta_description(kpi: Kpi, headline: Comparison, word: str, warm: str | None) -> str:
    """What the tile's change is against, or why there is none: warming up; an unbounded ratio (the quick ratio
    of a period that lost nothing); nothing to compare with."""
    if warm:
        return "warming up"
    if kpi.undefined_means and not fmt.finite(headline.value):
        return "the ratio is unbounded"
    if kpi.undefined_means and not fmt.finite(headline.reference):
        return f"{word}: {kpi.undefined_means}"
    return f"vs {word}" if fmt.finite(headline.change) else "nothing to compare with"


def kpi_grid(cards: list[tuple[Kpi, pd.DataFrame, str]], against: str, *, per_row: int = 4,
             shown_from_day: object = None, data_start: dict[str, date | None] | None = None,
             period: date | None = None) -> None:
    """Scorecard tiles (KPI, its series, its grain) in rows of ``per_row``; ``data_start``: the first day with
    data per source (``revenue``, ``engagement``); ``period``: the period every headline shows."""
    for offset in range(0, len(cards), per_row):
        columns = st.columns(per_row)
        for column, (kpi, table, grain) in zip(columns, cards[offset:offset + per_row], strict=False):
            with column:
                kpi_card(kpi, table, grain, against, shown_from_day=shown_from_day,
                         data_start=(data_start or {}).get(kpi.source), period=period)


def coming_next(title: str, text: str) -> None:
    """A page that exists (its URL works) but whose content comes next."""
    st.title(title)
    st.info(text, icon=":material/construction:")


def revenue_for(store: Store, chosen: Filters) -> tuple[pd.DataFrame | None, date | None]:
    """Every revenue KPI per period for the chosen filters over the whole history (None with a message when
    there is nothing to show), and the revenue data's as-of date."""
    from kpis.metrics.revenue import revenue_as_of, revenue_table

    as_of = cached(store, revenue_as_of)
    if as_of is None:
        st.info("No subscriptions are loaded yet: import a Stripe subscriptions export on the Data page.",
                icon=":material/inbox:")
        return None, None
    try:
        table = computed(store, revenue_table, chosen.grain, end=chosen.end_for(as_of), segment=chosen.segment)
    except (DataError, InputError) as exc:
        kpi_error(exc)
        return None, as_of
    if table.empty:
        st.info("No paying customers in this segment and date range.", icon=":material/inbox:")
        return None, as_of
    return table, as_of


@dataclass(frozen=True)
class RevenuePage:
    """What every revenue page starts from: the store, the filters, the KPI table over the whole history, the
    periods shown (from the filters' start), the revenue data's as-of date and cut-off day, and the last
    complete period (:func:`last_complete`)."""

    store: Store
    chosen: Filters
    table: pd.DataFrame
    shown: pd.DataFrame
    as_of: date
    cut: date
    period: LastComplete | None = None

    @property
    def headline(self) -> date | None:
        """The first day of the period the headlines show."""
        return self.period.start if self.period else None

    @property
    def judged_on(self) -> date | None:
        """The reporting as-of date, on which anomalies and targets are judged."""
        return self.period.as_of if self.period else None


def _page_start(title: str) -> tuple[Store, Filters]:
    """Title a KPI page; the store and the checked filters, or the page stops with a message when nothing is
    loaded."""
    from app_pages import filters  # filters imports this module: import it when a page runs

    store = open_store()
    chosen = filters.current()
    st.title(title)
    if chosen is None:
        nothing_loaded()
        st.stop()
    return store, chosen


def revenue_page(title: str) -> RevenuePage:
    """Title a revenue page and load its data; stops the page with a message when there is nothing to show."""
    store, chosen = _page_start(title)
    table, as_of = revenue_for(store, chosen)
    if table is None or as_of is None:
        st.stop()
    period = last_complete(store, chosen)
    as_of_line(period)
    return RevenuePage(store, chosen, table, shown_from(table, chosen.start, chosen.grain), as_of,
                       chosen.end_for(as_of), period)


def events_page(title: str) -> tuple[Store, Filters, date]:
    """Title a product-events page: the store, the filters and the events' as-of date; stops the page with a
    message when nothing is loaded."""
    store, chosen = _page_start(title)
    as_of = events_as_of(store)
    if as_of is None:
        st.stop()
    as_of_line(last_complete(store, chosen))
    return store, chosen, as_of


def events_as_of(store: Store) -> date | None:
    """The last event day (None when no events are loaded), with a message when there are none."""
    from kpis.metrics.engagement import engagement_as_of

    as_of = cached(store, engagement_as_of)
    if as_of is None:
        st.info("No product events are loaded yet: import a PostHog, Amplitude, Mixpanel or GA4 export on the Data "
                "page.", icon=":material/inbox:")
    return as_of


def data_starts(store: Store) -> dict[str, date | None]:
    """The first day with data per source (``revenue``: the first paid day, ``engagement``: the first event
    day), so that a period cut short at the start is not compared with and a KPI warming up
    (:mod:`kpis.metrics.warmup`) is marked."""
    return cached(store, warmup.first_days)
