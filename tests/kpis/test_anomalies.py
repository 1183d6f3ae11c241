"""The anomaly method's promises (kpis/plan/anomalies.py, docs/targets.md), as properties of generated series.

A KPI that grows steadily, accelerates, slows gently or repeats a weekly pattern, with small noise, is never
flagged; the same series with a jump is. "Noise" here is its amplitude: each period lies within ±a of the smooth
curve (a share of its level). A single period cannot tell a jump of 3× the noise from noise with certainty (the
period's own noise and the error of any trend fitted to a noisy history add up to more than the gap), so that
promise is checked the way it can hold: over 200 noisy copies of each generated series, the flags are counted.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpis.core.registry import KPIS
from kpis.plan.anomalies import DAY_WINDOW, MIN_HISTORY, MIN_SHARE, WINDOW, band, judge, judge_history

MRR, MAU = KPIS["mrr"], KPIS["mau"]
SHAPES = ("linear", "concave", "convex", "slowing")


def smooth(shape: str, periods: int, change: float, pace: float, season: int, weekend: float,
           phase: int, level: float) -> np.ndarray:
    """``periods + 1`` values of a smooth series ending at ``level``; the last is the period judged.

    linear: grows by ``change`` of its level over the window; concave: a square root (growth slowing steadily,
    by 41% at most over the window);
    convex: ``pace`` growth per period, compounded; slowing: growth of ``pace`` per period decaying over
    ``change`` windows. At day grain (``season`` 7) the rates are per week and weekends are ``weekend`` of a
    weekday.
    """
    t = np.arange(periods + 1, dtype="float64")
    per = pace / season
    if shape == "linear":
        y = 1 + change * t / periods
    elif shape == "concave":
        y = np.sqrt(t + (1 + 2 * abs(change)) * periods)
    elif shape == "convex":
        y = np.exp(min(per, 1.0 / periods) * t)
    else:
        tau = (1 + abs(change) * 2) * periods
        y = np.exp(per * tau * (1 - np.exp(-t / tau)))
    y = level * y / y[-1]
    if season > 1:
        y = y * np.where((t + phase) % 7 >= 5, weekend, 1.0)
    return y


def noisy(series: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Each period moved by up to ± ``amplitude`` of its value."""
    return series * (1 + rng.uniform(-amplitude, amplitude, len(series)))


def flagged(kpi, values: np.ndarray, season: int) -> str | None:
    found = judge_history(kpi, list(values[:-1]), float(values[-1]), season)
    return None if found is None else found[1]


series_args = st.fixed_dictionaries({
    "shape": st.sampled_from(SHAPES),
    "change": st.floats(-0.2, 0.6),
    "pace": st.floats(0.0, 0.05),
    "weekend": st.floats(0.6, 1.0),
    "phase": st.integers(0, 6),
    "level": st.floats(200.0, 2_000_000.0),
})
grains = st.sampled_from([(1, MIN_HISTORY), (1, 12), (1, WINDOW), (7, 28), (7, DAY_WINDOW)])


@settings(max_examples=150, deadline=None)
@given(args=series_args, grain=grains, amplitude=st.floats(0.0, 0.01), seed=st.integers(0, 2**32 - 1))
def test_smooth_series_with_small_noise_raise_no_flag(args, grain, amplitude, seed):
    season, periods = grain
    series = noisy(smooth(periods=periods, season=season, **args), amplitude, np.random.default_rng(seed))
    assert flagged(MRR, series, season) is None
    assert flagged(MAU, np.round(series), season) is None  # as a count, in whole users


@settings(max_examples=150, deadline=None)
@given(args=series_args, grain=grains, amplitude=st.floats(0.0, 0.01), seed=st.integers(0, 2**32 - 1),
       up=st.booleans())
# days whose weekends are a fixed share of the weekdays, so that the weekend dip grows with the KPI
@example(args={"shape": "linear", "change": 0.5, "pace": 0.0, "weekend": 0.75, "phase": 6, "level": 200.0},
         grain=(7, 28), amplitude=0.0, seed=0, up=True)
@example(args={"shape": "concave", "change": 0.0, "pace": 0.04, "weekend": 0.67, "phase": 6, "level": 1_750_000.0},
         grain=(7, 28), amplitude=0.0, seed=0, up=True)
def test_the_same_series_with_a_jump_is_flagged(args, grain, amplitude, seed, up):
    # a jump of 3x the noise, and at least 3x the smallest departure worth a flag (5% of the level): a smaller
    # one is below what the method reports on purpose
    season, periods = grain
    series = noisy(smooth(periods=periods, season=season, **args), amplitude, np.random.default_rng(seed))
    jump = 3 * max(amplitude, MIN_SHARE) * series[-1]
    series[-1] += jump if up else -jump
    assert flagged(MRR, series, season) == ("above" if up else "below")


