"""Turn an uploaded file, as people really send it, into plain UTF-8 text we can parse.

Recognises what a file is from its first bytes (never its name): gzip is unpacked, UTF-16 (Excel "Unicode
Text") and cp1252 (Excel "CSV" on Windows) are converted to UTF-8, a UTF-8 BOM is dropped. Files that are
not text (images, PDFs, Excel workbooks, random bytes) are refused with a message that says what to do.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kpis.errors import InputError

SAMPLE_BYTES = 256 * 1024
#: Largest file we unpack from gzip (setting KPI_MAX_UNPACKED_BYTES): a small "zip bomb" cannot fill the disk.
MAX_UNPACKED_BYTES = int(os.environ.get("KPI_MAX_UNPACKED_BYTES", str(16 * 2**30)))
_CHUNK = 4 * 1024 * 1024

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

    @property
    def note(self) -> str:
        """How the file was read, for the import log (``gzip, cp1252``)."""
        parts = (["gzip"] if self.compressed else []) + [self.encoding]
        return ", ".join(parts)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The file's SHA-256 (of its bytes as uploaded): the same file twice is recognised by it."""
    return _scan(Path(path), check_utf8=False)[0]


def _scan(path: Path, *, check_utf8: bool) -> tuple[str, bool, int]:
    """One pass over the file: its SHA-256, whether it is valid UTF-8 (ASCII blocks are checked cheaply), and
    its number of double quotes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid, quotes = True, 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            quotes += chunk.count(b'"')
            if check_utf8 and valid:
                try:
                    if not chunk.isascii() or decoder.getstate()[0]:
                        decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
    if check_utf8 and valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    return digest.hexdigest(), valid, quotes


@contextmanager
def open_text(path: str | os.PathLike[str], name: str | None = None) -> Iterator[TextFile]:
    """Yield the upload as a UTF-8 :class:`TextFile`; temporary copies are removed afterwards.

    Raises :class:`InputError` for empty, binary, damaged or unsupported files.
    """
    src = Path(path)
    display = name or src.name
    if not src.is_file():
        raise InputError("no such file", file=display)
    size = src.stat().st_size
    sha, utf8, quotes = _scan(src, check_utf8=True)
    workdir = Path(tempfile.mkdtemp(prefix="kpis-import-"))
    try:
        current, compressed = src, False
        head = _head(current)
        if head.startswith(b"\x1f\x8b"):
            current, compressed = _gunzip(current, workdir / "unpacked", display), True
            head = _head(current)
            _, utf8, quotes = _scan(current, check_utf8=True)
        _refuse_binary_signatures(head, display)
        if not head.strip():
            raise InputError("the file is empty" + (" after unpacking" if compressed else ""), file=display)
        encoding, current = _to_utf8(current, head, utf8, workdir, display)
        sample = _sample(current)
        if "\x00" in sample:  # e.g. UTF-16 text saved as UTF-16 once more: no export holds NUL characters
            raise InputError("this is a binary file, not a CSV or JSON export", file=display)
        yield TextFile(current, display, sha, size, encoding, compressed, sample, odd_quotes=quotes % 2 == 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SAMPLE_BYTES)


def _gunzip(src: Path, dest: Path, display: str) -> Path:
    written = 0
    try:
        with gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                written += len(chunk)
                if written > MAX_UNPACKED_BYTES:
                    raise InputError(f"the file unpacks to more than {MAX_UNPACKED_BYTES / 2**30:.0f} GB; "
                                     "split the export", file=display)
                fout.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"the gzip file is damaged or cut short ({exc})", file=display) from None
    return dest


def _refuse_binary_signatures(head: bytes, display: str) -> None:
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise InputError(f"this is {what}", file=display)


def _to_utf8(src: Path, head: bytes, utf8: bool, workdir: Path, display: str) -> tuple[str, Path]:
    """Return (encoding, path of a BOM-less UTF-8 version of ``src``)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", _transcode(src, workdir / "utf8", "utf-16", display)
    if len(head) > 3 and head[1:2] == b"\x00" and head[3:4] == b"\x00" and head[0:1] != b"\x00":
        return "utf-16-le", _transcode(src, workdir / "utf8", "utf-16-le", display)
    if b"\x00" in head:
        raise InputError("this is a binary file, not a CSV or JSON export", file=display)
    has_bom = head.startswith(codecs.BOM_UTF8)
    if utf8:
        if has_bom:
            return "utf-8 with BOM", _transcode(src, workdir / "utf8", "utf-8-sig", display)
        return "utf-8", src
    text = head.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n") + text.count("\ufffd")
    if controls > max(2, len(text) // 100):
        raise InputError("this is a binary file, not a CSV or JSON export", file=display)
    return "cp1252", _transcode(src, workdir / "utf8", "cp1252", display)


def _transcode(src: Path, dest: Path, encoding: str, display: str) -> Path:
    try:
        with open(src, encoding=encoding, newline="", errors="strict") as fin, \
                open(dest, "w", encoding="utf-8", newline="") as fout:
            while chunk := fin.read(_CHUNK):
                fout.write(chunk.lstrip("\ufeff") if fout.tell() == 0 else chunk)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not valid {encoding} text (byte {exc.start} of a block cannot be read); "
            "save it again as CSV UTF-8", file=display,
        ) from None
    return dest


def _sample(path: Path) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    text = raw.decode("utf-8", errors="ignore")
    if len(raw) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rfind("\n") + 1]
    return text
