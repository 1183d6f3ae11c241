"""The one way an export is read: decode → detect → stage.

:func:`prepare` does the first two steps once: the upload becomes UTF-8 text in a temporary folder of ours
(:func:`kpis.ingest.textfile.decode`), its shape is sniffed and its source recognised
(:func:`kpis.ingest.sources.detect.detect`). The :class:`Prepared` result is what a preview shows
(:mod:`kpis.ingest.preview`) and what an import stages and merges (:func:`kpis.ingest.importer.import_prepared`),
so a file previewed on the data page is imported from that same text, read once. Never imports streamlit.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kpis.core.errors import InputError
from kpis.ingest.sources import detect
from kpis.ingest.sources.base import Sniff, Source, sniff
from kpis.ingest.textfile import TextFile, Workdir, decode
from kpis.store.db import Store


@dataclass(frozen=True, eq=False)
class Prepared:
    """An upload decoded and recognised, ready to stage: its text (in a temporary folder that lives as long as
    this object, or until :meth:`close`), its sniffed shape and its source."""

    text: TextFile
    shape: Sniff
    source: Source
    workdir: Workdir

    @property
    def name(self) -> str:
        """The file's name as messages show it."""
        return self.text.name

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes as uploaded: the same file twice is recognised by it."""
        return self.text.sha256

    @property
    def closed(self) -> bool:
        """Whether the text was removed (:meth:`close`): it can no longer be imported."""
        return self.workdir.removed

    def close(self) -> None:
        """Remove the temporary text (again: nothing)."""
        self.workdir.remove()

    def readable(self) -> None:
        """Raise :class:`InputError` when the text is gone (closed, or its folder removed): upload it again."""
        if self.closed or not self.text.path.exists():
            raise InputError("the file's temporary copy is gone; upload it again", file=self.name)

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def display_name(path: str | os.PathLike[str], name: str | None = None) -> str:
    """The name messages give the file: ``name`` or the file's own, control characters as spaces (a line break
    in a name would split the one-line messages).

    >>> display_name("/tmp/x.csv"), display_name("/tmp/x", "a\\nb.csv")
    ('x.csv', 'a b.csv')
    """
    return re.sub(r"[\x00-\x1f\x7f]", " ", name or os.path.basename(os.fspath(path)))


def is_the_database(store: Store, path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is the open database file or its WAL: reading it would open a second descriptor on it, and
    closing that would drop this process's lock on it (see :mod:`kpis.store.backup`). Compared by ``stat`` only."""
    if str(store.path) == ":memory:":
        return False
    own = (store.path, store.path.with_name(store.path.name + ".wal"))
    return any(_same_file(path, file) for file in own)


def _same_file(a: str | os.PathLike[str], b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def prepare(path: str | os.PathLike[str], name: str | None = None, *, store: Store | None = None,
            keep: bool = False) -> Prepared:
    """Decode the export at ``path`` and recognise it; the caller closes the result (or uses it in ``with``).

    ``store``: refuse the store's own database file. ``keep``: the result stays importable after the file at
    ``path`` is deleted (see :func:`kpis.ingest.textfile.decode`). Raises :class:`InputError` (with the file's
    name) for a file that cannot be imported, :class:`kpis.core.errors.DiskFull` when there is no room to decode.
    """
    display = display_name(path, name)
    if store is not None and is_the_database(store, path):
        raise InputError("this is the dashboard's own database, not an export: nothing was read", file=display)
    text, workdir = decode(path, display, keep=keep)
    try:
        shape = sniff(text)
        return Prepared(text, shape, detect.detect(shape), workdir)
    except BaseException:
        workdir.remove()
        raise


def already_imported(store: Store, sha256: str) -> tuple[int, str] | None:
    """The first live import of these exact bytes (its id and source), or None: importing them again changes
    nothing. The preview asks to tell the user; the import asks again under its lock, as the answer may have
    changed since."""
    rows = store.query("SELECT import_id, source FROM imports WHERE sha256 = ? AND status = 'ok' "
                       "ORDER BY import_id LIMIT 1", [sha256])
    return (int(rows[0][0]), str(rows[0][1])) if rows else None
