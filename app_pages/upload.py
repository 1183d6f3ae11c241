"""The data page's upload flow: preview each file (what it was recognised as, its rows, its first lines), then
import the recognised ones when the user says so, with progress.

Plain functions built from :mod:`app_pages.ui` parts; the reading itself is :func:`kpis.ingest.preview.preview_file`,
and a previewed upload is imported from what its preview read (:func:`kpis.ingest.importer.import_prepared`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import streamlit as st

from app_pages.ui import actions, auth
from app_pages.ui.text import ICONS, Level, message, plain
from kpis.ingest.preview import FilePreview, preview_file
from kpis.store.db import Store

logger = logging.getLogger(__name__)

#: Session key of the previews already computed, by the uploader's file id (an upload is read once).
PREVIEWS = "data_page_previews"
#: From this size on, the progress names the file and its size while it imports.
LARGE_BYTES = 20 * 1024 * 1024


class Upload(Protocol):
    """What we use of Streamlit's ``UploadedFile``."""

    file_id: str
    name: str
    size: int

    def seek(self, offset: int, whence: int = 0) -> int: ...
    def read(self, size: int = -1) -> bytes: ...
    def seekable(self) -> bool: ...


def file_size(size: int) -> str:
    """A byte count as people read it.

    >>> file_size(512), file_size(2_400), file_size(49_824_803), file_size(3 * 1024**3)
    ('512 bytes', '2.3 KB', '47.5 MB', '3.0 GB')
    """
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < scale * 1024 or unit == "GB":
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover


def _preview(store: Store, upload: Upload) -> FilePreview:
    """Read one upload; an unexpected failure is a short message (details in the server log), never a traceback."""
    try:
        with actions.spooled(upload, "kpi-preview-") as path:  # type: ignore[arg-type]
            return preview_file(path, upload.name, store=store, keep=True)
    except Exception as exc:
        full = actions.disk_full(exc, upload.name, "previewing", "it will not be imported")
        if full is not None:
            return FilePreview(upload.name, upload.size, error=full)
        logger.exception("previewing %r failed", upload.name)
        return FilePreview(upload.name, upload.size,
                           error=f"{upload.name}: the file could not be read ({type(exc).__name__}); "
                                 "it will not be imported.")


def previews(store: Store, uploads: Sequence[Upload]) -> list[FilePreview]:
    """The preview of every upload, each read once per session (kept by the uploader's file id, with the file as
    read for its import; removed with the upload)."""
    kept: dict[str, FilePreview] = st.session_state.setdefault(PREVIEWS, {})
    for stale in set(kept) - {u.file_id for u in uploads}:
        kept.pop(stale).close()
    found = []
    for upload in uploads:
        if upload.file_id not in kept:
            with st.spinner(f"Reading {plain(upload.name)} ({file_size(upload.size)})…"):
                kept[upload.file_id] = _preview(store, upload)
        found.append(kept[upload.file_id])
    return found


def _rows(preview: FilePreview) -> str:
    if preview.rows is None:
        return "rows unknown"
    words = f"{preview.rows:,} row{'' if preview.rows == 1 else 's'}"
    return words if preview.rows_exact else f"about {words} (counted from its line breaks)"


def show_preview(preview: FilePreview, key: str = "") -> None:
    """One file before import: what it was recognised as, its size and rows and first lines, or why not; when
    another tool's import holds the same activity, says so and asks whether to import anyway or replace it
    (the choice is kept under ``key``, see :func:`replacing`)."""
    with st.container(border=True):
        name = plain(preview.name)
        if not preview.ok:
            st.markdown(f":material/block: **{name}** · {file_size(preview.size)}")
            message("error", preview.error or "")
            return
        st.markdown(f":material/description: **{name}** · {file_size(preview.size)} · recognised as "
                    f"**{plain(preview.label)}** · {_rows(preview)}")
        notes = []
        if preview.read_as != "utf-8":
            notes.append(f"read as {preview.read_as}")
        if preview.already_imported is not None:
            notes.append(f"already imported as import {preview.already_imported}: importing it again changes "
                         "nothing")
        if notes:
            st.caption(plain("; ".join(notes)))
        if preview.overlaps:
            _overlap_choice(preview, key)
        if preview.sample.empty:
            st.caption("The file holds a header but no data lines.")
        else:
            st.caption(f"Its header and first {len(preview.sample)} line{'' if len(preview.sample) == 1 else 's'}, "
                       "as written in the file:")
            st.dataframe(preview.sample, hide_index=True, width="stretch",
                         column_config={c: st.column_config.TextColumn(c) for c in preview.sample.columns})


