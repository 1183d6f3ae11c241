"""What ``python -m kpis`` loads to run a command that only reads KPIs: the command's own KPI functions, never the
importer and its sources, the plan, the review, or Spark and its SQL translator (``--engine spark`` only).

Each command runs in a fresh process, as from the shell, which then lists the modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpis.ingest.importer import import_file
from kpis.store import engines
from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
#: Loaded only by the commands that need them: importing and undoing, the plan, the review, the lake, Spark.
NOT_ON_THE_READ_PATH = ("kpis.ingest", "kpis.ops", "kpis.plan", "kpis.review", "kpis.store.backup",
                        "kpis.store.lake", "kpis.store.spark", "kpis.store.dialect", "pyspark", "sqlglot", "plotly",
                        "hypothesis", "streamlit")
#: Runs one command as ``python -m kpis`` does, then writes the names of the loaded modules on stderr's last line.
RUN_AND_LIST = """
import json, sys
from kpis.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
EVENTS = ("user_id,event,timestamp\n"
          "u1,signed_up,2026-01-05T10:00:00Z\nu1,report_created,2026-01-06T10:00:00Z\n"
          "u2,signed_up,2026-01-05T11:00:00Z\nu3,signed_up,2026-01-07T09:00:00Z\n"
          "u3,report_created,2026-01-20T09:00:00Z\n")


def _run(code: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert done.stderr, done
    return done, json.loads(done.stderr.splitlines()[-1])


def _loaded_off_the_read_path(modules: object) -> list[str]:
    assert isinstance(modules, list) and "kpis.cli.main" in modules
    return [m for m in modules if m.startswith(NOT_ON_THE_READ_PATH)]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("startup")
    events = folder / "events.csv"
    events.write_text(EVENTS, encoding="utf-8")
    path = folder / "startup.duckdb"
    with Store(path) as store:
        import_file(store, events)
    return path


def test_funnel_reads_its_numbers_without_loading_the_importer_or_spark(db: Path) -> None:
    done, seen = _run(RUN_AND_LIST, "--db", str(db), "funnel", "--steps", "signed_up,report_created",
                      "--window-days", "7")
    assert seen["code"] == 0, done.stderr
    assert done.stdout == ("step,event,users,from_previous,from_first\n"
                           "1,signed_up,3,,1\n"
                           "2,report_created,1,0.3333333333,0.3333333333\n")
    assert "kpis.metrics.funnel" in seen["modules"]  # type: ignore[operator]
    assert _loaded_off_the_read_path(seen["modules"]) == []


def _frame_libraries(modules: object) -> list[str]:
    assert isinstance(modules, list) and "kpis.cli.main" in modules
    return [m for m in modules if m.split(".")[0] in ("pandas", "numpy", "pyarrow")]


def test_funnel_prints_its_steps_without_loading_pandas(db: Path) -> None:
    # u1 and u2 sign up on 5 Jan, u3 on 7 Jan; u1 creates a report a day later, u3 13 days later (inside the 14
    # days); nobody creates a second one
    done, seen = _run(RUN_AND_LIST, "--db", str(db), "funnel", "--steps", "signed_up,report_created,report_created",
                      "--window-days", "14")
    assert seen["code"] == 0, done.stderr
    assert done.stdout == ("step,event,users,from_previous,from_first\n"
                           "1,signed_up,3,,1\n"
                           "2,report_created,2,0.6666666667,0.6666666667\n"
                           "3,report_created,0,0,0\n")
    assert _frame_libraries(seen["modules"]) == []


def test_lifecycle_prints_its_periods_without_loading_pandas(db: Path) -> None:
    # week of 5 Jan: u1, u2, u3 start; of 12 Jan: nobody is active, all three go dormant; of 19 Jan: u3, first
    # active two weeks before, comes back (resurrected)
    done, seen = _run(RUN_AND_LIST, "--db", str(db), "lifecycle", "--grain", "week")
    assert seen["code"] == 0, done.stderr
    assert done.stdout == ("period_start,new,returning,resurrected,dormant\n"
                           "2026-01-05,3,0,0,0\n"
                           "2026-01-12,0,0,0,-3\n"
                           "2026-01-19,0,0,1,0\n")
    assert _frame_libraries(seen["modules"]) == []


def test_lifecycle_by_month_and_as_of_a_day(db: Path) -> None:
    # as of 10 Jan, January holds the three users' starts; u3's return on 20 Jan is after the as-of date
    done, seen = _run(RUN_AND_LIST, "--db", str(db), "lifecycle", "--grain", "month", "--end", "2026-01-10")
    assert seen["code"] == 0, done.stderr
    assert done.stdout == "period_start,new,returning,resurrected,dormant\n2026-01-01,3,0,0,0\n"
    assert _frame_libraries(seen["modules"]) == []


@pytest.mark.parametrize("command", [["kpis"], ["series", "dau", "--grain", "day"], ["lifecycle"], ["cohorts"],
                                     ["impact"], ["curve", "--period", "2026-01-05"]])
def test_a_read_command_never_loads_the_importer_or_spark(db: Path, command: list[str]) -> None:
    done, seen = _run(RUN_AND_LIST, "--db", str(db), *command)
    assert seen["code"] == 0, done.stderr
    assert _loaded_off_the_read_path(seen["modules"]) == []


def test_listing_the_kpis_loads_neither_pandas_nor_a_kpi_function(db: Path) -> None:
    done, seen = _run(RUN_AND_LIST, "--db", str(db), "kpis")
    assert done.stdout.splitlines()[0] == "id,label,unit,source,direction,grains,definition"
    assert [m for m in seen["modules"] if m.startswith(("pandas", "kpis.metrics"))] == []  # type: ignore[union-attr]


def test_importing_the_package_loads_no_layer_until_a_name_is_used() -> None:
    code = ("import json, sys\nimport kpis\nbefore = sorted(sys.modules)\n"
            "from kpis import KPIS, Store, import_file, series, undo\n"
            "names = [f.__module__ for f in (Store, import_file, series, undo)]\n"
            "print(json.dumps({'all': kpis.__all__, 'names': names, 'kpis': len(KPIS), 'modules': before}),"
            " file=sys.stderr)")
    done, seen = _run(code)
    assert [m for m in seen["modules"] if m.startswith("kpis.")] == []  # type: ignore[union-attr]
    assert seen["all"] == ["KPIS", "Store", "import_file", "series", "undo"]
    assert seen["names"] == ["kpis.store.db", "kpis.ingest.importer", "kpis.metrics.series", "kpis.ingest.importer"]
    assert seen["kpis"] > 0


def test_an_unknown_public_name_is_an_attribute_error() -> None:
    import kpis
    with pytest.raises(AttributeError, match="no attribute 'imports_file'"):
        kpis.imports_file  # noqa: B018


def test_the_spark_store_carries_the_name_the_engine_choice_knows_it_by() -> None:
    from kpis.store.spark import SparkStore
    assert SparkStore.name == engines.SPARK
    assert engines.on_spark(SparkStore.__new__(SparkStore))
