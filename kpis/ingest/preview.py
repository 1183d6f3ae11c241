"""Look at an export before importing it: which format it is, how many rows it holds, its first lines.

:func:`preview_file` runs the first steps of the import's pipeline (:func:`kpis.ingest.pipeline.prepare`:
decode, detect) and stores nothing, so the data page can show what each upload was recognised as and let the user
decide before anything is written. The preview keeps what it prepared: :func:`kpis.ingest.importer.import_prepared`
imports it without reading the file again. Never imports streamlit.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from kpis.core.errors import InputError
from kpis.ingest.overlap import Overlap, overlaps
from kpis.ingest.pipeline import Prepared, already_imported, prepare
from kpis.ingest.sources.base import Sniff, Source
from kpis.ingest.sources.detect import EVENT_SOURCES
from kpis.store.db import Store
from kpis.store.settings import timezone

#: Lines shown in the preview.
SAMPLE_ROWS = 5
#: Files up to this size (as UTF-8 text) have their records counted exactly; larger ones by their line breaks.
EXACT_COUNT_BYTES = 64 * 1024 * 1024
#: A cell longer than this is cut in the preview (the import reads it whole).
MAX_CELL = 200
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class FilePreview:
    """What one upload looks like before it is imported.

    ``error`` is the message to show when the file cannot be imported (nothing else is then known);
    ``rows_exact`` is False when ``rows`` was estimated from line breaks (large files); ``already_imported`` is
    the live import that holds these exact bytes (importing them again changes nothing); ``overlaps`` are the
    earlier imports from other tools that hold much of the same activity (events files up to
    :data:`EXACT_COUNT_BYTES`; the import itself checks every file).
    """

    name: str
    size: int
    source: str | None = None
    label: str | None = None
    rows: int | None = None
    rows_exact: bool = True
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    read_as: str = "utf-8"
    already_imported: int | None = None
    error: str | None = None
    overlaps: tuple[Overlap, ...] = ()
    #: the decoded and recognised file, for the import (None when the file cannot be imported)
    prepared: Prepared | None = None

    @property
    def ok(self) -> bool:
        """Whether the file can be imported."""
        return self.error is None

    def close(self) -> None:
        """Remove the prepared file's temporary text (it also goes when the preview is garbage collected)."""
        if self.prepared is not None:
            self.prepared.close()

#: Longest JSON line the preview reads (characters); the import itself has its own caps.
PREVIEW_LINE_CHARS = 4 * 2**20


def preview_file(path: str | os.PathLike[str], name: str | None = None, *, store: Store | None = None,
                 rows: int = SAMPLE_ROWS, keep: bool = False) -> FilePreview:
    """Recognise the export at ``path`` and read its header and first ``rows`` records; stores nothing.

    Bad files (not text, empty, a shape we do not know) give a preview whose ``error`` is the importer's
    message; any other exception propagates (:class:`kpis.core.errors.DiskFull` when there is no room for a temporary
    copy). The preview's ``prepared`` file can be imported (:func:`kpis.ingest.importer.import_prepared`); with
    ``keep`` even after the file at ``path`` is deleted.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "e.csv").write_text("user_id,event,timestamp\\nu1,=1+1,2026-01-05\\n", encoding="utf-8")
    >>> seen = preview_file(folder / "e.csv")
    >>> seen.source, seen.rows, seen.sample.to_dict("records")
    ('events_csv', 1, [{'user_id': 'u1', 'event': '=1+1', 'timestamp': '2026-01-05'}])
    """
    display = name or Path(path).name
    size = Path(path).stat().st_size if Path(path).is_file() else 0
    try:
        file = prepare(path, display, store=store, keep=keep)
    except InputError as exc:
        return FilePreview(display, size, error=str(exc.with_file(display)))
    try:
        return _preview(file, display, size, store, rows)
    except InputError as exc:
        file.close()
        return FilePreview(display, size, error=str(exc.with_file(display)))
    except BaseException:
        file.close()
        raise


def _preview(file: Prepared, display: str, size: int, store: Store | None, rows: int) -> FilePreview:
    count, exact = _count(file.shape)
    reader = file.source.records
    if reader is not None and exact:  # records that are not lines (an indented JSON page): the format counts them
        count, first = reader(file.shape, rows)
        sample = _frame(first)
    else:
        sample = _sample(file.shape, rows)
    existing = already_imported(store, file.sha256) if store is not None else None
    known = existing[0] if existing else None
    found = _overlaps(store, file.shape, file.source) if store is not None and known is None else ()
    return FilePreview(display, size, file.source.NAME, file.source.LABEL, count, exact, sample, file.text.note,
                       known, overlaps=found, prepared=file)


