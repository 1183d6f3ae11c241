"""What a valid target is: a known KPI, a grain it takes targets at, a day that starts a period of that grain.

One rule for the targets CSV import, the targets editor and the CLI.

>>> target_grains(KPIS["mrr"]), target_grains(KPIS["stickiness"]), target_grains(KPIS["ltv"])
(['week', 'month', 'quarter', 'year'], ['week', 'month', 'quarter'], ['month'])
"""

from __future__ import annotations

from datetime import date

from kpis.core.calendar import period_start
from kpis.core.registry import KPIS, TARGET_GRAINS, Kpi

#: The grains a target can be set at (a day is too short to plan).


def target_grains(kpi: Kpi) -> list[str]:
    """The grains ``kpi`` takes targets at: those it is computed at, and a year when it adds up over quarters
    (a ratio does not: a year's ratio is not the quarters' ratios combined)."""
    return [g for g in TARGET_GRAINS
            if g in kpi.grains or (g == "year" and "quarter" in kpi.grains and kpi.kind != "ratio")]


def check_target(kpi_id: str, grain: str, start: date) -> None:
    """Refuse a target that names an unknown KPI, a grain it cannot have, or a day that starts no period."""
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        shown = kpi_id if len(kpi_id) <= 60 else kpi_id[:59] + "…"  # a message stays short whatever the file holds
        raise ValueError(f"unknown KPI {shown!r}; `python -m kpis kpis` lists them")
    allowed = target_grains(kpi)
    if grain not in allowed:
        raise ValueError(f"{kpi_id} takes targets by {', '.join(allowed)}, not by {grain}")
    if period_start(start, grain) != start:
        raise ValueError(f"{start.isoformat()} does not start a {grain}; "
                         f"the {grain} holding it starts on {period_start(start, grain).isoformat()}")
