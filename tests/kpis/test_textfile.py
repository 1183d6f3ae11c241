"""Reading uploads as text: the encoding decided on the whole file, gzip unpacked within limits, a full disk
named as such, and temporary copies that never outlive their import (real files, real processes)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpis.core.errors import DiskFull, InputError
from kpis.ingest.importer import import_file
from kpis.ingest.textfile import MIN_STALE_SECONDS, OWNER_LOCK, open_text, remove_stale_workdirs, unpack_gzip
from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
EVENTS_HEADER = b"user_id,event,timestamp\n"


def _events(count: int) -> bytes:
    """An events CSV whose rows all differ (it compresses about as well as a real export)."""
    return EVENTS_HEADER + b"".join(f"u{i},login,2026-01-05T10:{i % 60:02d}:00Z\n".encode() for i in range(count))


def _run(args: list[str], tmpdir: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, **kwargs)


def _workdirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("kpis-import-*"))


# -- the encoding, from the whole file ----------------------------------------------------------------------------

UTF8_LETTERS = st.sampled_from(list("abcxyz019 ,;") + ["é", "ü", "€", "漢", "😀"])
#: Non-ASCII letters whose cp1252 bytes are all >= 0xC0: together they can never form valid UTF-8.
CP1252_LETTERS = st.sampled_from(list("abcxyz019 ,;") + ["é", "à", "ü", "ö", "ç", "ñ"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(UTF8_LETTERS, min_size=1, max_size=30).map("".join), min_size=1, max_size=20),
       spots=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=6))
def test_utf8_with_fewer_broken_bytes_than_accents_is_read_as_utf8(tmp_path: Path, lines: list[str],
                                                                   spots: list[tuple[int, int]]) -> None:
    """Bytes 0xFF dropped between characters: each reads as U+FFFD, the rest exactly, counted and located."""
    breaks = {(r % len(lines), c % (len(lines[r % len(lines)]) + 1)) for r, c in spots}  # (row, characters before)
    assume(len(breaks) < sum(1 for ch in "".join(lines) if ord(ch) > 127))
    raw, expected = [], []
    for row, line in enumerate(lines):
        cols = sorted(c for r, c in breaks if r == row)
        pieces = [line[a:b] for a, b in zip([0, *cols], [*cols, len(line)], strict=True)]
        raw.append(b"\xff".join(p.encode() for p in pieces))
        expected.append("\ufffd".join(pieces))
    path = tmp_path / "u.csv"
    path.write_bytes(b"\n".join(raw) + b"\n")
    first_row, first_col = min(breaks)
    with open_text(path) as read:
        assert read.encoding == "utf-8"
        assert read.path.read_text(encoding="utf-8") == "\n".join(expected) + "\n"
        assert (read.replaced, read.replaced_at) == (len(breaks), (first_row + 1, first_col + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(CP1252_LETTERS, min_size=1, max_size=30).map("".join), min_size=1, max_size=20))
def test_cp1252_text_is_read_as_cp1252_exactly(tmp_path: Path, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    if text.isascii():
        return
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode("cp1252"))
    with open_text(path) as read:
        assert (read.encoding, read.replaced) == ("cp1252", 0)
        assert read.path.read_text(encoding="utf-8") == text


def test_a_character_cut_by_the_4_mb_read_boundary_is_still_utf8(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (4 * 2**20 - 1) + "éé\n".encode() + b"\xff\n")  # C3 | A9: across the boundary
    with open_text(path) as read:
        assert (read.encoding, read.replaced, read.replaced_at) == ("utf-8", 1, (2, 1))
        assert read.path.read_text(encoding="utf-8")[-6:] == "xéé\n\ufffd\n"


def test_a_bom_says_utf8_however_many_bytes_are_broken(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfname\nCaf\xe9\nna\xefve\n")
    with open_text(path) as read:
        assert (read.encoding, read.replaced, read.replaced_at) == ("utf-8 with BOM", 2, (2, 4))
        assert read.path.read_text(encoding="utf-8") == "name\nCaf\ufffd\nna\ufffdve\n"
        assert read.note == "utf-8 with BOM, 2 bytes that are not valid UTF-8 read as \ufffd (the first at line 2, " \
                            "character 4)"


# -- gzip: limits while unpacking, a full disk --------------------------------------------------------------------

def _bomb() -> bytes:
    """40 MB of one repeated line packed into about 100 KB (some 400 times smaller): a small gzip bomb."""
    line = b"u1,login,2026-01-05T10:00:00Z\n"
    return gzip.compress(EVENTS_HEADER + line * (40 * 2**20 // len(line)), 9)


def test_a_gzip_bomb_is_refused_and_nothing_is_stored(store: Store, write) -> None:
    with pytest.raises(InputError) as info:
        import_file(store, write("bomb.csv.gz", _bomb()))
    assert str(info.value) == ("bomb.csv.gz: the file unpacks to more than 100 times its packed size "
                               "(KPI_MAX_GZIP_RATIO): no export compresses that well; it looks built to fill the "
                               "disk (a gzip bomb)")
    assert store.query("SELECT (SELECT count(*) FROM imports) + (SELECT count(*) FROM events)") == [(0,)]


def test_a_gzip_bomb_stops_within_the_first_16_mb_it_unpacks(tmp_path: Path) -> None:
    packed = tmp_path / "bomb.csv.gz"
    packed.write_bytes(_bomb())
    with pytest.raises(InputError, match="times its packed size"):
        unpack_gzip(packed, tmp_path / "unpacked", "bomb.csv.gz")
    assert (tmp_path / "unpacked").stat().st_size <= 16 * 2**20


def test_the_unpacked_size_limit_is_read_when_unpacking(store: Store, write, monkeypatch) -> None:
    monkeypatch.setenv("KPI_MAX_UNPACKED_BYTES", "1000000")
    with pytest.raises(InputError) as info:
        import_file(store, write("e.csv.gz", gzip.compress(_events(40_000))))  # 1.5 MB unpacked
    assert str(info.value) == ("e.csv.gz: the file unpacks to more than 1,000,000 bytes (KPI_MAX_UNPACKED_BYTES); "
                               "split the export")
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


@pytest.mark.parametrize("name, value", [("KPI_MAX_GZIP_RATIO", "lots"), ("KPI_MAX_UNPACKED_BYTES", "0")])
def test_a_bad_limit_setting_is_named(store: Store, write, monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=f"^e.csv.gz: {name}: expected "):
        import_file(store, write("e.csv.gz", gzip.compress(_events(10))))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_unpacking_onto_a_full_disk_says_the_disk_is_full(tmp_path: Path) -> None:
    """/dev/full is a real device whose every write fails with ENOSPC."""
    packed = tmp_path / "e.csv.gz"
    packed.write_bytes(gzip.compress(_events(200_000)))
    with pytest.raises(DiskFull) as info:
        unpack_gzip(packed, "/dev/full", "e.csv.gz")
    assert str(info.value) == ("the disk holding /dev is full: free some space there, or set TMPDIR to a folder on "
                               "a larger disk")


def _tmpfs_possible(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount -t tmpfs -o size=1m kpis-probe '{folder}'"], capture_output=True, timeout=60)
    return probe.returncode == 0


def test_the_command_line_reports_a_full_temporary_disk_as_full(tmp_path: Path) -> None:
    """A real 1 MB tmpfs as the temporary folder (mounted in a user namespace: no root needed)."""
    small = tmp_path / "small"
    small.mkdir()
    if not _tmpfs_possible(small):
        pytest.skip("user namespaces cannot mount a tmpfs here")
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(_events(100_000)))  # 3.8 MB unpacked
    db = tmp_path / "t.duckdb"
    mount = f"mount -t tmpfs -o size=1m kpis-full '{small}' && exec \"$@\""
    done = _run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, "sh",
                 sys.executable, "-m", "kpis", "--db", str(db), "import", str(packed)], small)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: big.csv.gz: the disk holding {small}/kpis-import-"), done.stderr
    assert done.stderr.endswith(" is full: free some space there, or set TMPDIR to a folder on a larger disk\n")
    with Store(db) as store:
        assert store.query("SELECT count(*) FROM imports") == [(0,)]


PREVIEW_ON_A_FULL_DISK = """
import io, sys
from app_pages.upload import _preview
from kpis.store.db import Store