def _overlaps(store: Store, shape: Sniff, source: Source) -> tuple[Overlap, ...]:
    """The events of the file against those already stored (:func:`kpis.ingest.overlap.overlaps`), read on a cursor
    of its own into temporary tables that vanish with it: nothing is written to the database. Not for files
    over :data:`EXACT_COUNT_BYTES`, nor when the file cannot be read (the import will say why)."""
    if source.NAME not in EVENT_SOURCES or shape.file.path.stat().st_size > EXACT_COUNT_BYTES:
        return ()
    try:
        with store.cursor() as cur:
            source.stage(cur, shape)
            return tuple(overlaps(cur, "stage_events", source.NAME, timezone(store)))
    except (InputError, duckdb.Error):
        return ()


# -- counting -----------------------------------------------------------------------------------------------------

def _count(shape: Sniff) -> tuple[int, bool]:
    """Records after the header (CSV) or non-blank lines (JSON lines): exact up to :data:`EXACT_COUNT_BYTES`,
    else estimated from the line breaks."""
    path = shape.file.path
    if path.stat().st_size > EXACT_COUNT_BYTES:
        lines = _line_breaks(path)
        return max(lines - (shape.header_line if shape.kind == "csv" else 0), 0), False
    if shape.kind != "csv":
        with open(path, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip()), True
    count = 0
    for record in _records(shape):
        del record
        count += 1
    return count, True


def _line_breaks(path: Path) -> int:
    count, last = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk
    return count + (1 if last and not last.endswith(b"\n") else 0)


def _records(shape: Sniff) -> Iterator[list[str]]:
    """The CSV records after the header, skipping blank lines and ``#`` comments, as the sources do."""
    with open(shape.file.path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=shape.delimiter, strict=False)
        try:
            for _ in range(shape.header_line):
                next(reader)
            for record in reader:
                if not record or all(not v.strip() for v in record) or record[0].lstrip().startswith("#"):
                    continue
                yield record
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"the file cannot be read as CSV ({exc})", file=shape.name) from None


# -- the first lines ----------------------------------------------------------------------------------------------

def _clip(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _unique(names: list[str]) -> list[str]:
    """Column names as shown: blank ones named by position, repeated ones numbered."""
    seen: dict[str, int] = {}
    out = []
    for position, raw in enumerate(names, start=1):
        name = raw.strip() or f"column {position}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _sample(shape: Sniff, rows: int) -> pd.DataFrame:
    """The header and the first ``rows`` records as text columns (values exactly as written, cut when long)."""
    if shape.kind == "csv":
        records = []
        for record in _records(shape):
            records.append([_clip(v) for v in record])
            if len(records) == rows:
                break
        width = max([len(shape.header), *(len(r) for r in records)])
        header = list(shape.header) + [""] * (width - len(shape.header))
        columns = _unique(header)
        data = {c: [r[i] if i < len(r) else "" for r in records] for i, c in enumerate(columns)}
        return pd.DataFrame(data, columns=columns, dtype="str")
    found: list[dict[str, object]] = []
    with open(shape.file.path, encoding="utf-8") as fh:
        # each line read with a cap: one endless line (say, a gzip bomb without line breaks) must not be read
        # into memory whole just to show its first characters
        while line := fh.readline(PREVIEW_LINE_CHARS + 1):
            if len(line) > PREVIEW_LINE_CHARS and not line.endswith("\n"):
                found.append({"line": f"(a line longer than {PREVIEW_LINE_CHARS:,} characters) {line[:MAX_CELL]}"})
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                record = {"line": line.strip()}
            found.append(record if isinstance(record, dict) else {"value": record})
            if len(found) == rows:
                break
    return _frame(found)


def _frame(found: list[dict[str, object]]) -> pd.DataFrame:
    """JSON records as text columns: one column per key, in the order keys first appear."""
    keys: list[str] = []
    for record in found:
        keys.extend(str(k) for k in record if str(k) not in keys)
    columns = _unique(keys)
    data = {c: ["" if k not in r else _clip(r[k]) for r in found] for c, k in zip(columns, keys, strict=True)}
    return pd.DataFrame(data, columns=columns, dtype="str")
