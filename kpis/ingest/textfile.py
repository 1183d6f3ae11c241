"""Turn an uploaded file, as people really send it, into plain UTF-8 text we can parse.

Recognises what a file is from its bytes (never its name): gzip is unpacked within limits, UTF-16 (Excel
"Unicode Text") and cp1252 (Excel "CSV" on Windows) are converted to UTF-8, a UTF-8 BOM is dropped. Whether a
file is UTF-8 or cp1252 is decided on the whole file: UTF-8 with a few broken bytes stays UTF-8 (those bytes
read as U+FFFD, counted and located in the import's notes). Files that are not text (images, PDFs, Excel
workbooks, random bytes, NUL bytes anywhere) are refused with a message that says what to do.

The text handed on always lives in a temporary folder of ours, so the name the user gave the file never reaches
a reader that treats names as patterns (DuckDB's ``read_csv``); the folder is removed afterwards, at exit, and,
when a killed process left one behind, by the next import.
"""

from __future__ import annotations

import atexit
import codecs
import errno
import gzip
import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kpis.core.errors import DiskFull, InputError
from kpis.store.settings import env_number

try:
    import fcntl  # POSIX only: elsewhere folders are judged by their age
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

SAMPLE_BYTES = 256 * 1024
#: Largest file we unpack from gzip, unless ``KPI_MAX_UNPACKED_BYTES`` says otherwise.
DEFAULT_MAX_UNPACKED_BYTES = 16 * 2**30
#: How many times its packed size a gzip file may unpack to, unless ``KPI_MAX_GZIP_RATIO`` says otherwise.
#: Exports compress 3 to 20 times; a "gzip bomb" (a small file built to fill the disk) about 1,000 times.
DEFAULT_MAX_GZIP_RATIO = 100.0
#: Up to this much, a gzip file may unpack to any ratio (a small file of repeated lines compresses very well).
RATIO_FREE_BYTES = 16 * 2**20
#: Prefix of our temporary folders: ``kpis-import-<process id>-<random>``.
WORKDIR_PREFIX = "kpis-import-"
#: A temporary folder without an owner lock (from an older version) whose process cannot be asked about is removed
#: by the next import once it is this old.
_STALE_SECONDS = 24 * 3600
#: A temporary folder changed less than this long ago is never removed by another import, whatever its name says: a
#: process may be setting it up, and a process id names another process in another PID namespace or once reused.
MIN_STALE_SECONDS = 10 * 60
#: The file in each temporary folder that its process holds a lock on while the folder is in use.
OWNER_LOCK = ".owner"
_CHUNK = 4 * 1024 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT)
#: The bytes that are not ASCII (deleted to count the ASCII ones).
_NON_ASCII = bytes(range(0x80, 0x100))

_SIGNATURES: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "an Excel workbook or another zip archive, not a CSV or JSON export: open it in Excel and "
                    "save it as CSV (File > Save As > CSV UTF-8), then upload that"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls), not a CSV export: open it in Excel and save it as CSV "
                          "(File > Save As > CSV UTF-8), then upload that"),
    (b"%PDF", "a PDF document, not a data export: download the CSV or JSON export instead"),
    (b"\x89PNG", "a PNG image, not a data export"),
    (b"\xff\xd8\xff", "a JPEG image, not a data export"),
    (b"GIF8", "a GIF image, not a data export"),
    (b"RIFF", "an image or media file, not a data export"),
    (b"PAR1", "a Parquet file; export CSV or JSON lines instead"),
]

_active: set[Path] = set()
_active_lock = threading.Lock()


@dataclass(frozen=True)
class TextFile:
    """An upload as UTF-8 text (no BOM) on disk, with what we learnt about its bytes."""

    path: Path
    name: str
    sha256: str
    size: int
    encoding: str
    compressed: bool
    sample: str
    #: an odd number of double quotes: some quote is never closed (typically a truncated file)
    odd_quotes: bool = False
    #: the sample is the whole text (else it ends at the last line break within its first 256 KB)
    sample_complete: bool = True
    #: bytes that were not valid UTF-8 in a file read as UTF-8: each broken sequence reads as U+FFFD
    replaced: int = 0
    #: (line, character) of the first of them
    replaced_at: tuple[int, int] | None = None

    @property
    def note(self) -> str:
        """How the file was read, for the import log (``gzip, cp1252``; ``utf-8, 1 byte that is not ...``)."""
        parts = (["gzip"] if self.compressed else []) + [self.encoding]
        if self.replaced:
            line, character = self.replaced_at or (0, 0)
            parts.append(f"{self.replaced:,} {'byte that is' if self.replaced == 1 else 'bytes that are'} not "
                         f"valid UTF-8 read as \ufffd (the first at line {line}, character {character})")
        return ", ".join(parts)


