"""One Spark Connect server for the whole test session, started from the pyspark package's own scripts.

The server starts only when a test under ``tests/spark`` asks for it, on a free port, with its logs and pid file in
a folder of the session (so parallel runs never share one), and is stopped when the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kpis.ops.demo import load_demo
from kpis.store import settings, spark
from kpis.store.db import Store
from kpis.store.engines import Choice, open_engine
from kpis.store.lake import export_lake
from kpis.store.spark import SparkStore

#: How long the server may take to start on a busy machine before the session gives up.
START_SECONDS = 180.0
#: How long the server may take to exit once asked to.
STOP_SECONDS = 60.0
#: The line the server's log prints once it accepts clients.
STARTED = "Spark Connect server started at"
#: Settings that keep a test server small and quick on a test's small data: two shuffle partitions, no web UI,
#: warnings only in its log (at INFO it logs every file of every query), and no adaptive re-planning or generated
#: code (compiling it takes longer than running the tests' queries interpreted: the KPIs take half the time).
SERVER_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.log.level": "WARN",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def spark_home() -> Path:
    """The pyspark package folder: it holds ``sbin/start-connect-server.sh`` and the jars."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ConnectServer:
    """A Spark Connect server run by ``sbin/start-connect-server.sh`` with its own log and pid folder."""

    def __init__(self, folder: Path, port: int, conf: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.port = port
        self.conf = SERVER_CONF if conf is None else conf
        self.home = spark_home()
        self.env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOG_DIR": str(folder),
                    "SPARK_PID_DIR": str(folder), "SPARK_IDENT_STRING": f"kpis-test-{port}"}

    @property
    def remote(self) -> str:
        """The address clients connect to."""
        return f"sc://localhost:{self.port}"

    def start(self) -> None:
        """Start the server and return once its log says it accepts clients; fail with the log's tail if the
        process dies or :data:`START_SECONDS` pass first."""
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            pytest.fail("the Spark tests need Java 17: make test installs Debian's openjdk-17-jre-headless")
        conf = [arg for key, value in {**self.conf, "spark.connect.grpc.binding.port": str(self.port)}.items()
                for arg in ("--conf", f"{key}={value}")]
        self._script("start-connect-server.sh", "--master", "local[2]", *conf)
        deadline = time.monotonic() + START_SECONDS
        while not self.ready():
            if self.pid() is None or not _alive(self.pid()):
                pytest.fail(f"the Spark Connect server exited while starting:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the Spark Connect server did not start in {START_SECONDS:.0f} s:\n{self.tail()}")
            time.sleep(0.2)

    def ready(self) -> bool:
        """Whether the server accepts clients: its log says so (at log level INFO) or its port takes a
        connection (at WARN, which the server is run at, the log stays quiet)."""
        if STARTED in self.log():
            return True
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Ask the server to stop (``sbin/stop-connect-server.sh``) and wait until its process is gone."""
        pid = self.pid()
        self._script("stop-connect-server.sh")
        deadline = time.monotonic() + STOP_SECONDS
        while pid is not None and _alive(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Spark Connect server (pid {pid}) did not stop:\n{self.tail()}")
            time.sleep(0.1)

    def _script(self, name: str, *args: str) -> None:
        done = subprocess.run(["bash", str(self.home / "sbin" / name), *args], env=self.env, capture_output=True,
                              text=True, timeout=START_SECONDS, check=False)
        if done.returncode != 0:
            pytest.fail(f"{name} failed ({done.returncode}): {done.stdout}{done.stderr}\n{self.tail()}")

    def _files(self, pattern: str) -> list[Path]:
        return sorted(self.folder.glob(f"spark-{self.env['SPARK_IDENT_STRING']}-*{pattern}"))

    def pid(self) -> int | None:
        """The server's process id, from the pid file the start script writes."""
        files = self._files(".pid")
        return int(files[0].read_text().strip()) if files else None

    def log(self) -> str:
        """The server's ``.out`` log so far."""
        files = self._files(".out")
        return files[0].read_text(errors="replace") if files else ""

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for a failure's message."""
        return "\n".join(self.log().splitlines()[-lines:])


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie left for its parent to reap does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    """The session's Spark Connect server, started on first use and stopped at the end."""
    server = ConnectServer(tmp_path_factory.mktemp("spark-server"), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark_session(spark_server: ConnectServer) -> Iterator[Any]:
    """The Spark session every test reaches the server through (the engines opened by the tests share it); it
    ends before the server stops, so no client is left calling a server that is gone."""
    found = spark.session(remote=spark_server.remote)
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="session")
def spark_remote(spark_server: ConnectServer, spark_session: Any) -> str:
    """The server's address, for the engines and the command line (its session open meanwhile)."""
    return spark_server.remote


@dataclass
class Pair:
    """A DuckDB store and the Spark engine over the lake exported from it."""

    store: Store
    spark: SparkStore
    lake: Path


def pair(folder: Path, store: Store, remote: str) -> Pair:
    """Export ``store``'s lake into ``folder`` and open the Spark engine on it, as ``--engine spark`` does."""
    exported = export_lake(store, folder / "lake")
    engine = open_engine(store, Choice(engine="spark", lake=str(exported.path), remote=remote))
    assert isinstance(engine, SparkStore)
    return Pair(store, engine, exported.path)


#: The demo's activation event for the parity tests: its users' most frequent event after page views.
DEMO_ACTIVATION = "report_created"


def demo_pair(folder: Path, remote: str) -> Pair:
    """The demo company in a new database in ``folder`` (with an activation event, so that every KPI has values),
    and Spark over its lake."""
    store = Store(folder / "kpis.duckdb")
    load_demo(store)
    settings.set_activation_event(store, DEMO_ACTIVATION, [DEMO_ACTIVATION])
    return pair(folder, store, remote)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, spark_remote: str) -> Iterator[Pair]:
    """The demo company on both engines, for the whole session (no test changes its settings)."""
    found = demo_pair(tmp_path_factory.mktemp("demo"), spark_remote)
    try:
        yield found
    finally:
        found.spark.close()
        found.store.close()
