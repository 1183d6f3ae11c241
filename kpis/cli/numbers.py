"""The KPI commands: ``series``, ``cohorts``, ``lifecycle``, ``funnel``, ``curve``, ``targets``, ``anomalies`` and
``kpis``, as CSV on
standard output (a note on standard error says which period the output speaks of).

Registering the commands loads only their arguments; each command loads what computes it when it runs, so a
command starts without the importer, the plan and the other commands' KPI functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from kpis.cli.args import by_arg, date_arg, segment_arg
from kpis.core.defaults import DEFAULT_RETENTION_MODE, DEFAULT_WINDOW_DAYS, RETENTION_MODES
from kpis.core.errors import InputError
from kpis.core.registry import COHORT_GRAINS, GRAINS, KPIS, TREND_GRAINS
from kpis.store import engines

if TYPE_CHECKING:
    from kpis.metrics.reporting import LastComplete
    from kpis.store.db import Store


def _cmd_series(store: Store, args: argparse.Namespace) -> int:
    if args.by:
        return _print_breakdown(store, args)
    from kpis.core.csv_safety import plain_decimal
    from kpis.metrics.series import series
    table = series(store, args.kpi, args.grain, start=args.start, end=args.end, segment=args.segment,
                   event=args.event)
    lines = ["period_start,value"]
    lines += [f"{p.isoformat()},{plain_decimal(v)}" for p, v in zip(table["period_start"], table["value"],
                                                                     strict=True)]
    print("\n".join(lines))
    return 0


def _print_breakdown(store: Store, args: argparse.Namespace) -> int:
    """``series --by``: ``period_start,group,value``, groups sorted by name within a period."""
    from kpis.core.csv_safety import csv_line
    from kpis.metrics.breakdown import breakdown
    table = breakdown(store, args.kpi, args.grain, args.by, start=args.start, end=args.end, segment=args.segment)
    lines = ["period_start,group,value"]
    lines += [csv_line([p, g, v]) for p, g, v in zip(table["period_start"], table["group"], table["value"],
                                                     strict=True)]
    print("\n".join(lines))
    return 0


def _cmd_cohorts(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.csv_safety import plain_decimal
    from kpis.metrics.retention import average_row, cohorts
    table = cohorts(store, args.grain, args.mode, end=args.end, segment=args.segment)
    print("cohort_start,period,cohort_size,retained,retention")
    for row in table.itertuples(index=False):
        print(f"{row.cohort_start.isoformat()},{row.period},{row.cohort_size},{row.retained},"
              f"{plain_decimal(row.retention)}")
    for row in average_row(table).itertuples(index=False):  # weighted over the complete cells of each period
        print(f"average,{row.period},{row.cohort_size},{row.retained},{plain_decimal(row.retention)}")
    return 0


def _cmd_lifecycle(store: Store, args: argparse.Namespace) -> int:
    print("period_start,new,returning,resurrected,dormant")
    for period_start, new, returning, resurrected, dormant in _lifecycle_counts(store, args):
        print(f"{period_start.isoformat()},{new},{returning},{resurrected},{dormant}")
    return 0


def _lifecycle_counts(store: Store, args: argparse.Namespace) -> list[tuple[date, int, int, int, int]]:
    """Each period's start and lifecycle counts: on Spark from the engine's table (memoized, kept on disk between
    processes); on DuckDB from the lifecycle's query itself, which builds no frame and so loads no pandas."""
    if engines.on_spark(store):
        from kpis.metrics import engine
        table = engine.table(store, "lifecycle", args.grain, end=args.end, segment=args.segment)
        return [(row.period_start, row.new, row.returning, row.resurrected, row.dormant)
                for row in table.itertuples(index=False)]
    from kpis.metrics.lifecycle import lifecycle_rows
    return [(row.period_start, row.new, row.returning, row.resurrected, row.dormant)
            for row in lifecycle_rows(store, args.grain, end=args.end, segment=args.segment)]


def _cmd_funnel(store: Store, args: argparse.Namespace) -> int:
    if not engines.choose(args.engine, args.lake, args.spark_remote, args.spark_master).is_local:
        raise InputError("funnel runs on DuckDB only: leave out --engine spark (and KPI_ENGINE=spark) to compute it "
                         "from the local database")
    from kpis.core.csv_safety import csv_line, plain_decimal
    from kpis.metrics.funnel import funnel_steps
    rows = funnel_steps(store, args.steps.split(","), args.window_days, start=args.start, end=args.end,
                        segment=args.segment)
    print("step,event,users,from_previous,from_first")
    for step, event, users, from_previous, from_first, _ in rows:
        print(csv_line([step, event, users, plain_decimal(from_previous), plain_decimal(from_first)]))
    return 0