@dataclass
class _Bytes:
    """What one pass over a file's bytes found."""

    sha256: str = ""
    quotes: int = 0
    #: offset of the first NUL byte
    nul_at: int | None = None
    #: characters that are valid multi-byte UTF-8 (the evidence for UTF-8)
    multibyte: int = 0
    #: bytes that are not part of valid UTF-8 (the evidence for cp1252), and the offset of the first
    broken: int = 0
    broken_at: int | None = None


def unpack_limits() -> tuple[int, float]:
    """The largest size a gzip file may unpack to (``KPI_MAX_UNPACKED_BYTES``, default 16 GB) and the largest
    ratio of unpacked to packed bytes (``KPI_MAX_GZIP_RATIO``, default 100), read when a file is unpacked.

    >>> limit, ratio = unpack_limits()
    >>> limit >= 1 and ratio >= 1
    True
    """
    return (int(_positive_setting("KPI_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES, "a number of bytes such "
                                  "as 17179869184")),
            _positive_setting("KPI_MAX_GZIP_RATIO", DEFAULT_MAX_GZIP_RATIO, "a ratio such as 100"))


def _positive_setting(name: str, default: float, example: str) -> float:
    return env_number(name, default, example)


@contextmanager
def open_text(path: str | os.PathLike[str], name: str | None = None) -> Iterator[TextFile]:
    """Yield the upload as a UTF-8 :class:`TextFile`; temporary copies are removed afterwards.

    Raises :class:`InputError` for empty, binary, damaged or unsupported files, and :class:`DiskFull` when the
    temporary folder has no room for the unpacked or converted copy.
    """
    text, workdir = decode(path, name)
    try:
        yield text
    finally:
        workdir.remove()


def decode(path: str | os.PathLike[str], name: str | None = None, *,
           keep: bool = False) -> tuple[TextFile, Workdir]:
    """The upload as a UTF-8 :class:`TextFile` in a temporary folder of ours, which the caller removes
    (:meth:`Workdir.remove`; it also goes when the folder object is garbage collected, and at exit).

    ``keep``: the text must stay readable after the file at ``path`` is deleted (a preview kept for a later
    import): a file that needs no conversion is then hard-linked (or, across file systems, copied) into the
    folder instead of symlinked. Raises like :func:`open_text`.
    """
    src = Path(path)
    display = name or src.name
    if not src.is_file():
        raise InputError("no such file", file=display)
    size = src.stat().st_size
    remove_stale_workdirs()
    workdir = Workdir()
    try:
        return _read(src, display, size, workdir.path, keep=keep), workdir
    except BaseException:
        workdir.remove()
        raise


def _read(src: Path, display: str, size: int, workdir: Path, *, keep: bool = False) -> TextFile:
    scan = _scan(src)
    sha, current, compressed = scan.sha256, src, False
    head = _head(current)
    if head.startswith(b"\x1f\x8b"):
        current, compressed = unpack_gzip(current, workdir / "unpacked", display), True
        head = _head(current)
        scan = _scan(current)
    _refuse_binary_signatures(head, display)
    if not head.strip():
        raise InputError("the file is empty" + (" after unpacking" if compressed else ""), file=display)
    encoding = _encoding(head, scan, display)
    try:
        text = _to_utf8(current, encoding, workdir, display) if _needs_copy(encoding, scan) else current
    except _NotCp1252:
        # bytes cp1252 has no character for (0x81, 0x8D, 0x8F, 0x90, 0x9D): the few bytes that are not UTF-8 in
        # an otherwise plain (ASCII) file are stray, not Windows text
        encoding = "utf-8"
        text = _to_utf8(current, encoding, workdir, display)
    sample, complete = _sample(text)
    if "\x00" in sample:  # e.g. UTF-16 text saved as UTF-16 once more: no export holds NUL characters
        raise InputError("this is a binary file, not a CSV or JSON export", file=display)
    _refuse_nul(text, _nul_in_text(text, current, scan, encoding), display)
    replaced_at = None
    if encoding.startswith("utf-8") and scan.broken:
        replaced_at = _line_and_character(current, scan.broken_at)
    return TextFile(_private_path(text, workdir, keep=keep), display, sha, size, encoding, compressed, sample,
                    odd_quotes=scan.quotes % 2 == 1, sample_complete=complete,
                    replaced=scan.broken if replaced_at else 0, replaced_at=replaced_at)