def _days(weekday, weekend: float) -> list[float]:
    """29 days (the last one judged, a Sunday): ``weekday(t)`` on day ``t``, ``weekend`` of it on Saturdays and
    Sundays (days 0, 6, 7, 13, ... 28: the first day is a Sunday)."""
    return [weekday(t) * (weekend if t % 7 in (0, 6) else 1.0) for t in range(29)]


@pytest.mark.parametrize(("days", "sunday"), [
    # MRR growing by 2 a weekday, weekends at 75%: the last Sunday is 0.75 x (100 + 2 x 28) = 117
    (_days(lambda t: 100.0 + 2 * t, 0.75), 117.0),
    # growth slowing as a square root, weekends at 70%: 0.7 x 100 x sqrt(56) = 523.83
    (_days(lambda t: 100 * math.sqrt(t + 28), 0.7), 0.7 * 100 * math.sqrt(56)),
])
def test_a_weekend_dip_that_grows_with_the_kpi_is_a_pattern_and_a_jump_from_it_is_flagged(days, sunday):
    # the dip is a share of the KPI, so the weekly pattern is a fixed offset on a log scale only; as it is, the
    # robust line would read every weekend as a spike and expect a Sunday at a weekday's level
    history = days[:-1]
    assert days[-1] == pytest.approx(sunday)
    found = band(history, MRR, season=7)
    assert abs(found.expected - sunday) < 0.02 * sunday
    assert judge_history(MRR, history, sunday, season=7) is None
    assert judge_history(MRR, history, sunday * 1.15, season=7)[1] == "above"
    assert judge_history(MRR, history, sunday * 0.85, season=7)[1] == "below"


@pytest.mark.parametrize(("kpi", "days"), [
    # never judged on a log scale: a weekend dip that grows with the KPI stays off any line with one level a weekday
    (KPIS["net_new_mrr"], _days(lambda t: 100.0 + 2 * t, 0.75)),  # last Sunday 117
    (KPIS["events_per_active_user"], _days(lambda t: 10.0 + 0.2 * t, 0.75)),  # 11.7
    (KPIS["stickiness"], _days(lambda t: 0.2 + 0.004 * t, 0.75)),  # 0.234
    # MRR doubling in four weeks with weekends at 80%: closer to a line as it is than on a log scale
    (MRR, _days(lambda t: 100.0 + 4 * t, 0.8)),  # 169.6
])
def test_a_weekday_off_the_line_every_week_keeps_its_level(kpi, days):
    # the robust line would set aside every Saturday and Sunday and leave the Sunday level to chance; the plain
    # line keeps them, and counts their distance from it as scatter
    history, sunday = days[:-1], days[-1]
    assert judge_history(kpi, history, sunday, season=7) is None
    assert judge_history(kpi, history, sunday * 1.15, season=7)[1] == "above"
    assert judge_history(kpi, history, sunday * 0.85, season=7)[1] == "below"


def test_a_weekday_set_aside_does_not_take_the_robust_line_from_the_others():
    # a count that is mostly 0 a day: eight weeks with a one on days 20, 22, 36 and 40 (22 and 36 the same
    # weekday, whose level the ones lift, so that the robust fit sets that weekday's zeros aside too). The day
    # judged is another weekday: expected 0, and a single one is within the minimum effect of 1; three are not
    history = [1.0 if day in (20, 22, 36, 40) else 0.0 for day in range(56)]
    reactivated = KPIS["reactivated_customers"]
    found = band(history, reactivated, season=7)
    assert (found.low, found.high) == (0.0, 1.0) and found.expected == pytest.approx(0.0, abs=1e-9)
    assert judge_history(reactivated, history, 1.0, season=7) is None
    assert judge_history(reactivated, history, 3.0, season=7)[1] == "above"


COPIES = 200


def _flag_rates(args: dict, season: int, periods: int, amplitude: float, seed: int) -> tuple[float, float]:
    """Over :data:`COPIES` noisy copies of one smooth series: the share flagged as it is, and the share flagged
    with a jump of 3x the noise in the last period (up or down)."""
    rng = np.random.default_rng(seed)
    base = smooth(periods=periods, season=season, **args)
    plain = jumped = 0
    for _ in range(COPIES):
        series = noisy(base, amplitude, rng)
        plain += flagged(MRR, series, season) is not None
        series[-1] += (1 if rng.random() < 0.5 else -1) * 3 * amplitude * base[-1]
        jumped += flagged(MRR, series, season) is not None
    return plain / COPIES, jumped / COPIES


gentle = st.fixed_dictionaries({
    "shape": st.sampled_from(SHAPES),
    "change": st.floats(0.0, 0.6),
    "pace": st.floats(0.0, 0.04),
    "weekend": st.floats(0.6, 1.0),
    "phase": st.integers(0, 6),
    "level": st.floats(200.0, 2_000_000.0),
})


