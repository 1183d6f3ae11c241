"""Bounds on what a browser session can make the server hold through Streamlit's upload endpoint.

Streamlit stores every file PUT to ``/_stcore/upload_file/<session>/<file>`` in the server's memory, for any
open browser session, whether or not the page shows an uploader or its visitor may import; the files stay until
the browser deletes them or the session is shut down, and a session whose browser went away is never shut down
once it has been dropped from the reconnect store (``server.disconnectedSessionTTL``), so its files stay until
the process stops. The guard wraps the process's upload manager once (:func:`install`, from the first page view
after the server starts: files sent before it are dropped then) and then:

- stores a file only for a session whose visitor may import (:func:`admit`, from every run of the app: editors,
  or everyone in local mode); any other session gets ``403`` and nothing is kept;
- keeps at most ``KPI_SESSION_UPLOAD_MB`` (default 2048) MB of files per session; a file beyond it gets ``413``;
- releases a session's files as soon as its browser is gone (checked on every upload and every few seconds),
  and the files of an import once it is done (:func:`release`).

What it cannot do: a request's body is read (up to ``server.maxUploadSize``) before the app sees it, and
``/_stcore/metrics`` answers anyone; the HTTPS proxy in front of the dashboard bounds request sizes and rates and
hides that route (docs/security.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from functools import partial

from starlette.exceptions import HTTPException
from streamlit import runtime
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from kpis.core import access
from kpis.core.errors import InputError
from kpis.store.settings import env_number

logger = logging.getLogger(__name__)

#: Megabytes of uploaded files one browser session may hold, unless ``KPI_SESSION_UPLOAD_MB`` says otherwise.
DEFAULT_SESSION_UPLOAD_MB = 2048
#: Seconds between two checks for sessions whose browser is gone.
SWEEP_SECONDS = 2.0


def session_upload_limit() -> int:
    """The megabytes of uploads one session may hold (``KPI_SESSION_UPLOAD_MB``, default 2048, at least 1).

    >>> session_upload_limit() == DEFAULT_SESSION_UPLOAD_MB or "KPI_SESSION_UPLOAD_MB" in os.environ
    True
    """
    return int(env_number("KPI_SESSION_UPLOAD_MB", DEFAULT_SESSION_UPLOAD_MB, "a number of megabytes such as 2048",
                          whole=True))


class UploadGuard:
    """The bounds above around one :class:`MemoryUploadedFileManager` (its methods are replaced on the instance,
    so Streamlit's upload route and its session shutdown go through them)."""

    def __init__(self, manager: MemoryUploadedFileManager, is_active: Callable[[str], bool], limit_bytes: int):
        """``is_active(session_id)``: whether the session may still come back for its files."""
        self._manager = manager
        self._is_active = is_active
        self.limit_bytes = limit_bytes
        self._add = manager.add_file
        self._remove = manager.remove_file
        self._remove_session = manager.remove_session_files
        self._lock = threading.Lock()
        self._admitted: set[str] = set()
        self._held: dict[str, dict[str, int]] = {}  # session -> file id -> bytes
        manager.add_file = self.add_file  # type: ignore[method-assign]
        manager.remove_file = self.remove_file  # type: ignore[method-assign]
        manager.remove_session_files = self.remove_session_files  # type: ignore[method-assign]

    def admit(self, session_id: str, may_upload: bool) -> None:
        """Let ``session_id`` upload, or not (its files are released when it may not)."""
        with self._lock:
            if may_upload:
                self._admitted.add(session_id)
                return
            self._admitted.discard(session_id)
        self.remove_session_files(session_id)

    def held(self, session_id: str) -> int:
        """Bytes of uploaded files ``session_id`` holds."""
        with self._lock:
            return sum(self._held.get(session_id, {}).values())

    def add_file(self, session_id: str, file: UploadedFileRec) -> None:
        """Streamlit's upload route stores a file here: refused unless the session may upload and stays within
        its limit."""
        self.sweep()
        with self._lock:
            if session_id not in self._admitted:
                raise HTTPException(status_code=403, detail=access.UPLOAD_REFUSED)
            files = self._held.setdefault(session_id, {})
            total = sum(size for file_id, size in files.items() if file_id != file.file_id) + len(file.data)
            if total > self.limit_bytes:
                raise HTTPException(status_code=413, detail=(
                    f"A browser session may hold at most {self.limit_bytes // 2**20} MB of uploaded files; import "
                    "or remove some of them first."))
            files[file.file_id] = len(file.data)
            self._add(session_id, file)

    def remove_file(self, session_id: str, file_id: str) -> None:
        with self._lock:
            self._held.get(session_id, {}).pop(file_id, None)
            self._remove(session_id, file_id)

    def remove_session_files(self, session_id: str) -> None:
        with self._lock:
            self._held.pop(session_id, None)
            self._remove_session(session_id)

    def sweep(self) -> None:
        """Release the files of every session whose browser is gone, and forget that it may upload."""
        with self._lock:
            known = set(self._held) | self._admitted
        for session_id in known:
            if not self._is_active(session_id):
                with self._lock:
                    self._admitted.discard(session_id)
                self.remove_session_files(session_id)


_installed: dict[int, UploadGuard] = {}
_install_lock = threading.Lock()


def _sessions_holding_files(manager: MemoryUploadedFileManager) -> list[str]:
    """The sessions that hold uploaded files now (the upload route may add one while this reads)."""
    while True:
        try:
            return list(manager.file_storage)
        except RuntimeError:  # "dictionary changed size during iteration": read it again
            continue


def _sweep_forever(guard: UploadGuard) -> None:
    every = threading.Event()  # never set: its wait is the pause between two sweeps
    while not every.wait(SWEEP_SECONDS):
        try:
            guard.sweep()
        except Exception:  # a failed sweep must not end the thread: the next one tries again
            logger.exception("releasing the uploads of closed sessions failed")


def _session_exists(current: runtime.Runtime, session_id: str) -> bool:
    """Whether Streamlit still knows the session: connected, or disconnected but kept for reconnecting (a laptop
    that slept, a proxy's idle timeout). Its uploads are released only once it is gone for good, so a short drop
    never loses an editor's files. Streamlit's session manager is the only place that knows the kept ones."""
    manager = getattr(current, "_session_mgr", None)
    if manager is None or not hasattr(manager, "get_session_info"):
        return current.is_active_session(session_id)
    return manager.get_session_info(session_id) is not None


def install() -> UploadGuard | None:
    """The guard of this server process, put in place on the first call; None outside a server (AppTest, bare
    mode), where Streamlit's upload endpoint does not exist."""
    if not runtime.exists():
        return None
    current = runtime.get_instance()
    manager = current.uploaded_file_mgr
    if not isinstance(manager, MemoryUploadedFileManager):
        return None
    with _install_lock:
        guard = _installed.get(id(manager))
        if guard is None:
            try:
                limit = session_upload_limit()
            except InputError as exc:
                logger.error("%s; using %d", exc, DEFAULT_SESSION_UPLOAD_MB)
                limit = DEFAULT_SESSION_UPLOAD_MB
            guard = _installed[id(manager)] = UploadGuard(manager, partial(_session_exists, current), limit * 2**20)
            for session_id in _sessions_holding_files(manager):  # sent before any page ran: by nobody allowed
                guard.remove_session_files(session_id)
            threading.Thread(target=_sweep_forever, args=(guard,), daemon=True, name="upload-guard-sweep").start()
        return guard


def admit(may_upload: bool) -> None:
    """Let this browser session upload files (an editor, or anyone in local mode), or not."""
    guard = install()
    ctx = get_script_run_ctx()
    if guard is not None and ctx is not None:
        guard.admit(ctx.session_id, may_upload)


def release(file_ids: Iterable[str]) -> None:
    """Drop uploaded files this session no longer needs (an import is done), so they count no more."""
    guard = install()
    ctx = get_script_run_ctx()
    if guard is not None and ctx is not None:
        for file_id in file_ids:
            guard.remove_file(ctx.session_id, file_id)