def _cmd_accounts(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.csv_safety import csv_line, plain_decimal
    from kpis.metrics.accounts import ROW_COLUMNS, account_rows
    from kpis.metrics.engagement import engagement_as_of
    as_of = args.as_of or engagement_as_of(store)
    print(",".join(ROW_COLUMNS))
    if as_of is None:
        return 0
    rows = account_rows(store, as_of, segment=args.segment, at_risk_only=args.at_risk)
    for row in rows.itertuples(index=False):
        print(",".join([csv_line([row.customer_id]), plain_decimal(row.mrr), str(row.active_users),
                        str(row.previous_active_users), plain_decimal(row.change),
                        "true" if row.at_risk else "false"]))
    return 0


def _cmd_signal_check(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.csv_safety import plain_decimal
    from kpis.metrics.accounts import signal_check
    found = signal_check(store, args.grain, start=args.start, end=args.end, segment=args.segment)
    print("churned,churned_linked,churned_flagged,recall,flagged,flagged_churned,precision")
    print(f"{found.churned},{found.churned_linked},{found.churned_flagged},{plain_decimal(found.recall)},"
          f"{found.flagged},{found.flagged_churned},{plain_decimal(found.precision)}")
    return 0


def _cmd_curve(store: Store, args: argparse.Namespace) -> int:
    from kpis.metrics.engagement import power_curve
    table = power_curve(store, args.grain, args.period, segment=args.segment)
    print("days_active,users")
    for row in table.itertuples(index=False):
        print(f"{row.days_active},{row.users}")
    return 0


def _cmd_warm(store: Store, args: argparse.Namespace) -> int:
    from kpis.metrics import engine, kept
    from kpis.metrics.segments import max_segment_values, offered_segments
    segments: tuple[tuple[str, str] | None, ...] = (None,)
    if args.segments:
        segments += tuple(offered_segments(store, max_segment_values()).segments)
    count = engine.fill(store, tuple(args.grain or GRAINS), segments)
    folder = kept.folder_of(store)
    where = f"kept in {folder} for every process" if folder else "kept in this process only (DuckDB needs no warm-up)"
    print(f"computed {count} KPI tables, {where}", file=sys.stderr)
    return 0


def _cmd_kpis(store: Store, args: argparse.Namespace) -> int:
    print("id,label,unit,source,direction,grains,definition")
    for k in KPIS.values():
        direction = "higher is better" if k.higher_is_better else "lower is better"
        definition = k.definition.replace('"', '""')
        print(f'{k.id},{k.label},{k.unit},{k.source},{direction},{"|".join(k.grains)},"{definition}"')
    return 0


def _cmd_targets(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.csv_safety import csv_line
    from kpis.ingest.importer import import_file
    from kpis.plan.targets import evaluate, export_csv, load_targets
    if args.action == "import":
        if not args.file:
            raise InputError("targets import needs FILE (kpi,grain,period_start,target[,owner,note])")
        print(import_file(store, args.file, who=args.who, expect=("targets_csv",)).summary())
        return 0
    if args.action == "export":
        sys.stdout.write(export_csv(load_targets(store), line_end="\n"))
        return 0
    table = evaluate(store, as_of=args.as_of)
    _note_period(store, "day", args.as_of, lambda period: period.as_of_statement("targets judged"))
    print("kpi,grain,period_start,target,actual,projected_value,attainment,status,projected,owner,note")
    for t in table.itertuples(index=False):
        print(csv_line([t.kpi, t.grain, t.period_start, t.target, t.actual, t.projected_value, t.attainment,
                         t.status, t.projected, t.owner, t.note]))
    return 0


def _note_period(store: Store, grain: str, end: date | None, say: Callable[[LastComplete], str]) -> None:
    """Say on stderr which period or day the output speaks of, and why (stdout stays CSV)."""
    from kpis.metrics.reporting import last_complete_period
    period = last_complete_period(store, grain, end=end)
    if period is not None:
        print(f"note: {say(period)}", file=sys.stderr)


def _cmd_anomalies(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.csv_safety import csv_line
    from kpis.plan.anomalies import anomalies
    table = anomalies(store, args.grain, as_of=args.end, segment=args.segment)
    _note_period(store, args.grain, args.end, lambda period: period.statement("anomalies of"))
    print("kpi,period_start,value,expected,low,high,direction")
    for t in table.itertuples(index=False):
        print(csv_line([t.kpi, t.period_start, t.value, t.expected, t.low, t.high, t.direction]))
    return 0


def add_series_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``series``, ``cohorts``, ``lifecycle``, ``funnel``, ``accounts``, ``signal-check`` and ``curve``."""
    p = commands.add_parser("series", help="one KPI per period, as CSV (period_start,value)")
    p.add_argument("kpi", metavar="KPI")
    p.add_argument("--grain", choices=GRAINS, default="week")
    p.add_argument("--start", type=date_arg, metavar="D")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.add_argument("--event", metavar="NAME", help="the event, for adoption")
    p.add_argument("--by", type=by_arg, metavar="plan|reason|ATTRIBUTE",
                   help="one value per group: MRR and ARR by plan, any revenue KPI by a customer attribute "
                        "(period_start,group,value)")
    p.set_defaults(run=_cmd_series, reads_kpis=True)

    p = commands.add_parser("cohorts", help="retention cohorts as CSV")
    p.add_argument("--grain", choices=COHORT_GRAINS, default="week")
    p.add_argument("--mode", choices=tuple(RETENTION_MODES), default=DEFAULT_RETENTION_MODE)
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_cohorts, reads_kpis=True)

    p = commands.add_parser("lifecycle", help="new, returning, resurrected and dormant users per period, as CSV")
    p.add_argument("--grain", choices=COHORT_GRAINS, default="week")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_lifecycle, reads_kpis=True)

    p = commands.add_parser("funnel", help="users reaching each step of a funnel within a conversion window, as CSV")
    p.add_argument("--steps", required=True, metavar="E1,E2,...", help="2 to 6 event names, in order")
    p.add_argument("--window-days", type=int, default=DEFAULT_WINDOW_DAYS, metavar="W", dest="window_days",
                   help=f"days from the first step in which the others count (default {DEFAULT_WINDOW_DAYS})")
    p.add_argument("--start", type=date_arg, metavar="D", help="the first day a user may enter (do the first step)")
    p.add_argument("--end", type=date_arg, metavar="D", help="the last day a user may enter")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_funnel)

    p = commands.add_parser("accounts", help="paying customers linked to product accounts: MRR, active users (28 "
                            "days) now and the 28 days before, their relative change, at risk; as CSV")
    p.add_argument("--as-of", type=date_arg, metavar="D", dest="as_of", help="the day (default: the last event day)")
    p.add_argument("--at-risk", action="store_true", dest="at_risk", help="only the customers at risk")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_accounts, reads_kpis=True)

    p = commands.add_parser("signal-check", help="how far the at-risk flag can be trusted: recall (churned customers "
                            "flagged the period before) and precision (flagged customers that churned within two "
                            "periods), as CSV")
    p.add_argument("--grain", choices=GRAINS, default="month")
    p.add_argument("--start", type=date_arg, metavar="D")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_signal_check, reads_kpis=True)

    p = commands.add_parser("curve", help="the power-user curve of one week or month, as CSV")
    p.add_argument("--grain", choices=COHORT_GRAINS, default="week")
    p.add_argument("--period", type=date_arg, metavar="D", required=True)
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_curve, reads_kpis=True)


def add_plan_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``targets``, ``anomalies`` and ``kpis``."""
    p = commands.add_parser("targets", help="targets: list (with actual, attainment, status), import FILE, export")
    p.add_argument("action", choices=("list", "import", "export"))
    p.add_argument("file", nargs="?", metavar="FILE")
    p.add_argument("--as-of", type=date_arg, metavar="D", dest="as_of")
    p.add_argument("--who", default="cli")
    p.set_defaults(run=_cmd_targets, reads_kpis=True)

    p = commands.add_parser("anomalies", help="KPIs whose last complete period breaks their trend, as CSV")
    p.add_argument("--grain", choices=TREND_GRAINS, default="week")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_anomalies, reads_kpis=True)

    p = commands.add_parser("warm", help="compute the KPI tables the pages show ahead of time (with --engine spark: "
                                         "kept on disk until the lake changes)")
    p.add_argument("--grain", choices=GRAINS, action="append", help="a grain to compute (repeatable; default: all)")
    p.add_argument("--segments", action="store_true", help="also every segment the filter offers")
    p.set_defaults(run=_cmd_warm, reads_kpis=True)

    p = commands.add_parser("kpis", help="every KPI we compute, as CSV")
    p.set_defaults(run=_cmd_kpis)
