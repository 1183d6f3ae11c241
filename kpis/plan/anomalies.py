"""Anomalies: a KPI whose last complete period breaks clearly, and by enough to matter, from its own recent course.

The method (``docs/targets.md`` says it for readers):

1. **History**: the complete periods before the judged one, up to :data:`WINDOW` of them (:data:`DAY_WINDOW` days
   at day grain), leaving out undefined values and the periods in which the KPI warms up (:mod:`kpis.metrics.warmup`).
   With fewer than :data:`MIN_HISTORY` (:data:`DAY_MIN_HISTORY` days) the KPI is not judged; a warming-up period
   is never judged.
2. **Expected value**: the trend line through the history, carried one period on. Recent periods count more (a
   period :data:`HALF_LIFE` periods older counts half), so the line follows where the KPI is going; the line is
   fitted robustly (Tukey's bisquare: a period far from the line counts less, so a past spike does not tilt
   it); at day grain each weekday gets its own level (a weekly pattern), and when the robust fit would set aside
   every period of the judged weekday, the plain line takes its place (:func:`_fit`). An amount or a count that
   is always above zero is also fitted on a log scale, where steady percentage growth is a line, and judged on
   the scale on which its whole history lies closer to a plain line (:func:`_closer_on_log_scale`). A line
   rather than a curve: a curve bends towards the last periods and reads a one-off dip as the start of a slide;
   gentle acceleration or slowing shows as scatter around the line, which widens the band.
3. **Noise**: the scatter of the history around the line, widened for carrying the line one period on (the
   prediction standard error ``s·√(1 + Σc²)``).
4. **Band**: the expected value ± the larger of :data:`WIDTH` prediction standard errors (more with a short
   history, as Student's t: :func:`width`) and the minimum effect (:func:`minimum_effect`: 5% of the KPI's
   size, one percentage point for a rate), clipped to what the KPI can take (a rate is never negative); counts
   in whole numbers.
5. The KPI is flagged when its value lies outside the band, and also outside the band of a plain least-squares
   line (which a lasting shift tilts), so that a new level is flagged once, not in every period after it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kpis.core import formatting
from kpis.core.errors import DataError, InputError
from kpis.core.registry import ACCOUNT_HEADLINE, HEADLINE, KPIS, Kpi
from kpis.metrics import engine
from kpis.metrics import warmup as warm
from kpis.metrics.reporting import last_complete_period
from kpis.metrics.series import series
from kpis.store.db import Store

#: The longest history used, and the shortest that is judged, in periods (days at day grain).
WINDOW, MIN_HISTORY = 24, 8
DAY_WINDOW, DAY_MIN_HISTORY = 56, 28
#: How fast older periods count less in the fit: half as much this many periods (days at day grain) earlier.
HALF_LIFE, DAY_HALF_LIFE = 8, 21
#: The band's half-width in prediction standard errors.
WIDTH = 3.0
#: The smallest departure worth a flag: this share of the KPI's typical size, or this many points for a rate.
MIN_SHARE, MIN_POINTS = 0.05, 0.01
COLUMNS = ["kpi", "period_start", "value", "expected", "low", "high", "direction"]
#: The KPIs whose tiles are judged: the headline KPIs and the overview's usage x revenue ones.
JUDGED = (*HEADLINE, *ACCOUNT_HEADLINE)


@dataclass(frozen=True)
class Band:
    """Where the judged period was expected (``expected``) and the usual range around it (``low`` to ``high``),
    within the KPI's limits; whole numbers for counts."""

    expected: float
    low: float
    high: float


def season_of(grain: str) -> int:
    """The length of the pattern a KPI repeats at ``grain``: a week of days at day grain, none otherwise."""
    return 7 if grain == "day" else 1


