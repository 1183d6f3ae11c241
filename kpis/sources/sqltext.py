"""Quoting for the few SQL fragments built from text we control (file paths, header names); values from rows
always go in as parameters."""

from __future__ import annotations

from pathlib import Path


def literal(text: str) -> str:
    """A SQL string literal.

    >>> literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


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