# -- temporary folders --------------------------------------------------------------------------------------------

class Workdir:
    """A temporary folder named after this process, holding a lock on its :data:`OWNER_LOCK` file while in use:
    removed by :meth:`remove`, when the object is garbage collected, or at exit (if the process ends while a file
    is being read)."""

    def __init__(self) -> None:
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
        except OSError as exc:
            raise _disk_error(exc, tempfile.gettempdir()) from None
        with _active_lock:
            _active.add(self.path)
        lock = _hold_owner_lock(self.path)
        self._finalizer = weakref.finalize(self, _remove_workdir, self.path, lock)

    def remove(self) -> None:
        """Remove the folder and all it holds (again: nothing)."""
        self._finalizer()

    @property
    def removed(self) -> bool:
        """Whether :meth:`remove` ran."""
        return not self._finalizer.alive


def _hold_owner_lock(workdir: Path) -> int | None:
    """Open the folder's owner file and hold a shared lock on it (released by the system if the process dies);
    None where locks are not available (the folder is then judged by its process id and age)."""
    if fcntl is None:
        return None
    try:
        handle = os.open(workdir / OWNER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)
    except OSError:
        os.close(handle)
        return None
    return handle


def _remove_workdir(workdir: Path, lock: int | None) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    if lock is not None:
        os.close(lock)
    with _active_lock:
        _active.discard(workdir)


@atexit.register
def _remove_active_workdirs() -> None:
    with _active_lock:
        for workdir in list(_active):
            shutil.rmtree(workdir, ignore_errors=True)
        _active.clear()