def minimum_effect(kpi: Kpi, history: Sequence[float]) -> float:
    """The smallest departure from the expected value that a flag reports: :data:`MIN_SHARE` of the history's
    median absolute value for amounts, counts and plain ratios (at least one for counts), :data:`MIN_POINTS`
    for a rate. (On a log scale, ``history`` is the expected value alone.)

    >>> minimum_effect(KPIS["mrr"], [100_000.0, 120_000.0, 140_000.0]), minimum_effect(KPIS["nrr"], [0.9, 1.1])
    (6000.0, 0.01)
    """
    if formatting.is_rate(kpi):
        return MIN_POINTS
    size = MIN_SHARE * float(np.median(np.abs(np.asarray(history, dtype="float64"))))
    return max(size, 1.0) if kpi.unit == "count" else size


def compounds(kpi: Kpi, history: np.ndarray) -> bool:
    """Whether a KPI may be judged on a log scale: an amount or a count that is never negative and was above
    zero in every period of its history. Such KPIs often grow by a share of themselves: steady percentage growth
    is a straight line on a log scale, and there the band is the same share either side of the expected value.

    >>> compounds(KPIS["mrr"], np.array([10.0, 12.0])), compounds(KPIS["net_new_mrr"], np.array([10.0, 12.0]))
    (True, False)
    """
    return kpi.unit in ("currency", "count") and kpi.limits[0] == 0 and bool(np.all(history > 0))


def _design(positions: np.ndarray, season: int) -> np.ndarray:
    """The columns of the trend line (1 and t, scaled to the window) and, with a season, one level per phase."""
    t = positions / max(float(positions.max()), 1.0)
    columns = [np.ones_like(t), t]
    if season > 1:
        phase = positions.astype(int) % season
        columns += [(phase == p).astype("float64") for p in range(1, season)]
    return np.column_stack(columns)


def _clip(kpi: Kpi, number: float) -> float:
    low, high = kpi.limits
    if low is not None:
        number = max(number, low)
    if high is not None:
        number = min(number, high)
    return number


#: Tukey's bisquare: a period this many robust standard deviations from the line no longer counts.
BISQUARE = 4.685


def _predicts(design: np.ndarray, weights: np.ndarray, judged: np.ndarray) -> bool:
    """Whether the periods that still count fix the line's value at the ``judged`` period's row: its weekday
    keeps at least one period."""
    kept = design[weights > 0]
    return int(np.linalg.matrix_rank(np.vstack([kept, judged]))) == int(np.linalg.matrix_rank(kept))