class Upload(io.BytesIO):
    file_id, name = "1", "big.csv.gz"
    size = 0

with open(sys.argv[2], "rb") as fh, Store(sys.argv[1]) as store:
    print(_preview(store, Upload(fh.read())).error)
"""


def test_the_data_page_reports_a_full_temporary_disk_as_full(tmp_path: Path) -> None:
    """The upload preview (the Data page's first step) on the same 1 MB tmpfs: a message, not a traceback."""
    small = tmp_path / "small"
    small.mkdir()
    if not _tmpfs_possible(small):
        pytest.skip("user namespaces cannot mount a tmpfs here")
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(_events(100_000)))
    mount = f"mount -t tmpfs -o size=1m kpis-full '{small}' && exec \"$@\""
    done = _run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, "sh",
                 sys.executable, "-c", PREVIEW_ON_A_FULL_DISK, str(tmp_path / "t.duckdb"), str(packed)], small)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("big.csv.gz: the server's disk is full, so the file could not be copied for reading; "
                           "it will not be imported. Tell whoever runs the dashboard.\n")


# -- temporary copies: removed at exit, and after a killed import by the next one ---------------------------------

BLOCKING_IMPORT = """
import sys
from kpis.ingest.importer import import_file
from kpis.store.db import Store

def wait(message):
    if "storing" in message:
        print("ready", flush=True)
        sys.stdin.readline()

with Store(sys.argv[1]) as store:
    import_file(store, sys.argv[2], progress=wait)
"""


