"""Quoting for the few SQL fragments built from text we control (file paths, header names); values from rows
always go in as parameters."""

from __future__ import annotations

import os
import re
from pathlib import Path

from kpis.core.errors import InputError

_GLOB = re.compile(r"([*?\[])")


def literal(text: str) -> str:
    """A SQL string literal.

    >>> literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def path_literal(path: str | os.PathLike[str]) -> str:
    """A file path as a SQL literal for DuckDB's readers (``read_csv``, ``read_json``), which take a path holding
    ``*``, ``?`` or ``[`` as a pattern: the path is made absolute and those characters are bracketed, so it names
    exactly one file.

    >>> path_literal("/data/ev[1]*.csv")
    "'/data/ev[[]1][*].csv'"
    >>> path_literal("/data/it's.csv")
    "'/data/it''s.csv'"
    """
    text = os.path.abspath(os.fspath(path))
    if not _GLOB.search(text):
        return literal(text)
    if "\\" in text:  # DuckDB splits patterns at backslashes too: a bracketed character would not match
        raise InputError(f"the path {text!r} holds both a backslash and one of * ? [, which DuckDB cannot read as "
                         "one file: set TMPDIR to a plain folder")
    return literal(_GLOB.sub(r"[\1]", text))


def identifier(name: str) -> str:
    """A quoted SQL identifier.

    >>> identifier('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'


def line_at(path: str | Path, position: int) -> int:
    """The 1-based line holding byte ``position`` of a file (newlines inside quotes count, as editors show)."""
    lines, remaining = 1, position
    with open(path, "rb") as fh:
        while remaining > 0:
            chunk = fh.read(min(remaining, 4 * 1024 * 1024))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            remaining -= len(chunk)
    return lines
