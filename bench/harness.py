"""Run commands in fresh processes, alternating the contenders, and report median ratios and peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Run:
    """One measured process: wall seconds (process start included) and peak resident memory."""

    seconds: float
    peak_mb: float
    stdout: str = ""


def run_python(code: str, *, env: dict[str, str] | None = None, capture: bool = False) -> Run:
    """Run ``python -c code`` in a fresh process from the repository root; fail loudly if it fails. ``capture``:
    keep what it printed (``Run.stdout``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, stdout=out, stderr=err)
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its resource usage
        stdout, stderr = _read(out), _read(err)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed (exit {proc.returncode}):\n{stdout}\n{stderr}")
    if stderr.strip() and "Traceback" in stderr:
        raise RuntimeError(f"benchmark step failed:\n{stdout}\n{stderr}")
    return Run(seconds, rusage.ru_maxrss / 1024, stdout if capture else "")


def _read(file: IO[str]) -> str:
    """What a child wrote to ``file`` (a file, not a pipe: a child that writes more than a pipe holds, such as
    Spark's log, would otherwise wait forever on a parent that waits for it to end)."""
    file.seek(0)
    return file.read()


def compare(label: str, ours: str, reference: str, *, rounds: int = 3, setup: str | None = None,
            limit: float | None = None) -> float:
    """Alternate ``reference`` and ``ours`` ``rounds`` times; print medians and the ratio; return the ratio."""
    ours_runs, ref_runs = [], []
    for _ in range(rounds):
        if setup:
            run_python(setup)
        ref_runs.append(run_python(reference))
        if setup:
            run_python(setup)
        ours_runs.append(run_python(ours))
    ours_s = statistics.median(r.seconds for r in ours_runs)
    ref_s = statistics.median(r.seconds for r in ref_runs)
    ratio = ours_s / ref_s
    peak = max(r.peak_mb for r in ours_runs)
    verdict = "" if limit is None else ("  ok" if ratio <= limit else f"  OVER the {limit}x limit")
    print(f"{label:<58} ratio {ratio:5.2f}x  (ours {ours_s:6.2f}s, reference {ref_s:6.2f}s, "
          f"our peak {peak:,.0f} MB){verdict}", flush=True)
    return ratio
