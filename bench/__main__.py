"""``make bench``: ``python -m bench [--events N] [--rounds R]``; prints ratios measured side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.harness import ROOT, compare, run_python

DATA = ROOT / "bench_data"


def events_csv(n: int) -> Path:
    """A ``user_id,event,timestamp`` CSV with ``n`` rows from the demo generator (made once, then reused)."""
    out = DATA / f"events_{n}"
    path = out / "events.csv"
    if not path.exists():
        print(f"writing {n:,} demo events to {path} ...", flush=True)
        run_python(f"import subprocess, sys; subprocess.run([sys.executable, 'sample_data/generate.py', "
                   f"'--events', '{n}', '--out', {str(out)!r}], check=True)")
    return path


def bench_import(n: int, rounds: int) -> None:
    """Our import of an events CSV vs DuckDB's own CREATE TABLE AS over read_csv, each into a fresh file."""
    path = events_csv(n)
    db = DATA / "bench_import.duckdb"
    setup = f"import pathlib; [p.unlink() for p in pathlib.Path({str(DATA)!r}).glob('bench_import.duckdb*')]"
    reference = (f"import duckdb; c = duckdb.connect({str(db)!r}); "
                 f"c.execute(\"CREATE TABLE e AS SELECT * FROM read_csv('{path}')\"); c.close()")
    ours = (f"from kpis.store import Store; from kpis.importer import import_file; s = Store({str(db)!r}); "
            f"r = import_file(s, {str(path)!r}); assert r.rows_added == {n}, r; s.close()")
    size_mb = path.stat().st_size / 1e6
    compare(f"import {n:,} events CSV ({size_mb:,.0f} MB) vs DuckDB CTAS", ours, reference, rounds=rounds,
            setup=setup, limit=1.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    bench_import(args.events, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
