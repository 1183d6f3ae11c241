"""Tables of the Data page and every page's own CSV download: dates as text, file names shown as typed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import format as fmt
from kpis.core.csv_safety import frame_csv
from kpis.ingest.sources.detect import label_of


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
