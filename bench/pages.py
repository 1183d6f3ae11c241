"""``python -m bench --only pages [--events N]``: every page's first render after a server start, against a 3 s budget.

The database holds ``N`` demo events and the same folder's Stripe exports (:func:`bench.ui.large_database`, built
once). For each page a fresh ``streamlit run dashboard.py`` is started on it (so the page pays for everything a
first visitor after a start pays for: the app's imports, opening the store, every KPI query with empty caches), and
a new Chromium context opens the page's URL. The time is :func:`bench.load._load_page`'s: from ``page.goto`` until
the title is visible, the first script run is over and every chart has drawn. The server's peak memory (VmRSS with
its child processes) is sampled from just before the page is opened until it is rendered.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from bench.load import CHROMIUM, CHROMIUM_ARGS, PAGES, PeakSampler, _load_page, cpu_seconds, serve
from bench.ui import large_database

#: A page's first render after a start should take no longer than this (seconds).
BUDGET = 3.0


@dataclass(frozen=True)
class FirstRender:
    """One page's first render on a fresh server: seconds, the server's peak memory (MB), the error if any, and
    the server's CPU seconds meanwhile (the rest of the time is the browser's work, or waiting for a CPU on a
    machine busy with other programs)."""

    page: str
    seconds: float
    peak_mb: float
    error: str | None
    server_cpu: float


async def _first_render(browser: Browser, db: Path, folder: Path, path: str) -> FirstRender:
    """Start a server on ``db``, open ``path`` in a new context, stop the server; the page's time and memory."""
    name = path or "overview"
    with serve(db, folder / f"streamlit-{name}.log") as server:
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB",
                                            timezone_id="UTC")
        sampler = PeakSampler(server.pid)
        sampler.start()
        cpu = cpu_seconds(server.pid)
        try:
            seconds, error = await _load_page(await context.new_page(), server.url, path)
        finally:
            peak = sampler.stop()
            cpu = cpu_seconds(server.pid) - cpu
            await context.close()
        logged = server.errors()
    if error is None and logged:
        error = f"the server logged {len(logged)} traceback(s): {logged[0].strip().splitlines()[-1][:160]}"
    return FirstRender(name, seconds, peak, error, cpu)


async def _all_pages(db: Path, folder: Path) -> list[FirstRender]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            results = []
            for path in PAGES:
                results.append(await _first_render(browser, db, folder, path))
                report(results[-1])
            return results
        finally:
            await browser.close()


def report(result: FirstRender) -> None:
    """One line per page: seconds, the ratio to the budget, the server's peak memory."""
    verdict = "ok" if result.error is None and result.seconds <= BUDGET else "OVER"
    error = f"  error: {result.error}" if result.error else ""
    print(f"  {result.page:<11} first render {result.seconds:6.2f}s  ratio to {BUDGET:g} s "
          f"{result.seconds / BUDGET:5.2f}x  {verdict:<4}  server CPU {result.server_cpu:5.2f}s  "
          f"server peak {result.peak_mb:,.0f} MB{error}", flush=True)


def main(n: int = 10_000_000) -> list[FirstRender]:
    """Every page's first render on a fresh server, on ``n`` demo events and the demo's Stripe exports."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"the pages part needs Chromium at {CHROMIUM}: sudo apt-get install -y chromium")
    db = large_database(n)
    print(f"pages: first render after a server start, {n:,} events + Stripe demo exports ({db.name}); one fresh "
          f"`streamlit run` per page, Chromium, goto until the first script run is over and every chart drawn "
          f"(budget {BUDGET:g} s):", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
        results = asyncio.run(_all_pages(db, Path(folder)))
    slowest = max(results, key=lambda r: r.seconds)
    print(f"pages: slowest first render {slowest.page} {slowest.seconds:.2f}s ({slowest.seconds / BUDGET:.2f}x the "
          f"budget); largest server peak {max(r.peak_mb for r in results):,.0f} MB", flush=True)
    return results