def _fit(design: np.ndarray, y: np.ndarray, recency: np.ndarray, robust: bool,
         judged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares coefficients and each period's weight: its ``recency`` weight, times Tukey's
    bisquare weight when ``robust`` (refitted until the weights settle, so that a period far from the line
    counts less and a past spike does not tilt it).

    When the bisquare would set aside every period of the weekday judged (``judged``: the judged period's row),
    the line is the plain one: a weekday off the line in every week is a weekly pattern the line does not
    describe (a weekend dip that grows with the KPI, on a scale where it cannot), not a spike, and with none of
    its periods left its level would be anyone's guess. Its distance from the line then counts as scatter and
    widens the band."""
    plain = np.linalg.lstsq(design * np.sqrt(recency)[:, None], y * np.sqrt(recency), rcond=None)[0]
    coefficients, weights = plain, recency.copy()
    for _ in range(20 if robust else 0):
        # each period's residual as if it had been left out of the fit (r / (1 - h)), so that the periods at the
        # ends, which pull the line towards them, are judged as fairly as the others
        weighted = design * np.sqrt(weights)[:, None]
        hat = np.einsum("ij,jk,ik->i", weighted, np.linalg.pinv(weighted.T @ weighted), weighted)
        residuals = (y - design @ coefficients) / np.maximum(1.0 - hat, 1e-6)
        scale = 1.4826 * float(np.median(np.abs(residuals)))
        if scale <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            break
        u = residuals / (BISQUARE * scale)
        new = recency * np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if not _predicts(design, new, judged):
            return plain, recency.copy()
        if np.allclose(new, weights, atol=1e-6):
            break
        weights = new
        root = np.sqrt(weights)
        coefficients = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
    return coefficients, weights


def width(freedom: float) -> float:
    """:data:`WIDTH` prediction standard errors, widened for a short history as Student's t widens the normal
    distribution with ``freedom`` degrees of freedom (the Cornish-Fisher expansion): with few periods the noise
    itself is only roughly known.

    >>> [round(width(f), 2) for f in (4, 8, 20, 1000)]
    [6.42, 4.27, 3.42, 3.01]
    """
    z, v = WIDTH, max(freedom, 1.0)
    return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3))


def _line(design: np.ndarray, y: np.ndarray, recency: np.ndarray, robust: bool) -> tuple[float, float]:
    """The fitted value at the new period (the design's last row) and the band's half-width from the noise:
    :func:`width` prediction standard errors, the noise of one period plus the error of the line there,
    ``s·√(1 + Σc²)`` with ``c`` the weights the line's value gives each period of the history."""
    fit, new = design[:-1], design[-1]
    coefficients, weights = _fit(fit, y, recency, robust, new)
    residuals = y - fit @ coefficients
    gives = new @ np.linalg.pinv(fit.T @ (fit * weights[:, None])) @ (fit * weights[:, None]).T
    effective = float(weights.sum()) ** 2 / max(float(weights @ weights), 1e-300)  # periods that count
    rank = int(np.linalg.matrix_rank(fit))
    variance = float(weights @ (residuals * residuals)) / max(float(weights.sum()), 1e-300)
    spread = math.sqrt(variance * effective / max(effective - rank, 1.0))
    return float(new @ coefficients), width(effective - rank) * spread * math.sqrt(1.0 + float(gives @ gives))


def _closer_on_log_scale(design: np.ndarray, y: np.ndarray, recency: np.ndarray) -> bool:
    """Whether the history (all above zero) lies closer to a line on a log scale than as it is, relative to its
    level. Judged by plain least squares, every period counting: a robust fit may set aside whatever its line
    misses, such as the weekends of a weekly pattern that grows with the KPI, and then seem to fit the scale
    that suits the KPI worse."""
    centre, error = _line(design, y, recency, robust=False)
    return _line(design, np.log(y), recency, robust=False)[1] < error / max(abs(centre), 1e-12)


def band(history: Sequence[float], kpi: Kpi, season: int = 1, robust: bool = True) -> Band | None:
    """The band of the period right after ``history`` (oldest first; NaN for a period left out), or None when
    too few periods are defined to judge; ``robust``: fitted with bisquare weights.

    An amount or a count that :func:`compounds` is fitted both as it is and on a log scale, and judged on the
    scale on which its history lies closer to a line (relative to its level): steady percentage growth is a
    line on a log scale, steady growth by the same number a line as it is.

    MRR growing exactly 2% a period: expected 100 x 1.02^8, and with no scatter the band is the minimum effect,
    5% either side (÷ and x 1.05):

    >>> b = band([100 * 1.02 ** k for k in range(8)], KPIS["mrr"])
    >>> round(b.expected, 4), round(b.low, 4), round(b.high, 4)
    (117.1659, 111.5866, 123.0242)

    Growing by exactly 2 a period, it is a line as it is: 116, ± 5% of its median size 107:

    >>> b = band([100.0, 102.0, 104.0, 106.0, 108.0, 110.0, 112.0, 114.0], KPIS["mrr"])
    >>> round(b.expected, 6), round(b.low, 6), round(b.high, 6)
    (116.0, 110.65, 121.35)
    """
    values = np.asarray(history, dtype="float64")
    positions = np.flatnonzero(np.isfinite(values)).astype("float64")
    if len(positions) < (MIN_HISTORY if season == 1 else DAY_MIN_HISTORY):
        return None
    y = values[positions.astype(int)]
    design = _design(np.append(positions, float(len(values))), season)
    # recent periods count more: the line follows where the KPI is going, not where it was two years ago
    recency = 0.5 ** ((len(values) - positions) / (HALF_LIFE if season == 1 else DAY_HALF_LIFE))
    if compounds(kpi, y) and _closer_on_log_scale(design, y, recency):
        log_centre, log_error = _line(design, np.log(y), recency, robust)
        level = math.exp(log_centre)
        half = max(log_error, math.log1p(minimum_effect(kpi, [level]) / level))
        expected, low, high = level, math.exp(log_centre - half), math.exp(log_centre + half)
    else:
        centre, error = _line(design, y, recency, robust)
        half = max(error, minimum_effect(kpi, y))
        expected, low, high = centre, centre - half, centre + half
    expected, low, high = _clip(kpi, expected), _clip(kpi, low), _clip(kpi, high)
    if kpi.unit == "count":
        low, high = float(math.ceil(low - 1e-9)), float(math.floor(high + 1e-9))
    return Band(expected, low, high)


def direction(kpi: Kpi, value: float, found: Band) -> str | None:
    """``"above"`` or ``"below"`` when ``value`` lies outside the band (a count as the whole number shown), else
    None.

    >>> direction(KPIS["dau"], 30.4, Band(28.0, 27.0, 30.0)), direction(KPIS["dau"], 30.6, Band(28.0, 27.0, 30.0))
    (None, 'above')
    """
    if not math.isfinite(value):
        return None
    shown = float(round(value)) if kpi.unit == "count" else value
    if shown > found.high:
        return "above"
    if shown < found.low:
        return "below"
    return None


def judge_history(kpi: Kpi, history: Sequence[float], value: float, season: int = 1) -> tuple[Band, str] | None:
    """The band of the period after ``history`` and the side ``value`` lies on when it is unusual, else None.

    The line is fitted twice: robustly (periods far from the line count less, so that a past spike does not
    tilt it and make the return to normal look unusual), and by plain least squares. A value is flagged only
    when it lies outside both bands on the same side: a lasting shift tilts the plain line, so it is flagged
    once rather than in every period after it. The robust band is the usual range reported.
    """
    found = band(history, kpi, season, robust=True)
    side = direction(kpi, value, found) if found is not None else None
    if side is None or found is None:
        return None
    plain = band(history, kpi, season, robust=False)
    return (found, side) if plain is not None and direction(kpi, value, plain) == side else None


def judge(kpi: Kpi, table: pd.DataFrame, grain: str, first: date | None,
          as_of: date | None = None) -> dict[str, object] | None:
    """The anomaly row of a KPI series (``period_start``, ``value``, ``partial``) when its last complete period
    lies outside its band, else None."""
    complete = table[~table["partial"].astype(bool)].reset_index(drop=True)
    if complete.empty:
        return None
    warming = warm.flags(kpi, complete["period_start"], grain, first, as_of)
    values = [float("nan") if w else float(v) for v, w in zip(complete["value"], warming, strict=True)]
    window = WINDOW if grain != "day" else DAY_WINDOW
    judged = judge_history(kpi, values[-window - 1:-1], values[-1], season_of(grain))
    if judged is None:
        return None
    found, side = judged
    return {"kpi": kpi.id, "period_start": complete["period_start"].iloc[-1], "value": values[-1],
            "expected": found.expected, "low": found.low, "high": found.high, "direction": side}


def anomalies(store: Store, grain: str, *, as_of: date | None = None, segment: tuple[str, str] | None = None,
              kpis: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """The KPIs among ``kpis`` whose last complete period at ``grain`` (:mod:`kpis.metrics.reporting`) lies outside its
    band."""
    rows = []
    period = last_complete_period(store, grain, end=as_of)
    judged_on = period.last_day if period else as_of
    firsts = engine.first_days(store)
    for kpi_id in kpis:
        try:
            table = series(store, kpi_id, grain, end=judged_on, segment=segment)
        except (DataError, InputError):
            continue
        kpi = KPIS[kpi_id]
        row = judge(kpi, table, grain, firsts.get(kpi.source), judged_on)
        if row is not None:
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
