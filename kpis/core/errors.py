"""Errors that carry a message meant for the person who gave us the input."""

from __future__ import annotations

import errno


class InputError(Exception):
    """Bad input: the message says what is wrong and where, and is shown to the user as is.

    Raised before anything is stored, or inside the import transaction so that it rolls back.

    >>> str(InputError("expected a number", file="subs.csv", line=4, column="Amount"))
    "subs.csv, line 4, column 'Amount': expected a number"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(str(self))

    def where(self) -> str:
        """The location part of the message, e.g. ``subs.csv, line 4, column 'Amount'``."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def with_file(self, file: str) -> InputError:
        """The same error, located in ``file`` when it was not located yet."""
        if self.file:
            return self
        return InputError(self.message, file=file, line=self.line, column=self.column)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class DataError(Exception):
    """The stored data cannot answer a question (e.g. mixed currencies without rates)."""


class DiskFull(OSError):
    """The disk (or the user's quota) holding a temporary copy is full: a problem of the server, not of the file.

    >>> str(DiskFull("/tmp"))
    'the disk holding /tmp is full: free some space there, or set TMPDIR to a folder on a larger disk'
    """

    def __init__(self, folder: str) -> None:
        super().__init__(errno.ENOSPC, f"the disk holding {folder} is full: free some space there, or set TMPDIR "
                                       "to a folder on a larger disk")
        self.folder = folder

    def __str__(self) -> str:
        return str(self.strerror)