def remove_stale_workdirs(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the temporary folders that processes which are gone left behind (a killed import); return them.

    A folder in use holds a lock on its owner file (:data:`OWNER_LOCK`), which the system releases when the
    process ends, however it ends: a folder whose lock nobody holds is abandoned. A folder changed within
    :data:`MIN_STALE_SECONDS` is always kept. Folders without an owner file belong to the process whose id is in
    their name.
    """
    removed = []
    for candidate in Path(folder or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        if candidate.is_dir() and not candidate.is_symlink() and _abandoned(candidate):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _abandoned(folder: Path) -> bool:
    """Whether ``folder`` is in use by no process: never while it is new or ours; else its owner lock is free; or,
    without an owner file, its process is gone (POSIX) or, for a name without a process id (or where processes
    cannot be probed), it is more than a day old."""
    try:
        age = time.time() - folder.stat().st_mtime
    except OSError:
        return False
    with _active_lock:
        ours = folder in _active
    if ours or age < MIN_STALE_SECONDS:
        return False
    owner = folder / OWNER_LOCK
    if fcntl is not None and owner.is_file():
        return _lock_is_free(owner)
    found = re.fullmatch(re.escape(WORKDIR_PREFIX) + r"(\d+)-\w+", folder.name)
    if found is None or os.name != "posix":
        return age > _STALE_SECONDS
    return _process_is_gone(int(found.group(1)))


def _lock_is_free(owner: Path) -> bool:
    """Whether no process holds a lock on ``owner`` (tried without waiting)."""
    try:
        handle = os.open(owner, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(handle)  # closing releases the lock taken
    return True


def _process_is_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def _private_path(text: Path, workdir: Path, *, keep: bool = False) -> Path:
    """``text`` under a name of ours inside ``workdir``: itself when it is there already; else (the upload
    itself) a symlink, or with ``keep`` a hard link or a copy, which outlive the upload."""
    if text.parent == workdir:
        return text
    link = workdir / "text"
    try:
        if keep:
            os.link(text, link)
        else:
            link.symlink_to(text.resolve())
    except OSError:
        if not keep:
            return text
        try:
            shutil.copyfile(text, link)
        except OSError as exc:
            raise _disk_error(exc, workdir) from None
    return link


def _disk_error(exc: OSError, folder: str | os.PathLike[str]) -> OSError:
    """A full disk as :class:`DiskFull`; any other error as it is."""
    return DiskFull(str(folder)) if exc.errno in _FULL else exc


# -- reading the bytes --------------------------------------------------------------------------------------------

def _scan(path: Path) -> _Bytes:
    """One pass over the file: its SHA-256, double quotes, first NUL byte, and how much of it is UTF-8."""
    digest, found = hashlib.sha256(), _Bytes()
    carry, position = b"", 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            found.quotes += chunk.count(b'"')
            if found.nul_at is None and (nul := chunk.find(b"\x00")) >= 0:
                found.nul_at = position + nul
            data = carry + chunk if carry else chunk
            if data.isascii():
                carry = b""
            else:
                body, carry = _complete(data)
                _count_utf8(body, position - (len(data) - len(chunk)), found)
            position += len(chunk)
    _count_utf8(carry, position - len(carry), found)
    found.sha256 = digest.hexdigest()
    return found


def _complete(data: bytes) -> tuple[bytes, bytes]:
    """``data`` split before a multi-byte character cut off at its end: (whole characters, the rest).

    >>> _complete("é".encode()[:1]), _complete(b"ab\\xe2\\x82"), _complete("aé".encode())
    ((b'', b'\\xc3'), (b'ab', b'\\xe2\\x82'), (b'a\\xc3\\xa9', b''))
    """
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data, b""
        if byte >= 0xC0:
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return (data[:-back], data[-back:]) if length > back else (data, b"")
    return data, b""


def _count_utf8(body: bytes, start: int, found: _Bytes) -> None:
    """Add the valid multi-byte characters and the broken bytes of ``body`` (at offset ``start``) to ``found``."""
    if not body:
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if found.broken_at is None:
            found.broken_at = start + exc.start
        text = body.decode("utf-8", "ignore")  # ASCII bytes always survive; broken ones are dropped
        found.broken += len(body) - len(text.encode("utf-8"))
    found.multibyte += len(text) - len(body.translate(None, _NON_ASCII))


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SAMPLE_BYTES)


def unpack_gzip(src: str | os.PathLike[str], dest: str | os.PathLike[str], name: str) -> Path:
    """Unpack the gzip file ``src`` to ``dest``, stopping at the first chunk past the limits of
    :func:`unpack_limits`: a file that unpacks to more than its ratio times the packed bytes read so far
    (beyond the first 16 MB), or to more than the size limit, is refused before it fills the disk.

    Raises :class:`InputError` (too large, damaged) or :class:`DiskFull`.
    """
    max_bytes, max_ratio = unpack_limits()
    written = 0
    try:
        with open(src, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as fin, open(dest, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                written += len(chunk)
                _check_expansion(written, raw.tell(), max_bytes, max_ratio, name)
                fout.write(chunk)
    except (EOFError, zlib.error) as exc:
        raise InputError(f"the gzip file is damaged or cut short ({exc})", file=name) from None
    except OSError as exc:
        if exc.errno in _FULL:
            raise DiskFull(str(Path(dest).parent)) from None
        raise InputError(f"the gzip file is damaged or cut short ({exc})", file=name) from None
    return Path(dest)


def _check_expansion(written: int, packed: int, max_bytes: int, max_ratio: float, name: str) -> None:
    if written > max_bytes:
        raise InputError(f"the file unpacks to more than {_size(max_bytes)} (KPI_MAX_UNPACKED_BYTES); split the "
                         "export", file=name)
    if written > RATIO_FREE_BYTES and written > max_ratio * max(packed, 1):
        raise InputError(f"the file unpacks to more than {max_ratio:g} times its packed size (KPI_MAX_GZIP_RATIO): "
                         "no export compresses that well; it looks built to fill the disk (a gzip bomb)", file=name)


def _size(count: int) -> str:
    """A byte count for messages.

    >>> _size(16 * 2**30), _size(5 * 2**20), _size(1000)
    ('16 GB', '5 MB', '1,000 bytes')
    """
    for unit, scale in (("GB", 2**30), ("MB", 2**20)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count:,} bytes"


def _refuse_binary_signatures(head: bytes, display: str) -> None:
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise InputError(f"this is {what}", file=display)


# -- the encoding -------------------------------------------------------------------------------------------------

def _encoding(head: bytes, scan: _Bytes, display: str) -> str:
    """The file's encoding: UTF-16 from its first bytes; else UTF-8 unless the whole file says cp1252.

    UTF-8 wins when it is valid, when the file starts with a UTF-8 BOM, or when its valid multi-byte characters
    outnumber the bytes that are not UTF-8 (those few read as U+FFFD); otherwise the file is cp1252, unless its
    first 256 KB look like binary data.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) > 3 and head[1:2] == b"\x00" and head[3:4] == b"\x00" and head[0:1] != b"\x00":
        return "utf-16-le"
    if b"\x00" in head:
        raise InputError("this is a binary file, not a CSV or JSON export", file=display)
    has_bom = head.startswith(codecs.BOM_UTF8)
    if not scan.broken or has_bom or scan.multibyte > scan.broken:
        return "utf-8 with BOM" if has_bom else "utf-8"
    text = head.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n") + text.count("\ufffd")
    if controls > max(2, len(text) // 100):
        raise InputError("this is a binary file, not a CSV or JSON export", file=display)
    return "cp1252"


def _needs_copy(encoding: str, scan: _Bytes) -> bool:
    """Whether the text must be written out as UTF-8 (anything but valid UTF-8 without a BOM)."""
    return encoding != "utf-8" or scan.broken > 0


_CODECS = {"utf-16": "utf-16", "utf-16-le": "utf-16-le", "utf-8 with BOM": "utf-8-sig", "utf-8": "utf-8",
           "cp1252": "cp1252"}


class _NotCp1252(Exception):
    """A file judged cp1252 holds a byte cp1252 does not define: it is UTF-8 with stray bytes after all."""


def _to_utf8(src: Path, encoding: str, workdir: Path, display: str) -> Path:
    """A BOM-less UTF-8 copy of ``src``; bytes of a UTF-8 file that are not UTF-8 become U+FFFD."""
    dest = workdir / "utf8"
    codec = _CODECS[encoding]
    errors = "replace" if codec.startswith("utf-8") else "strict"
    try:
        with open(src, encoding=codec, newline="", errors=errors) as fin, \
                open(dest, "w", encoding="utf-8", newline="") as fout:
            first = True
            while chunk := fin.read(_CHUNK):
                fout.write(chunk.lstrip("\ufeff") if first else chunk)
                first = False
    except UnicodeDecodeError as exc:
        if codec == "cp1252":
            raise _NotCp1252 from None
        raise InputError(
            f"the file is not valid {codec} text (a character cannot be read: {exc.reason}); "
            "save it again as CSV UTF-8", file=display,
        ) from None
    except OSError as exc:
        raise _disk_error(exc, workdir) from None
    return dest


def _sample(path: Path) -> tuple[str, bool]:
    """The first 256 KB of the text, cut at its last line break; and whether that is the whole text."""
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES + 1)
    complete = len(raw) <= SAMPLE_BYTES
    text = raw[:SAMPLE_BYTES].decode("utf-8", errors="ignore")
    if not complete:
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end >= 0:
            text = text[: end + 1]
    return text, complete


