"""Every KPI as data: the UI, the CLI and docs/kpis.md are generated from or checked against this registry."""

from __future__ import annotations

from dataclasses import dataclass

GRAINS = ("day", "week", "month", "quarter")


@dataclass(frozen=True)
class Kpi:
    """One KPI: id (used in code, CLI, URLs and targets), how to show it and what it means."""

    id: str
    label: str
    unit: str  # "currency", "count" or "ratio"
    source: str  # "revenue" or "engagement"
    definition: str
    higher_is_better: bool = True
    grains: tuple[str, ...] = GRAINS
    #: "snapshot": the value at the period's end (a target applies to the end); "flow": summed over the period
    aggregation: str = "snapshot"


_R, _E = "revenue", "engagement"
_ALL = (
    Kpi("mrr", "MRR", "currency", _R, "Monthly recurring revenue at the end of the period."),
    Kpi("arr", "ARR", "currency", _R, "12 x MRR."),
    Kpi("new_mrr", "New MRR", "currency", _R, "MRR at the period's end of customers paying for the first time.",
        aggregation="flow"),
    Kpi("expansion_mrr", "Expansion MRR", "currency", _R, "MRR gained from customers who pay more than a period ago.",
        aggregation="flow"),
    Kpi("contraction_mrr", "Contraction MRR", "currency", _R,
        "MRR lost (negative) from customers who still pay, but less than a period ago.",
        higher_is_better=False, aggregation="flow"),
    Kpi("churned_mrr", "Churned MRR", "currency", _R,
        "MRR lost (negative) from customers who paid a period ago and pay nothing now.",
        higher_is_better=False, aggregation="flow"),
    Kpi("reactivation_mrr", "Reactivation MRR", "currency", _R,
        "MRR of customers who had paid before, stopped, and pay again.", aggregation="flow"),
    Kpi("net_new_mrr", "Net new MRR", "currency", _R, "Sum of the five movements = MRR now - MRR a period ago.",
        aggregation="flow"),
    Kpi("active_customers", "Active customers", "count", _R, "Customers paying at the end of the period."),
    Kpi("new_customers", "New customers", "count", _R, "Customers paying for the first time.", aggregation="flow"),
    Kpi("reactivated_customers", "Reactivated customers", "count", _R, "Customers paying again after a stop.",
        aggregation="flow"),
    Kpi("churned_customers", "Churned customers", "count", _R, "Customers who paid a period ago and pay nothing now.",
        higher_is_better=False, aggregation="flow"),
    Kpi("net_new_customers", "Net new customers", "count", _R, "New + reactivated - churned customers.",
        aggregation="flow"),
    Kpi("logo_churn_rate", "Logo churn rate", "ratio", _R, "Churned customers / active customers a period ago.",
        higher_is_better=False, aggregation="flow"),
    Kpi("revenue_churn_rate", "Revenue churn rate", "ratio", _R,
        "Gross MRR churn: -(churned + contraction MRR) / MRR a period ago.", higher_is_better=False,
        aggregation="flow"),
    Kpi("quick_ratio", "Quick ratio", "ratio", _R,
        "(New + reactivation + expansion MRR) / -(churned + contraction MRR).", aggregation="flow"),
    Kpi("arpa", "ARPA", "currency", _R, "Average MRR per active customer."),
    Kpi("nrr", "NRR", "ratio", _R, "Net revenue retention over twelve months of the customers paying then."),
    Kpi("grr", "GRR", "ratio", _R, "Gross revenue retention over twelve months (expansion not counted)."),
    Kpi("ltv", "LTV", "currency", _R, "ARPA / mean monthly logo churn of the last six months.", grains=("month",)),
    Kpi("dau", "DAU", "count", _E, "Daily active users (mean over the days of the period)."),
    Kpi("wau", "WAU", "count", _E, "Users active in the 7 days ending the period."),
    Kpi("mau", "MAU", "count", _E, "Users active in the 30 days ending the period."),
    Kpi("active_users", "Active users", "count", _E, "Distinct users active on any day of the period.",
        aggregation="flow"),
    Kpi("new_users", "New users", "count", _E, "Users whose first event falls in the period.", aggregation="flow"),
    Kpi("stickiness", "Stickiness (DAU/MAU)", "ratio", _E, "Mean DAU / mean MAU over the days of the period."),
    Kpi("events_per_active_user", "Events per active user", "ratio", _E,
        "Events in the period / active users of the period.", aggregation="flow"),
    Kpi("adoption", "Feature adoption", "ratio", _E,
        "Users who did the event in the period / active users of the period (needs --event).",
        aggregation="flow"),
)

KPIS: dict[str, Kpi] = {k.id: k for k in _ALL}


def get(kpi_id: str) -> Kpi:
    """The KPI with this id; a KeyError names the known ids."""
    try:
        return KPIS[kpi_id]
    except KeyError:
        raise KeyError(f"unknown KPI {kpi_id!r}; known: {', '.join(KPIS)}") from None
