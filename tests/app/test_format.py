"""The number formats and the scorecard's period picking, on literal values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from app_pages.ui import format as fmt
from kpis.core import formatting as kformat
from kpis.core.formatting import day_label, period_label
from kpis.core.registry import KPIS
from kpis.plan import anomalies, target_editor
from kpis.plan.scorecard import compare, first_period_retention, last_complete, reference_start
from kpis.review.build import relative_change

NAN = float("nan")


@pytest.mark.parametrize(
    ("kpi", "value", "expected"),
    [
        ("mrr", 1_234_567.8912, "$1.2M"),
        ("mrr", 12_345.6, "$12.3k"),
        ("mrr", 1_234.5, "$1.23k"),
        ("mrr", 999.4, "$999"),
        ("churned_mrr", -3_058.0, "-$3.06k"),
        ("arr", 999_999.0, "$1.0M"),
        ("active_customers", 12_345, "12,345"),
        ("dau", 203.49, "203"),
        ("logo_churn_rate", 0.045, "4.5%"),
        ("nrr", 1.072, "107.2%"),
        ("quick_ratio", 5.9005, "5.90"),
        ("logo_churn_rate", NAN, "—"),
        ("ltv", None, "—"),
        ("quick_ratio", pd.NA, "no MRR lost"),  # undefined only when nothing was lost: the ratio is unbounded
    ],
)
def test_values(kpi: str, value: object, expected: str) -> None:
    assert fmt.value(KPIS[kpi], value) == expected


@pytest.mark.parametrize(
    ("kpi", "change", "expected"),
    [("mrr", 4_640.2, "+$4.64k"), ("mrr", -120.0, "-$120"), ("active_customers", 9, "+9"),
     ("logo_churn_rate", 0.006, "+0.6 pp"), ("nrr", -0.017, "-1.7 pp"), ("quick_ratio", -1.25, "-1.25"),
     ("nrr", NAN, None)],
)
def test_deltas(kpi: str, change: float, expected: str | None) -> None:
    assert fmt.kpi_delta(KPIS[kpi], change) == expected


def test_periods() -> None:
    assert fmt.period(date(2026, 11, 16), "week") == "week of 16 Nov 2026"
    assert fmt.period(date(2026, 10, 1), "month") == "Oct 2026"
    assert fmt.period(date(2026, 10, 1), "quarter") == "Q4 2026"
    assert fmt.period(None, "week") == "—"


def test_days_and_weeks_are_named_as_the_review_names_them() -> None:
    # one form everywhere: no zero before a one-digit day, whatever the value's type
    for value in (date(2025, 12, 1), pd.Timestamp("2025-12-01"), np.datetime64("2025-12-01T00:00:00"),
                  pd.Timestamp("2025-12-01 23:59", tz="UTC")):
        assert fmt.period(value, "week") == "week of 1 Dec 2025" == period_label(date(2025, 12, 1), "week")
        assert fmt.day(value) == "1 Dec 2025" == day_label(date(2025, 12, 1))
    assert fmt.day(None) == fmt.day(pd.NaT) == fmt.period(pd.NaT, "month") == "—"


def _table(values: list[float], partial_last: bool = True) -> pd.DataFrame:
    starts = [date(2025, m, 1) for m in range(1, 13)] + [date(2026, m, 1) for m in range(1, 13)]
    starts = starts[: len(values)]
    return pd.DataFrame({"period_start": starts, "value": values,
                         "partial": [False] * (len(values) - 1) + [partial_last]})


def test_compare_with_the_previous_period_skips_the_running_one() -> None:
    table = _table([10.0, 12.0, 15.0, 4.0])  # Apr 2025 is running: Mar (15) vs Feb (12)
    c = compare(table, "month", "previous")
    assert (c.period, c.value, c.reference_period, c.reference, c.change) == (date(2025, 3, 1), 15.0,
                                                                                date(2025, 2, 1), 12.0, 3.0)
    assert (c.running_period, c.running_value) == (date(2025, 4, 1), 4.0)
    assert relative_change("mrr", c.value, c.reference) == pytest.approx(0.25)  # the review's rule: 3 / 12


def test_compare_with_a_year_ago_needs_that_period() -> None:
    values = [float(v) for v in range(1, 16)]  # Jan 2025 .. Mar 2026, Mar 2026 running
    c = compare(_table(values), "month", "year_ago")
    assert (c.period, c.value, c.reference_period, c.reference, c.change) == (date(2026, 2, 1), 14.0,
                                                                                date(2025, 2, 1), 2.0, 12.0)
    short = compare(_table([1.0, 2.0, 3.0]), "month", "year_ago")
    assert short.reference_period is None and pd.isna(short.change)


def test_an_undefined_value_stays_undefined() -> None:
    c = compare(_table([NAN, 2.0, 1.0]), "month", "previous")
    assert c.value == 2.0 and pd.isna(c.reference) and pd.isna(c.change)


def test_no_complete_period() -> None:
    c = compare(_table([5.0]), "month", "previous")
    assert c.period is None and pd.isna(c.value) and c.running_value == 5.0
    assert last_complete(_table([5.0])) is None


def test_reference_periods() -> None:
    assert reference_start(date(2026, 11, 16), "week", "previous") == date(2026, 11, 9)
    assert reference_start(date(2026, 11, 16), "week", "year_ago") == date(2025, 11, 17)
    assert reference_start(date(2026, 3, 1), "month", "year_ago") == date(2025, 3, 1)
    assert reference_start(date(2026, 1, 1), "quarter", "previous") == date(2025, 10, 1)


def test_first_period_retention() -> None:
    cells = pd.DataFrame({"cohort_start": [date(2026, 1, 5)] * 2 + [date(2026, 1, 12)] * 2,
                          "period": [0, 1, 0, 1], "cohort_size": [10, 10, 4, 4], "retained": [10, 6, 4, 1],
                          "retention": [1.0, 0.6, 1.0, 0.25], "partial": [False, False, False, True]})
    table = first_period_retention(cells)
    assert table.to_dict("list") == {"period_start": [date(2026, 1, 5), date(2026, 1, 12)], "value": [0.6, 0.25],
                                     "partial": [False, True]}


def test_a_period_cut_short_at_the_start_is_not_compared_with() -> None:
    table = _table([50.0, 10.0, 4.0])  # Feb vs Jan; the data starts on 20 Jan 2025: January holds 12 days of it
    assert compare(table, "month", "previous").reference == 50.0
    cut = compare(table, "month", "previous", data_start=date(2025, 1, 20))
    assert cut.reference_period == date(2025, 1, 1) and pd.isna(cut.reference) and pd.isna(cut.change)
    assert compare(table, "month", "previous", data_start=date(2025, 1, 1)).reference == 50.0


# -- changes: one formatter, no sign on nothing, percentages only where they mean something --------------------

@pytest.mark.parametrize(
    ("kpi", "change", "expected"),
    [("nrr", -0.0004, "0.0 pp"), ("logo_churn_rate", 0.0, "0.0 pp"), ("mrr", -0.3, "$0"),
     ("active_customers", -0.4, "0"), ("quick_ratio", -0.001, "0.00"), ("nrr", -0.0006, "-0.1 pp")],
)
def test_a_change_that_rounds_to_nothing_has_no_sign(kpi: str, change: float, expected: str) -> None:
    assert fmt.kpi_delta(KPIS[kpi], change) == expected
    assert kformat.delta(KPIS[kpi], change) == expected


def test_the_dashboard_and_the_review_write_changes_with_one_function() -> None:
    for kpi in KPIS.values():
        for change in (-12_345.6, -0.017, -0.0004, 0.0, 0.006, 9.0, 4_640.2, NAN):
            review = kformat.delta(kpi, change)
            assert fmt.kpi_delta(kpi, change) == (None if review == "—" else review), (kpi.id, change)
    assert kformat.relative(-0.0002) == "0.0%" and kformat.percent(-0.00001) == "0.0%"


@pytest.mark.parametrize(
    ("kpi", "value", "previous", "expected"),
    [
        # a rate changes in percentage points, never in percent of itself
        ("revenue_churn_rate", 0.097, 0.012, "+8.5 pp"),
        ("logo_churn_rate", 0.006, 0.0, "+0.6 pp"),
        # a sign flip or a base next to nothing: the change in money
        ("net_new_mrr", -15_010.0, 1_000.0, "-$16.0k"),
        ("contraction_mrr", -1_140.0, -20.0, "+$1.12k in size"),
        ("new_mrr", 233.0, 0.0, "+$233"),
        # otherwise a percentage (at most tenfold: 10x is +900%)
        ("new_mrr", 4_820.0, 989.0, "+387.4%"),
        ("new_mrr", 9_890.0, 989.0, "+900.0%"),
        ("churned_mrr", -150.0, -100.0, "+50.0% in size"),
        ("active_customers", 368.0, 359.0, "+2.5%"),
        ("quick_ratio", 6.90, 13.66, "-49.5%"),
    ],
)
def test_a_change_is_said_in_words_that_fit(kpi: str, value: float, previous: float, expected: str) -> None:
    magnitude = kpi in ("contraction_mrr", "churned_mrr")
    assert kformat.change_text(KPIS[kpi], value, previous, magnitude=magnitude) == expected


def test_ranges_and_undefined_values_in_words() -> None:
    assert kformat.range_text(KPIS["active_customers"], 194.0, 200.0) == "194 to 200"
    assert kformat.range_text(KPIS["logo_churn_rate"], 0.0, 0.021) == "0.0% to 2.1%"
    assert kformat.range_text(KPIS["mrr"], 127_199.0, 136_887.3) == "$127.2k to $136.9k"
    assert fmt.value(KPIS["quick_ratio"], NAN) == "no MRR lost" and fmt.value(KPIS["nrr"], NAN) == "—"


def test_percentages_are_one_rule_on_charts_in_the_editor_and_in_anomalies() -> None:
    """Stickiness and churn are percentages everywhere; quick ratio and events per active user are plain numbers."""
    assert [fmt.plotly_format(KPIS[k]) for k in ("stickiness", "logo_churn_rate", "quick_ratio",
                                                  "events_per_active_user")] == [".1%", ".1%", ".2~f", ".2~f"]
    assert [target_editor.target_text(KPIS[k], 0.25) for k in ("stickiness", "quick_ratio")] == ["25%", "0.25"]
    assert [anomalies.minimum_effect(KPIS[k], [2.0, 2.0]) for k in ("nrr", "quick_ratio")] == [0.01, 0.1]