#: Session key prefix of each upload's overlap choice.
_OVERLAP_CHOICE = "overlap_choice_"
_ANYWAY = "Import anyway"


def overlap_text(preview: FilePreview) -> str:
    """The warning about other tools' imports that hold the same activity as ``preview``'s file."""
    parts = [f"{o.share:.0%} with import {o.import_id} from {o.tool} ({o.filename})" for o in preview.overlaps]
    return (f"These events overlap {' and '.join(parts)}: the same users, on the same days, with similar counts "
            "per event. Imported as well, that activity counts twice in every product KPI.")


def _overlap_choice(preview: FilePreview, key: str) -> None:
    ids = [o.import_id for o in preview.overlaps]
    named = " and ".join(f"import {i}" for i in ids)
    st.warning(plain(overlap_text(preview)), icon=":material/content_copy:")
    st.radio("What to do", [_ANYWAY, f"Replace {named}"], key=f"{_OVERLAP_CHOICE}{key}", horizontal=True,
             help=f"Replace imports this file, then undoes {named} (a backup is made first): only this file's "
                  "events then count. Import anyway keeps both; the Data page can then choose which source "
                  "counts where they overlap.")


def replacing(preview: FilePreview, key: str) -> list[int]:
    """The imports the user chose to replace with this upload (none unless they picked Replace)."""
    choice = st.session_state.get(f"{_OVERLAP_CHOICE}{key}", _ANYWAY)
    return [] if choice == _ANYWAY else [o.import_id for o in preview.overlaps]


def import_button(count: int) -> bool:
    """The button that imports the recognised files (the label says how many)."""
    return st.button(f"Import {count} file{'' if count == 1 else 's'}", type="primary", icon=":material/upload:",
                     key="import_uploads")


def import_all(store: Store, uploads: Sequence[Upload],
               found: Sequence[FilePreview]) -> list[tuple[Level, str]]:
    """Import every recognised upload, one after the other, with a progress bar naming the file (and its size);
    the files that were not recognised are reported as skipped. Returns the messages, in upload order.

    Editors only: a viewer gets one refusal and nothing is read (each import checks again as well)."""
    refused = auth.refusal("import")
    if refused:
        return [("error", refused)]
    todo = [u for u, p in zip(uploads, found, strict=True) if p.ok]
    outcomes: list[tuple[Level, str]] = []
    label = f"Importing {len(todo)} file{'' if len(todo) == 1 else 's'}…"
    with st.status(label, expanded=True) as box:
        bar = st.progress(0.0)
        done = 0
        for upload, preview in zip(uploads, found, strict=True):
            if not preview.ok:
                outcomes.append(("error", preview.error or f"{upload.name}: not imported"))
                continue
            big = upload.size >= LARGE_BYTES
            what = f"{plain(upload.name)} ({file_size(upload.size)})"
            bar.progress(done / len(todo), text=f"File {done + 1} of {len(todo)}: {what}"
                         + (" — a large file, this can take a minute" if big else ""))
            outcome = actions.import_upload(store, upload.name, upload,  # type: ignore[arg-type]
                                            replace=replacing(preview, upload.file_id), prepared=preview.prepared)
            preview.close()  # the uploader starts afresh after an import: its copy is no longer needed
            outcomes.append((outcome.level, outcome.message))
            st.write(f"{ICONS[outcome.level]} {what}")
            done += 1
        bar.progress(1.0, text=f"{done} of {len(todo)} done")
        failed = any(level == "error" for level, _ in outcomes)
        box.update(label="Import finished" + (" with errors" if failed else ""), state="error" if failed else
                   "complete", expanded=False)
    return outcomes
