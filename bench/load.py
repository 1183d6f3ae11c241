"""``python -m bench --only load``: several people use one dashboard server at once.

One real ``streamlit run dashboard.py`` (headless, loopback, a free port) serves a fresh database holding the
demo company (``python -m kpis demo``). Debian's Chromium is driven by Playwright's asyncio API: one browser, one
context per simulated user (its own cookies and cache, so its own Streamlit sessions), and the page loads of all
users in flight together, so the server has N sessions running page scripts at the same moment.

A page load is ``page.goto`` of the page's URL (a new Streamlit session, as when a shared link is opened), timed
until the page is rendered: its title heading is visible, the script run is over (the app root's
``data-test-script-state`` is ``notRunning``) and every Plotly chart on the page has drawn its plot area. A load
is an error when any of that does not happen within :data:`PAGE_TIMEOUT` or the page shows an exception element.

The order, on one server: a warm-up (one user, every page once: the caches fill, not counted), one user alone
(the baseline), then N users at once. The ratio printed is the p50 page time under load to the p50 alone. Server
memory is the VmRSS of the server process and its descendants (/proc): at start, before the concurrent load,
at its peak (sampled by a thread) and after every user has closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, Error, Page, async_playwright, expect

from bench.harness import ROOT
from tests.server import Server, streamlit

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
#: url path -> the page's title heading
PAGES = {
    "": "Overview",
    "revenue": "Revenue",
    "customers": "Customers",
    "engagement": "Engagement",
    "retention": "Retention",
    "targets": "Targets",
    "review": "Review",
    "data": "Data",
}
SESSIONS = 8
ROUNDS = 1
#: One page load, from goto to the last chart drawn.
PAGE_TIMEOUT = 60.0
#: A whole phase (warm-up, alone, at once) of the run.
PHASE_TIMEOUT = 600.0
STARTUP_TIMEOUT = 60.0
SAMPLE_SECONDS = 0.2


# -- the server -----------------------------------------------------------------------------------------------------

def demo_database(folder: Path) -> Path:
    """A new database in ``folder`` with the demo company, loaded by the CLI so that no page load pays for it."""
    db = folder / "load.duckdb"
    done = subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "demo"], cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`python -m kpis demo` failed ({done.returncode}):\n{done.stderr}")
    return db


@contextlib.contextmanager
def serve(db: Path, log: Path) -> Iterator[Server]:
    """``streamlit run dashboard.py`` on ``db`` at a free loopback port, until the block ends (local mode whatever
    secrets file the machine has: the load is the pages', not a sign-in's)."""
    with streamlit(db, log, startup_seconds=STARTUP_TIMEOUT) as server:
        yield server


# -- memory ---------------------------------------------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (read from /proc, so a worker the server starts is counted too)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of ``pid`` and its descendants, in MB (10^6 bytes)."""
    total_kb = 0
    for each in _descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb * 1024 / 1e6


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far, in seconds."""
    total = 0
    for each in _descendants(pid):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{each}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot (/proc/stat), to see whether it was saturated:
    the browsers share the CPUs with the server, and other programs may too."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(fields[:8])  # guest time is already counted in user
    return total - fields[3] - fields[4], total  # minus idle and iowait


class PeakSampler(threading.Thread):
    """Samples :func:`rss_mb` every :data:`SAMPLE_SECONDS` while a phase runs; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_mb(pid)
        self.samples = 1
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_mb(self.pid))
            self.samples += 1

    def stop(self) -> float:
        """End sampling (one last sample included) and return the peak."""
        self._done.set()
        self.join(timeout=10)
        self.peak = max(self.peak, rss_mb(self.pid))
        return self.peak


# -- the browser sessions -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageLoad:
    """One timed page load: who, which round, which page, seconds (until rendered or failed), the error if any."""

    session: int
    round: int
    page: str
    seconds: float
    error: str | None = None


@dataclass
class Phase:
    """The page loads of ``sessions`` users running together, the phase's wall time, how many overlapped, the
    server's CPU seconds and the share of the machine's CPUs that were busy meanwhile."""

    sessions: int
    rounds: int
    loads: list[PageLoad] = field(default_factory=list)
    wall: float = 0.0
    peak_in_flight: int = 0
    server_cpu: float = 0.0
    machine_busy: float = 0.0
    _in_flight: int = 0

    def ok(self, page: str | None = None) -> list[float]:
        """Seconds of the loads without an error (of one page, or all)."""
        return [x.seconds for x in self.loads if x.error is None and (page is None or x.page == page)]

    def errors(self) -> list[PageLoad]:
        """The loads that failed: they count in the error column, not in the percentiles."""
        return [x for x in self.loads if x.error is not None]