# -- NUL bytes and positions --------------------------------------------------------------------------------------

def _refuse_nul(text: Path, nul: int | None, display: str) -> None:
    """A NUL byte anywhere in the text (``nul``: its offset): no export holds one, so the file is damaged (a
    block of zero bytes is what a copy cut short by a crash leaves)."""
    if nul is None:
        return
    line, character = _line_and_character(text, nul) or (0, 0)
    raise InputError(f"a NUL byte (character {character} of the line): no CSV or JSON export holds one, so the "
                     "file is damaged; export or copy it again", file=display, line=line)


def _nul_in_text(text: Path, current: Path, scan: _Bytes, encoding: str) -> int | None:
    """The offset of the first NUL byte of ``text``, converted from ``current`` (whose scan is ``scan``)."""
    if text == current:
        return scan.nul_at
    if encoding.startswith("utf-16") or scan.nul_at is not None:
        return _find_byte(text, 0)
    return None


def _find_byte(path: Path, value: int) -> int | None:
    position, needle = 0, bytes([value])
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            found = chunk.find(needle)
            if found >= 0:
                return position + found
            position += len(chunk)
    return None


def _line_and_character(path: Path, offset: int | None) -> tuple[int, int] | None:
    """The 1-based line and character (as an editor shows them) of byte ``offset`` of a UTF-8 file."""
    if offset is None:
        return None
    line, line_start, position = 1, 0, 0
    with open(path, "rb") as fh:
        while position < offset:
            chunk = fh.read(min(_CHUNK, offset - position))
            if not chunk:
                break
            breaks = chunk.count(b"\n")
            if breaks:
                line += breaks
                line_start = position + chunk.rfind(b"\n") + 1
            position += len(chunk)
        fh.seek(line_start)
        return line, _characters(fh, offset - line_start, at_start=line_start == 0) + 1


def _characters(fh: BinaryIO, count: int, *, at_start: bool) -> int:
    """Characters in the next ``count`` bytes of ``fh`` (a broken sequence counts as one; a BOM as none)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    characters, remaining = 0, count
    while remaining > 0:
        chunk = fh.read(min(_CHUNK, remaining))
        if not chunk:
            break
        text = decoder.decode(chunk)
        if at_start:
            text, at_start = text.removeprefix("\ufeff"), False
        characters += len(text)
        remaining -= len(chunk)
    return characters + len(decoder.decode(b"", final=True))