@contextmanager
def _blocked_import(tmp_path: Path, tmpdir: Path, script: str) -> Iterator[subprocess.Popen[str]]:
    """An import in another process, stopped inside its transaction until it reads a line (or is signalled);
    killed on the way out if the test left it running."""
    packed = tmp_path / "e.csv.gz"
    packed.write_bytes(gzip.compress(_events(1000)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "killed.duckdb"), str(packed)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n", proc.communicate()[1]
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_a_killed_import_leaves_a_copy_that_the_next_import_removes(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with _blocked_import(tmp_path, tmpdir, BLOCKING_IMPORT) as proc:
        (left,) = tmpdir.glob("kpis-import-*")
        assert (left / "unpacked").is_file()
        proc.kill()
        proc.wait()
    assert left.is_dir()  # nothing runs on SIGKILL
    _age(left, MIN_STALE_SECONDS + 60)
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        alive = tmpdir / f"kpis-import-{sleeper.pid}-busy"  # a running process's folder stays
        alive.mkdir()
        events = tmp_path / "next.csv"
        events.write_bytes(_events(3))
        done = _run([sys.executable, "-m", "kpis", "--db", str(tmp_path / "next.duckdb"), "import", str(events)],
                    tmpdir)
        assert done.returncode == 0, done.stderr
        assert _workdirs(tmpdir) == [alive.name]
    finally:
        sleeper.communicate("")


def test_sigterm_stops_the_import_and_removes_its_copy(tmp_path: Path) -> None:
    """The command line turns SIGTERM into an orderly stop: rolled back, logged interrupted, copies removed."""
    script = BLOCKING_IMPORT.replace(
        "with Store(sys.argv[1]) as store:\n    import_file(store, sys.argv[2], progress=wait)",
        "from kpis.cli.main import Terminated, stop_cleanly_on_sigterm\n"
        "with Store(sys.argv[1]) as store, stop_cleanly_on_sigterm():\n"
        "    try:\n"
        "        import_file(store, sys.argv[2], progress=wait)\n"
        "    except Terminated:\n"
        "        sys.exit(143)")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with _blocked_import(tmp_path, tmpdir, script) as proc:
        assert len(_workdirs(tmpdir)) == 1
        proc.terminate()
        assert proc.wait(timeout=120) == 143
    assert _workdirs(tmpdir) == []
    with Store(tmp_path / "killed.duckdb") as store:
        assert store.query("SELECT status FROM imports") == [("interrupted",)]
        assert store.query("SELECT count(*) FROM events") == [(0,)]


def test_a_process_that_exits_mid_import_removes_its_copy(tmp_path: Path) -> None:
    """An import in a background thread (as in the web server) when the process exits: atexit cleans up."""
    script = """
import sys, threading
from kpis.ingest.importer import import_file
from kpis.store.db import Store

ready = threading.Event()

def wait(message):
    if "storing" in message:
        ready.set()
        threading.Event().wait()

store = Store(sys.argv[1])
threading.Thread(target=import_file, args=(store, sys.argv[2]), kwargs={"progress": wait}, daemon=True).start()
ready.wait()
print("ready", flush=True)
sys.stdin.readline()
"""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with _blocked_import(tmp_path, tmpdir, script) as proc:
        assert len(_workdirs(tmpdir)) == 1
        proc.communicate("\n", timeout=120)
        assert proc.returncode == 0
    assert _workdirs(tmpdir) == []


# -- which leftover folders are removed ---------------------------------------------------------------------------

#: A process id no system hands out (above the largest ``pid_max``).
NO_PROCESS = 99_999_999

HOLDING_A_FOLDER = """
import sys
from kpis.ingest.textfile import Workdir
folder = Workdir()
print(folder.path, flush=True)
sys.stdin.readline()
"""


def _age(folder: Path, seconds: float) -> None:
    """Make ``folder`` look last changed ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(folder, (then, then))


def _leftover(tmpdir: Path, pid: int, name: str) -> Path:
    """A folder as a process ``pid`` leaves it, its owner file unlocked."""
    folder = tmpdir / f"kpis-import-{pid}-{name}"
    folder.mkdir()
    (folder / OWNER_LOCK).touch()
    return folder


def test_a_folder_changed_minutes_ago_is_kept_whatever_its_name_says(tmp_path: Path) -> None:
    left = _leftover(tmp_path, NO_PROCESS, "fresh")
    _age(left, MIN_STALE_SECONDS - 60)
    assert remove_stale_workdirs(tmp_path) == [] and left.is_dir()
    _age(left, MIN_STALE_SECONDS + 60)
    assert remove_stale_workdirs(tmp_path) == [left] and not left.exists()


def test_a_folder_nobody_holds_goes_even_when_its_process_id_was_reused(tmp_path: Path) -> None:
    """The id in the name now belongs to a running process (this test's parent), but no process holds the lock."""
    left = _leftover(tmp_path, os.getppid(), "reused")
    _age(left, MIN_STALE_SECONDS + 60)
    assert remove_stale_workdirs(tmp_path) == [left]


def test_a_folder_in_use_is_kept_until_its_process_ends_whatever_its_name_says(tmp_path: Path) -> None:
    """A live process's folder whose name names no process (as seen from another PID namespace sharing the
    temporary folder): its lock keeps it; killed outright, the process's lock is gone and so is the folder."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDING_A_FOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        held = Path(proc.stdout.readline().strip())
        elsewhere = held.rename(tmpdir / f"kpis-import-{NO_PROCESS}-held")
        _age(elsewhere, 2 * 24 * 3600)
        assert remove_stale_workdirs(tmpdir) == [] and (elsewhere / OWNER_LOCK).is_file()
    finally:
        proc.kill()
        proc.communicate()
    _age(elsewhere, 2 * 24 * 3600)
    assert remove_stale_workdirs(tmpdir) == [elsewhere]
