"""Every write the dashboard makes, each through one wrapper (:func:`perform`): check the signed-in user's
permission (:func:`app_pages.ui.auth.refusal`, whatever the page showed), try, log what was unexpected, answer in
one line, forget the cached results.

Importing, undoing, backing up, loading and removing the demo company, choosing the sources that count,
changing what counts as activity, setting the activation event, importing targets and adding or removing notes: no
other module writes. A bad input gives the module's own message; anything unexpected gives a short message with the
error's class (the details go to the server log), never a traceback. No SQL here: the writes live in :mod:`kpis`.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import IO

from app_pages.ui import auth
from app_pages.ui import format as fmt
from app_pages.ui.cache import forget_cached
from app_pages.ui.text import Level, Said
from kpis.core.errors import DiskFull, InputError
from kpis.ingest.event_names import plain_name
from kpis.ingest.importer import ImportResult, import_file, import_prepared
from kpis.ingest.importer import undo as undo_with_backup
from kpis.ingest.pipeline import Prepared
from kpis.ingest.sources.detect import event_source_names, label_of
from kpis.ops import demo
from kpis.plan import annotations
from kpis.store import settings
from kpis.store.backup import backup, backup_dir
from kpis.store.db import Store

logger = logging.getLogger(__name__)

#: Said after an import whose events another tool's import holds too.
OVERLAP_ADVICE = ("Counted together, that activity counts twice: undo one of the two imports, or choose under "
                  "“Product events by source” which source counts where they overlap.")


def attempt(what: str, change: Callable[[], list[Said]], failed: Callable[[Exception], str], *,
            forget: bool = True) -> list[Said]:
    """``change()``'s messages; a bad input (:class:`InputError`) is its message, anything else is logged with
    its traceback (``what`` failed) and answered with ``failed(error)``; the cached results are forgotten after
    the attempt (unless ``forget`` is False: the write changes no data)."""
    try:
        return change()
    except InputError as exc:
        return [("error", str(exc))]
    except Exception as exc:
        logger.exception("%s failed", what)
        return [("error", failed(exc))]
    finally:
        if forget:
            forget_cached()


def perform(action: str, change: Callable[[], list[Said]], failed: Callable[[Exception], str], *,
            forget: bool = True) -> list[Said]:
    """The one role-checked write: the refusal when this session may not take ``action`` (a key of
    :data:`kpis.core.access.WRITES`; nothing is written), else :func:`attempt`."""
    refused = auth.refusal(action)
    if refused:
        return [("error", refused)]
    return attempt(action, change, failed, forget=forget)


def _unexpected(doing: str, nothing: str = "nothing changed") -> Callable[[Exception], str]:
    """``Undoing import 3 failed unexpectedly (RuntimeError); nothing changed.``"""
    return lambda exc: f"{doing} failed unexpectedly ({type(exc).__name__}); {nothing}."


def _who() -> str:
    """Who the import log records for this session: the signed-in e-mail address, or ``local``."""
    return auth.visitor().who


@contextmanager
def spooled(data: IO[bytes] | bytes, prefix: str, suffix: str = "") -> Iterator[str]:
    """``data`` copied to a temporary file, removed afterwards (the importer and the preview read files by path);
    an upload is left at its start again, for whoever reads it next."""
    handle, tmp_path = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as tmp:
            if isinstance(data, bytes):
                tmp.write(data)
            else:
                if data.seekable():
                    data.seek(0)
                shutil.copyfileobj(data, tmp, 4 * 1024 * 1024)
        yield tmp_path
    finally:
        os.unlink(tmp_path)
        if not isinstance(data, bytes) and data.seekable():
            data.seek(0)


# -- imports and undo ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadOutcome:
    """What importing one upload did, ready to show."""

    name: str
    level: Level
    message: str


def import_upload(store: Store, name: str, data: IO[bytes], who: str | None = None,
                  replace: Iterable[int] = (), prepared: Prepared | None = None) -> UploadOutcome:
    """Import one uploaded file (editors only), recorded as imported by ``who`` (default: the signed-in user):
    from what its preview read when there is one (``prepared``: no second copy, no second reading), else written
    to a temporary file and read by :func:`kpis.ingest.importer.import_file`.

    ``replace``: earlier imports that this file replaces; each that the import finds overlapping is undone once
    the file is stored (never before: a failed import leaves them as they were).
    """
    def change() -> list[Said]:
        if prepared is not None:
            result = import_prepared(store, prepared, who=who or _who())
        else:
            with spooled(data, "kpi-upload-") as path:
                result = import_file(store, path, name=name, who=who or _who())
        if result.status == "duplicate":
            return [("info", result.message())]
        return [_after_overlaps(store, result, set(replace))]

    level, text = perform("import", change, lambda exc: _failed_import(name, exc))[0]
    return UploadOutcome(name, level, text)


def _after_overlaps(store: Store, result: ImportResult, replace: set[int]) -> Said:
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
        return "warning", f"{said}. {OVERLAP_ADVICE}"
    return worst, said


def disk_full(exc: BaseException, name: str, doing: str, outcome: str) -> str | None:
    """The one answer to a full disk (or quota) while ``doing`` something with the upload ``name`` (the folder goes
    to the server log, for whoever runs the dashboard), ending in ``outcome``; None for any other error."""
    if not (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)):
        return None
    logger.error("%s %r: %s", doing, name, exc if isinstance(exc, DiskFull) else DiskFull(tempfile.gettempdir()))
    return (f"{name}: the server's disk is full, so the file could not be copied for reading; {outcome}. Tell "
            "whoever runs the dashboard.")


def _failed_import(name: str, exc: Exception) -> str:
    """An import that failed for a reason other than the file: a full disk says so (:func:`disk_full`); anything
    else was logged with its traceback."""
    return (disk_full(exc, name, "importing", "nothing was stored")
            or f"{name}: the import failed unexpectedly ({type(exc).__name__}); nothing was stored.")


def import_targets(store: Store, name: str, data: IO[bytes] | bytes) -> Said:
    """Import a targets CSV (an upload, or the targets editor's changes; editors only) through the importer,
    accepting targets only, recorded as imported by the signed-in user."""
    def change() -> list[Said]:
        with spooled(data, "kpi-targets-", ".csv") as path:
            result = import_file(store, path, name=name, who=_who(), expect=("targets_csv",))
        return [("info" if result.status == "duplicate" else "success", result.message())]

    return perform("change_targets", change, _unexpected(f"{name}: the import", "nothing was stored"))[0]


def undo(store: Store, import_id: int) -> Said:
    """Undo one import (editors only); returns the message to show."""
    return perform("undo", lambda: [("success", undo_with_backup(store, import_id).summary())],
                   _unexpected(f"Undoing import {import_id}"))[0]


def back_up(store: Store) -> Said:
    """Write a backup of the database into its backups folder now (editors only): the command line cannot while
    the dashboard holds the database open."""
    def change() -> list[Said]:
        folder = backup_dir(store.path)
        folder.mkdir(parents=True, exist_ok=True)  # a folder: the backup gets a new file name inside it
        made = backup(store, folder)
        return [("success", f"The database is backed up as {made} ({made.stat().st_size / 1e6:,.1f} MB).")]

    return perform("back_up", change, _unexpected("The backup", "nothing was changed"), forget=False)[0]


# -- the demo company ----------------------------------------------------------------------------------------------

def offer_demo(store: Store) -> list[Said]:
    """Load the demo company into an empty database the first time one is opened (editors only; the rule is
    :func:`kpis.ops.demo.offer_demo`); an empty list once done or when it was not offered."""
    def change() -> list[Said]:
        results = demo.offer_demo(store)
        if results:
            logger.info("demo company loaded: %d files", len(results))
        return []

    return perform("load_demo", change, lambda exc: (
        f"The demo company could not be loaded ({type(exc).__name__}). Import your own exports on the Data page."))


def remove_demo(store: Store) -> list[Said]:
    """Remove the demo company (editors only); returns the messages to show."""
    def change() -> list[Said]:
        removal = demo.remove_demo_with_backup(store)
        said = removal.summary()
        return [("success", said[0].upper() + said[1:])] + [("info", line) for line in removal.messages]

    return perform("remove_demo", change, _unexpected("Removing the demo company"))


# -- settings ------------------------------------------------------------------------------------------------------

def save_event_sources(store: Store, names: list[str]) -> Said:
    """Set which sources count where they overlap (editors only)."""
    def change() -> list[Said]:
        settings.set_event_sources(store, names, event_source_names())
        if not names:
            return [("success", "Every source's events count again, overlaps included.")]
        return [("success", "Where sources overlap, only the first of these with events on a day counts: "
                            f"{', then '.join(label_of(n) for n in names)}.")]

    return perform("choose_sources", change, _unexpected("Saving the sources that count"))[0]


def add_inactive_events(store: Store, events: list[str]) -> Said:
    """Stop ``events`` making users active (editors only): they join ``inactive_events``."""
    def change() -> list[Said]:
        settings.add_inactive_events(store, events)
        names = ", ".join(dict.fromkeys(plain_name(e) for e in events))
        return [("success", f"These events no longer make a user active: {names}. The setting inactive_events "
                            "lists them.")]

    return perform("set_inactive_events", change, _unexpected("Changing what counts as activity"))[0]


def save_activation(store: Store, event: str, days: int, known: list[str]) -> list[Said]:
    """Set the activation event (empty: unset) and window (editors only), checked as the command line checks them;
    a note when no imported event has that name."""
    def change() -> list[Said]:
        note = settings.set_activation(store, event, days, known)
        if not event:
            said: list[Said] = [("success", "The activation event is unset: the activation rate waits for one.")]
        else:
            said = [("success", f"Activated now means: did {event} within {days} day{'s' if days != 1 else ''} of "
                                "the first active day.")]
        return said + ([("warning", note)] if note else [])

    return perform("set_activation", change, _unexpected("Saving the activation event"))


# -- notes on dates ------------------------------------------------------------------------------------------------

def add_note(store: Store, day: date, text: str) -> Said:
    """Add a note as the signed-in user (editors only); returns the message to show."""
    def change() -> list[Said]:
        annotations.add(store, day, text, who=_who())
        return [("success", f"Added the note on {fmt.day(day)}.")]

    return perform("add_note", change, _unexpected("Adding the note"))[0]


def remove_note(store: Store, annotation_id: int) -> Said:
    """Remove a note (editors only); returns the message to show."""
    def change() -> list[Said]:
        done = annotations.remove(store, annotation_id)
        return [("success", done[:1].upper() + done[1:] + ".")]

    return perform("remove_note", change, _unexpected("Removing the note"))[0]
