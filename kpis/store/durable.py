"""Writes that survive a crash: a file flushed before it is renamed into place, and the rename itself flushed."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush a written file to disk, so that a rename after it never exposes a half-written file."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def sync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (a rename into it) durable, where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
