"""``python -m bench --only ui``: how fast the pages feel, measured with Streamlit's AppTest (the real
dashboard.py, in this process).

1. The demo company: each page's warm rerun after a widget change (a grain switch, both grains cached), median
   of 5 reruns, against the 0.5 s a click may take.
2. A larger database (10,000,000 demo events with the same folder's Stripe exports, imported once into
   ``bench_data/ui_10000000.duckdb``): each page's first render with empty caches against the time of its KPI
   queries alone. The queries are recorded while the page renders (every call through
   ``cache.cached`` / ``cache.computed``, plus the annotations the charts read) and replayed on a
   freshly opened store, so the ratio is the page's own cost on top of the numbers it shows. Both sides open
   their store just before the clock starts (cold, the same way), and neither counts opening it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import ROOT

DASHBOARD = ROOT / "dashboard.py"
#: A rerun after a click should feel immediate.
WARM_LIMIT = 0.5
WARM_RERUNS = 5
RENDER_ROUNDS = 3
TIMEOUT = 600


def pages() -> list[str]:
    """Every page the navigation lists (the ``*_PAGE`` constants of app_pages.ui.keys), overview first."""
    from app_pages.ui import keys

    found = [v for k, v in vars(keys).items() if k.endswith("_PAGE") and isinstance(v, str)]
    return sorted(found, key=lambda p: (p != keys.OVERVIEW_PAGE, found.index(p)))


def _name(page: str) -> str:
    return Path(page).stem


def _quiet() -> None:
    """Streamlit warns "No runtime found" for every cache call made outside a script run: errors only (its
    config is parsed once, lazily, and then sets the log level: parse it first, then change the option)."""
    import streamlit.logger
    from streamlit import config

    config.get_option("logger.level")
    config.set_option("logger.level", "error")
    streamlit.logger.set_log_level("error")


def _fresh_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    gc.collect()


@contextlib.contextmanager
def _database(path: Path) -> Iterator[None]:
    before = os.environ.get("KPI_DB")
    os.environ["KPI_DB"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("KPI_DB", None)
        else:
            os.environ["KPI_DB"] = before


def _run(at: Any) -> float:
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the page failed: {[e.value for e in at.exception]}")
    return seconds


# -- 1. warm reruns on the demo company -----------------------------------------------------------------------------

def bench_warm_reruns() -> dict[str, float]:
    """Median seconds of a rerun after a grain switch, per page, on the demo company (both grains cached)."""
    from streamlit.testing.v1 import AppTest

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as folder, _database(Path(folder) / "demo.duckdb"):
        _fresh_caches()
        at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
        loading = _run(at)
        print(f"ui: demo company loaded by the first run in {loading:.1f}s; warm rerun after a grain switch, "
              f"median of {WARM_RERUNS} (limit {WARM_LIMIT} s):", flush=True)
        for page in pages():
            at.switch_page(page)
            _run(at)
            cold = []
            for grain in ("month", "week"):  # the first switch to each grain fills the caches
                at.radio(key="grain").set_value(grain)
                cold.append(_run(at))
            times = []
            for i in range(WARM_RERUNS):
                at.radio(key="grain").set_value("month" if i % 2 == 0 else "week")
                times.append(_run(at))
            median = statistics.median(times)
            results[_name(page)] = median
            verdict = "ok" if median < WARM_LIMIT else "OVER"
            print(f"  {_name(page):<11} warm {median:5.2f}s  {verdict:<4}  (first switch to month on this page: "
                  f"{cold[0]:.2f}s; range {min(times):.2f}-{max(times):.2f}s)", flush=True)
        _fresh_caches()
    return results


# -- 2. first render on a larger database vs its KPI queries --------------------------------------------------------

def large_database(n: int = 10_000_000) -> Path:
    """``bench_data/ui_<n>.duckdb``: the demo generator's ``n`` events CSV and the same folder's Stripe exports,
    imported with :func:`kpis.ingest.importer.import_file` (made once, then reused)."""
    from bench.__main__ import DATA, events_csv
    from kpis.ingest.importer import import_file
    from kpis.store.db import Store

    db = DATA / f"ui_{n}.duckdb"
    if db.exists():
        return db
    events = events_csv(n)
    files = [*sorted(events.parent.glob("stripe_*.csv")), events]
    partial = db.with_name(db.name + ".partial")
    for stale in DATA.glob(partial.name + "*"):
        stale.unlink()
    with Store(partial) as store:
        for path in files:
            start = time.perf_counter()
            result = import_file(store, path, who="bench")
            print(f"ui: imported {path.name} into {db.name}: {result.rows_added:,} rows in "
                  f"{time.perf_counter() - start:.1f}s", flush=True)
    partial.rename(db)
    return db


@dataclass
class Recorder:
    """The KPI calls a page makes: ``(func, args, kwargs)``; cached calls once each, as the cache runs them."""

    calls: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    _seen: set[tuple[Any, ...]] = field(default_factory=set)

    def add(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, once: bool) -> None:
        key = (func.__module__, func.__qualname__, args, tuple(sorted(kwargs.items())))
        if once and key in self._seen:
            return
        self._seen.add(key)
        self.calls.append((func, args, kwargs))

    def replay(self, store: Any) -> float:
        start = time.perf_counter()
        for func, args, kwargs in self.calls:
            with contextlib.suppress(Exception):  # a page shows the same errors as messages
                func(store, *args, **kwargs)
        return time.perf_counter() - start


@contextlib.contextmanager
def _recording(recorder: Recorder) -> Iterator[None]:
    """Record every KPI call the pages make through app_pages.ui.cache (and the charts' annotations)."""
    import kpis.plan.annotations
    from app_pages.ui import cache as ui_cache

    cached, computed, notes = ui_cache.cached, ui_cache.computed, kpis.plan.annotations.all_annotations

    def cached_spy(store: Any, func: Callable[..., Any]) -> Any:
        recorder.add(func, (), {}, once=True)
        return cached(store, func)

    def computed_spy(store: Any, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        recorder.add(func, args, kwargs, once=True)
        return computed(store, func, *args, **kwargs)

    def notes_spy(store: Any, *args: Any, **kwargs: Any) -> Any:
        recorder.add(notes, args, kwargs, once=False)
        return notes(store, *args, **kwargs)

    ui_cache.cached, ui_cache.computed = cached_spy, computed_spy  # type: ignore[assignment]
    kpis.plan.annotations.all_annotations = notes_spy  # type: ignore[assignment]
    try:
        yield
    finally:
        ui_cache.cached, ui_cache.computed = cached, computed  # type: ignore[assignment]
        kpis.plan.annotations.all_annotations = notes  # type: ignore[assignment]


_COMPONENTS: list[Any] = []


def _new_app() -> Any:
    """A new AppTest session. Each AppTest scans the installed packages for custom components on its first run
    (about 0.4 s here), which a server does once at start-up: the first session's scan is handed to the others,
    so that a render is the page's time only."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    if _COMPONENTS:
        at._bidi_component_manager = _COMPONENTS[0]
    return at


def _render(page: str, recorder: Recorder | None = None) -> float:
    """Seconds of a new session's first run of ``page`` with empty caches, on a store opened anew just before
    (off the clock, as the replay's is: a server opens its store once, at its first visit, not per page)."""
    from app_pages.ui import cache as ui_cache

    _fresh_caches()
    ui_cache.open_store()
    at = _new_app()
    at.switch_page(page)
    if recorder is None:
        return _run(at)
    with _recording(recorder):
        return _run(at)


def _queries(db: Path, recorder: Recorder) -> float:
    from kpis.store.db import Store

    _fresh_caches()
    with Store(db) as store:
        return recorder.replay(store)


def bench_first_render(n: int = 10_000_000) -> dict[str, tuple[float, float]]:
    """Per page: median first render and median KPI queries alone (seconds), on the larger database."""
    db = large_database(n)
    results: dict[str, tuple[float, float]] = {}
    with _database(db):
        _fresh_caches()
        first = _new_app()
        _run(first)  # derived tables (per user and day) are built by the first KPI query: not measured
        _COMPONENTS[:] = [first._bidi_component_manager]
        print(f"ui: first render with empty caches vs its KPI queries alone, {n:,} events + Stripe demo exports, "
              f"median of {RENDER_ROUNDS}:", flush=True)
        for page in pages():
            recorder = Recorder()
            _render(page, recorder)
            renders, queries = [], []
            for _ in range(RENDER_ROUNDS):
                queries.append(_queries(db, recorder))
                renders.append(_render(page))
            render_s, query_s = statistics.median(renders), statistics.median(queries)
            results[_name(page)] = (render_s, query_s)
            ratio = render_s / query_s if query_s > 0 else float("inf")
            print(f"  {_name(page):<11} render {render_s:6.2f}s  queries {query_s:6.2f}s  ratio {ratio:5.2f}x  "
                  f"(the page's own {render_s - query_s:5.2f}s; {len(recorder.calls)} KPI calls)", flush=True)
        _fresh_caches()
    return results


def main(n: int = 10_000_000) -> None:
    _quiet()
    bench_warm_reruns()
    bench_first_render(n)