@dataclass(frozen=True)
class Report:
    """The whole run: warm-up, one user alone, N users at once, and the server's memory at each point (MB)."""

    warmup: Phase
    alone: Phase
    together: Phase
    memory_mb: dict[str, float]
    server_errors: list[str]

    def ratio(self) -> float:
        """p50 page time with N users at once over p50 alone (same server, same run)."""
        return percentile(self.together.ok(), 50) / percentile(self.alone.ok(), 50)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, interpolated linearly between the closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _short(exc: BaseException) -> str:
    """The first line of an error, so that a report line stays one line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


async def _load_page(tab: Page, base: str, path: str) -> tuple[float, str | None]:
    """Open ``base/path`` and wait until it is rendered; returns the seconds and the error, if any."""
    start = time.perf_counter()
    deadline = start + PAGE_TIMEOUT

    def left() -> float:  # Playwright counts in milliseconds; at least 1 ms so a spent budget fails, not waits
        return max(1.0, (deadline - time.perf_counter()) * 1000)

    exception = tab.get_by_test_id("stException")
    try:
        await tab.goto(f"{base}/{path}", timeout=left())
        heading = tab.get_by_role("heading", name=PAGES[path], exact=True)
        await expect(heading.or_(exception).first).to_be_visible(timeout=left())
        # The running indicator only shows after 0.5 s of running, so it says nothing about a quick run: the
        # app root's script state does (initial, running, then notRunning once the run is over).
        await expect(tab.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning",
                                                                    timeout=left())
        charts = tab.get_by_test_id("stPlotlyChart")
        for i in range(await charts.count()):
            await expect(charts.nth(i).locator(".main-svg").first).to_be_attached(timeout=left())
        seconds = time.perf_counter() - start
        shown = await exception.count()
        if shown:
            first = (await exception.first.inner_text(timeout=left())).strip().splitlines()
            return seconds, f"{shown} exception element(s): {first[0] if first else ''}"[:200]
        return seconds, None
    except (AssertionError, Error) as exc:  # expect() raises AssertionError on timeout, Playwright its Error
        return time.perf_counter() - start, _short(exc)


async def _user(browser: Browser, base: str, number: int, rounds: int, paths: Sequence[str], phase: Phase) -> None:
    """One user in their own browser context: ``rounds`` times through ``paths``, starting at a different page
    from the other users so that the pages are not all loaded in lockstep."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC")
    try:
        tab = await context.new_page()
        order = [paths[(number + i) % len(paths)] for i in range(len(paths))]
        for round_ in range(rounds):
            for path in order:
                phase._in_flight += 1
                phase.peak_in_flight = max(phase.peak_in_flight, phase._in_flight)
                try:
                    seconds, error = await _load_page(tab, base, path)
                finally:
                    phase._in_flight -= 1
                phase.loads.append(PageLoad(number, round_, path or "overview", seconds, error))
    finally:
        await context.close()


async def _phase(browser: Browser, server: Server, sessions: int, rounds: int, paths: Sequence[str]) -> Phase:
    """``sessions`` users at once; returns their page loads and the server's CPU time meanwhile."""
    phase = Phase(sessions, rounds)
    start, cpu, (busy, total) = time.perf_counter(), cpu_seconds(server.pid), machine_busy_ticks()
    users = [_user(browser, server.url, i, rounds, paths, phase) for i in range(sessions)]
    await asyncio.wait_for(asyncio.gather(*users), timeout=PHASE_TIMEOUT)
    phase.wall = time.perf_counter() - start
    phase.server_cpu = cpu_seconds(server.pid) - cpu
    busy_after, total_after = machine_busy_ticks()
    phase.machine_busy = (busy_after - busy) / max(total_after - total, 1)
    return phase


async def _drive(server: Server, sessions: int, rounds: int, paths: Sequence[str]) -> Report:
    """The three phases in one browser against one server, so that the ratio compares like with like."""
    memory = {"start": rss_mb(server.pid)}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            warmup = await _phase(browser, server, 1, 1, paths)
            alone = await _phase(browser, server, 1, rounds, paths)
            memory["before"] = rss_mb(server.pid)
            sampler = PeakSampler(server.pid)
            sampler.start()
            try:
                together = await _phase(browser, server, sessions, rounds, paths)
            finally:
                memory["peak"] = sampler.stop()
        finally:
            await browser.close()
    memory["after"] = rss_mb(server.pid)
    return Report(warmup, alone, together, memory, server.errors())


def run_load(server: Server, *, sessions: int = SESSIONS, rounds: int = ROUNDS,
             paths: Sequence[str] = tuple(PAGES)) -> Report:
    """Warm-up, one user alone, then ``sessions`` users at once, each ``rounds`` times through ``paths``.

    The event loop runs in a thread of its own, so a caller whose thread already has one (a sync Playwright,
    say) can call this too."""
    unknown = [p for p in paths if p not in PAGES]
    if unknown:
        raise ValueError(f"no such page: {unknown}; the pages are {list(PAGES)}")
    box: list[Report | BaseException] = []

    def target() -> None:
        try:
            box.append(asyncio.run(_drive(server, sessions, rounds, paths)))
        except BaseException as exc:  # handed to the caller's thread below
            box.append(exc)

    worker = threading.Thread(target=target, name="load")
    worker.start()
    worker.join(timeout=3 * PHASE_TIMEOUT + 120)
    if worker.is_alive() or not box:
        raise RuntimeError("the load run did not finish in time")
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