@settings(max_examples=20, deadline=None)
@given(args=gentle, season=st.sampled_from([1, 7]), amplitude=st.floats(0.03, 0.06), seed=st.integers(0, 2**32 - 1))
def test_noise_rarely_flags_and_a_jump_of_three_times_the_noise_mostly_does(args, season, amplitude, seed):
    # with a full window of history: at most 8% of the noisy copies of any steady series are flagged (about 0.3%
    # on average), and at least 40% of those with a jump of 3x the noise (about 85% on average, see below)
    plain, jumped = _flag_rates(args, season, WINDOW if season == 1 else DAY_WINDOW, amplitude, seed)
    assert plain <= 0.08
    assert jumped >= 0.40


def test_on_average_one_in_a_hundred_steady_series_is_flagged_and_most_jumps_are():
    # a fixed spread of steady series (every shape, growth from flat to fast, noise 3% to 6%, periods and days)
    plains, jumps = [], []
    for season in (1, 7):
        for shape in SHAPES:
            for change, pace in ((0.0, 0.0), (0.3, 0.02), (0.6, 0.04)):
                for amplitude in (0.03, 0.06):
                    args = {"shape": shape, "change": change, "pace": pace, "weekend": 0.7, "phase": 3,
                            "level": 50_000.0}
                    plain, jumped = _flag_rates(args, season, WINDOW if season == 1 else DAY_WINDOW, amplitude,
                                                seed=len(plains))
                    plains.append(plain)
                    jumps.append(jumped)
    assert sum(plains) / len(plains) <= 0.01
    assert sum(jumps) / len(jumps) >= 0.80


def test_a_one_off_spike_does_not_make_the_return_to_normal_unusual():
    # MRR steady at +2% a month with ±1% wobble; one month 30% low; the month after is back on the trend
    steady = [100_000 * 1.02 ** k * (1 + 0.01 * math.sin(3 * k)) for k in range(14)]
    spiked = [*steady[:12], steady[12] * 0.7]
    assert judge_history(MRR, spiked[:-1], spiked[-1])[1] == "below"
    back = [*spiked, steady[13]]
    assert judge_history(MRR, back[:-1], back[-1]) is None


def test_a_lasting_shift_is_flagged_once():
    # flat at 1,000 with wobble, then 1,300 from one month on: the first month is flagged, the next is not
    flat = [1_000 * (1 + 0.01 * math.sin(5 * k)) for k in range(12)]
    shifted = [*flat, 1_300.0, 1_310.0]
    assert judge_history(MRR, shifted[:12], shifted[12])[1] == "above"
    assert judge_history(MRR, shifted[:13], shifted[13]) is None


# -- the band in words that fit: clipped to what the KPI can take, counts whole -----------------------------------

def test_a_rate_band_never_goes_below_zero_or_above_one():
    churn = band([0.0, 0.02, 0.0, 0.02, 0.0, 0.02, 0.0, 0.02], KPIS["logo_churn_rate"])
    assert churn.low == 0.0 and churn.high > 0.02  # a scatter of ±1 point around 1%: the low end would be negative
    grr = band([0.99, 1.0, 0.98, 1.0, 0.99, 1.0, 0.98, 1.0], KPIS["grr"])
    assert grr.high == 1.0 and grr.low < 0.98


def test_a_count_band_is_in_whole_numbers():
    found = band([194.0, 196.0, 195.0, 197.0, 196.0, 198.0, 197.0, 199.0], KPIS["active_customers"])
    assert found.low.is_integer() and found.high.is_integer() and found.low < found.expected < found.high


def _weeks(values: list[float], first_monday: date) -> pd.DataFrame:
    return pd.DataFrame({"period_start": [first_monday + timedelta(weeks=i) for i in range(len(values))],
                         "value": values, "partial": [False] * len(values)})


def test_warming_up_periods_are_neither_history_nor_judged():
    # events from Sunday 23 Nov 2025: MAU counts fewer than 30 days until 21 Dec, the end of the week of 15 Dec.
    # The five weeks from 17 Nov ramp up from 100 to 780 for that reason alone; then MAU grows by 10 a week.
    first, monday = date(2025, 11, 23), date(2025, 11, 17)
    ramp = [100.0, 300.0, 500.0, 700.0, 780.0]
    steady = [800.0 + 10 * k for k in range(10)]  # the weeks of 22 Dec .. 23 Feb, the last one judged
    assert judge(KPIS["mau"], _weeks(ramp + steady, monday), "week", first) is None
    # five weeks after the ramp are too few to judge a wild value: the ramp is no history
    wild = _weeks([*ramp, *steady[:5], 5_000.0], monday)
    assert judge(KPIS["mau"], wild, "week", first) is None
    assert judge(KPIS["mau"], wild, "week", None)["direction"] == "above"  # were the ramp data
    # a warming-up period itself is never judged, however far off: nine steady weeks from 13 Oct, then the week of
    # 15 Dec (to Sunday 21 Dec) at 5,000: judged when the events start on 1 Sep, not when they start on 23 Nov
    late = _weeks([*steady[:9], 5_000.0], date(2025, 10, 13))
    assert judge(KPIS["mau"], late, "week", date(2025, 9, 1))["direction"] == "above"
    assert judge(KPIS["mau"], late, "week", first) is None