# -- the report -----------------------------------------------------------------------------------------------------

def _stats(values: Sequence[float]) -> str:
    """p50, p95 and max as table cells; dashes when every load of the page failed."""
    return " ".join(_cell(percentile(values, q) if values else math.nan) for q in (50, 95, 100))


def _cell(seconds: float) -> str:
    """Seconds as a table cell, a dash for none."""
    return f"{'-':>6}" if math.isnan(seconds) else f"{seconds:6.2f}"


def _rounds(n: int) -> str:
    """"1 round", "2 rounds": the summary lines read as sentences."""
    return f"{n} round" if n == 1 else f"{n} rounds"


def print_report(report: Report) -> None:
    """The report, in the style of the other parts: one summary line per phase, a table per page, the ratio,
    the server's CPU and memory."""
    warmup, alone, together, mem = report.warmup, report.alone, report.together, report.memory_mb
    n = together.sessions
    print(f"load: warm-up (1 session, every page once, fills the caches): {warmup.wall:.1f}s, "
          f"{len(warmup.errors())} errors", flush=True)
    print(f"load: 1 session alone, {_rounds(alone.rounds)}: {len(alone.loads)} page loads in {alone.wall:.1f}s, "
          f"{len(alone.errors())} errors", flush=True)
    print(f"load: {n} sessions at once, {_rounds(together.rounds)}: {len(together.loads)} page loads in "
          f"{together.wall:.1f}s (up to {together.peak_in_flight} in flight), {len(together.errors())} errors",
          flush=True)
    print(f"  {'page':<11} {'alone p50':>9}   at once: {'p50':>6} {'p95':>6} {'max':>6}  errors", flush=True)
    for name in [*dict.fromkeys(x.page for x in together.loads), None]:
        errors = sum(1 for x in together.errors() if name is None or x.page == name)
        alone_p50 = percentile(alone.ok(name), 50) if alone.ok(name) else math.nan
        print(f"  {name or 'all pages':<11} {_cell(alone_p50):>8}s            {_stats(together.ok(name))}  "
              f"{errors:>6}", flush=True)
    failed = [(label, x) for label, phase in (("warm-up", warmup), ("alone", alone), ("at once", together))
              for x in phase.errors()]
    for label, load in failed[:10]:
        print(f"  error ({label}): session {load.session} round {load.round} {load.page} after "
              f"{load.seconds:.1f}s: {load.error}", flush=True)
    ratio = report.ratio()
    print(f"{f'load: p50 page time, {n} sessions at once vs 1 alone':<58} ratio {ratio:5.2f}x  "
          f"(at once {_cell(percentile(together.ok(), 50))}s, alone {_cell(percentile(alone.ok(), 50))}s, "
          f"p95 at once {_cell(percentile(together.ok(), 95)).strip()}s)", flush=True)
    cpus = os.cpu_count() or 1
    print(f"load: server CPU per page load: alone {alone.server_cpu / max(len(alone.loads), 1):.2f}s, at once "
          f"{together.server_cpu / max(len(together.loads), 1):.2f}s; during the load the server used "
          f"{together.server_cpu / together.wall:.2f} of {cpus} CPUs, the machine's CPUs were "
          f"{together.machine_busy:.0%} busy (alone: {alone.machine_busy:.0%})", flush=True)
    print(f"load: server memory (VmRSS, with child processes): start {mem['start']:,.0f} MB, before the load "
          f"{mem['before']:,.0f} MB, peak {mem['peak']:,.0f} MB, after {mem['after']:,.0f} MB "
          f"(+{mem['peak'] - mem['before']:,.0f} MB at peak)", flush=True)
    if report.server_errors:
        print(f"load: the server logged {len(report.server_errors)} traceback(s); the first:\n"
              f"{report.server_errors[0]}", flush=True)


def main(sessions: int = SESSIONS, rounds: int = ROUNDS) -> Report:
    """Start a server on a fresh demo database, run the load, print the report."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"the load part needs Chromium at {CHROMIUM}: sudo apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        db = demo_database(Path(folder))
        with serve(db, Path(folder) / "streamlit.log") as server:
            print(f"load: one `streamlit run dashboard.py` (pid {server.pid}) on the demo company; {sessions} "
                  f"sessions = {sessions} contexts of one Chromium driven together by asyncio; page time = goto "
                  f"until the title is visible, the script run over and every chart drawn", flush=True)
            report = run_load(server, sessions=sessions, rounds=rounds)
        print_report(report)
    return report
