"""Every KPI as data: the UI, the CLI and docs/kpis.md are generated from or checked against this registry."""

from __future__ import annotations

from dataclasses import dataclass

#: The grains every KPI series exists at (a KPI may list fewer), from the finest.
GRAINS = ("day", "week", "month", "quarter")
#: The grains a plan speaks of, from the finest: the KPI grains and the year (a year's value comes from its months).
PLAN_GRAINS = (*GRAINS, "year")
#: The grains of retention cohorts, the power-user curve and the review.
COHORT_GRAINS = ("week", "month")
#: The grains the pages and the anomalies read trends at: a week and coarser (a day is too short to judge).
TREND_GRAINS = GRAINS[GRAINS.index("week"):]
#: The grains a target is set at: a week and coarser, the year included.
TARGET_GRAINS = PLAN_GRAINS[PLAN_GRAINS.index("week"):]
#: The grains a review covers.
REVIEW_GRAINS = COHORT_GRAINS


@dataclass(frozen=True)
class WarmUp:
    """How much data a KPI needs before its value means what it says; until then its periods are *warming up*.

    ``days``: the snapshot day of a period must lie this many days after the first day with data (a rolling
    window: MAU counts the 30 days ending on a day, so it needs 29 days before it). ``months``: the snapshot day
    moved back this many calendar months must lie inside the data (a look-back: NRR). ``whole_period``: the value
    is a mean over the days of the period, so every one of them must be warmed up (stickiness). ``why`` says
    what the KPI counts, for the tooltips and the review's caveats.
    """

    why: str
    days: int = 0
    months: int = 0
    whole_period: bool = False


#: What a KPI can take: never negative, a share (0 to 1), never positive (losses), or any number.
NON_NEGATIVE: tuple[float | None, float | None] = (0.0, None)
SHARE: tuple[float | None, float | None] = (0.0, 1.0)
LOSS: tuple[float | None, float | None] = (None, 0.0)
ANY: tuple[float | None, float | None] = (None, None)


#: How a KPI is computed, in the manner of typed metrics: ``snapshot`` the value at the period's end (MRR, MAU),
#: ``flow`` summed over the period (new customers), ``ratio`` one measure divided by another (churn rate, NRR; never
#: projected: the value so far is the best estimate), ``cohort`` a share of a cohort of users (retention).
KINDS = ("snapshot", "flow", "ratio", "cohort")
#: Each computed table and the source of the data it is computed from.
TABLES = {"revenue": "revenue", "engagement": "engagement", "adoption": "engagement", "cohorts": "engagement",
          "lifecycle": "engagement", "activation": "engagement", "trials": "revenue", "accounts": "engagement"}


@dataclass(frozen=True)
class Kpi:
    """One KPI: id (used in code, CLI, URLs and targets), how it is computed, how to show it and what it means."""

    id: str
    label: str
    unit: str  # "currency", "count" or "ratio"
    #: which computed table holds the KPI's column (:data:`TABLES`)
    table: str
    definition: str
    #: how the KPI is computed (:data:`KINDS`)
    kind: str = "snapshot"
    #: for a ratio: whether its measures are counted over the period (``flow``) or taken at its end (``snapshot``)
    ratio_of: str = "snapshot"
    higher_is_better: bool = True
    grains: tuple[str, ...] = GRAINS
    #: the lowest and highest value the KPI can take (None: unbounded), so that no range shown goes beyond them
    limits: tuple[float | None, float | None] = NON_NEGATIVE
    #: how long the KPI warms up at the start of the data (None: its first period already means what it says)
    warm_up: WarmUp | None = None
    #: what an undefined value means when it has one meaning only (the quick ratio of a period that lost nothing)
    undefined_means: str | None = None
    #: measured for one event the caller names (adoption of a feature): without one it has no value
    needs_event: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.table not in TABLES or self.ratio_of not in ("snapshot", "flow"):
            raise ValueError(f"KPI {self.id}: unknown kind {self.kind!r}, table {self.table!r} or ratio_of "
                             f"{self.ratio_of!r}")

    @property
    def source(self) -> str:
        """The data the KPI is computed from: ``revenue`` (subscriptions) or ``engagement`` (events)."""
        return TABLES[self.table]

    @property
    def over_period(self) -> bool:
        """Whether the KPI counts what happened over the period (a flow, or a ratio of flows) rather than what
        holds at its end: over a period cut short by the data's start it counts only part of it."""
        return self.kind == "flow" or (self.kind == "ratio" and self.ratio_of == "flow")

    @property
    def aggregation(self) -> str:
        """``flow`` for a KPI counted over the period, else ``snapshot`` (the value at the period's end)."""
        return "flow" if self.over_period else "snapshot"


_R, _E = "revenue", "engagement"
_TWELVE_MONTHS = WarmUp("compares with the customers paying twelve months before", months=12)
_THIRTY_DAYS = WarmUp("counts the users active in the 30 days ending each day", days=29)
_TWO_WINDOWS = WarmUp("compares each paying customer's users active in the 28 days ending each day with the 28 days "
                      "before", days=55)
_ALL = (
    Kpi("mrr", "MRR", "currency", _R, "Monthly recurring revenue at the end of the period."),
    Kpi("arr", "ARR", "currency", _R, "12 x MRR."),
    Kpi("new_mrr", "New MRR", "currency", _R, "MRR at the period's end of customers paying for the first time.",
        kind="flow"),
    Kpi("expansion_mrr", "Expansion MRR", "currency", _R, "MRR gained from customers who pay more than a period ago.",
        kind="flow"),
    Kpi("contraction_mrr", "Contraction MRR", "currency", _R,
        "MRR lost (negative) from customers who still pay, but less than a period ago.",
        higher_is_better=False, kind="flow", limits=LOSS),
    Kpi("churned_mrr", "Churned MRR", "currency", _R,
        "MRR lost (negative) from customers who paid a period ago and pay nothing now.",
        higher_is_better=False, kind="flow", limits=LOSS),
    Kpi("reactivation_mrr", "Reactivation MRR", "currency", _R,
        "MRR of customers who had paid before, stopped, and pay again.", kind="flow"),
    Kpi("net_new_mrr", "Net new MRR", "currency", _R, "Sum of the five movements = MRR now - MRR a period ago.",
        kind="flow", limits=ANY),
    Kpi("mrr_growth_rate", "MRR growth rate", "ratio", _R,
        "(MRR - MRR a period ago) / MRR a period ago: month over month at month grain.", kind="ratio", limits=ANY),
    Kpi("active_customers", "Active customers", "count", _R, "Customers paying at the end of the period."),
    Kpi("new_customers", "New customers", "count", _R, "Customers paying for the first time.", kind="flow"),
    Kpi("reactivated_customers", "Reactivated customers", "count", _R, "Customers paying again after a stop.",
        kind="flow"),
    Kpi("churned_customers", "Churned customers", "count", _R, "Customers who paid a period ago and pay nothing now.",
        higher_is_better=False, kind="flow"),
    Kpi("net_new_customers", "Net new customers", "count", _R, "New + reactivated - churned customers.",
        kind="flow", limits=ANY),
    Kpi("logo_churn_rate", "Logo churn rate", "ratio", _R, "Churned customers / active customers a period ago.",
        higher_is_better=False, kind="ratio", ratio_of="flow", limits=SHARE),
    Kpi("revenue_churn_rate", "Revenue churn rate", "ratio", _R,
        "Gross MRR churn: -(churned + contraction MRR) / MRR a period ago.", higher_is_better=False,
        kind="ratio", ratio_of="flow", limits=SHARE),
    Kpi("quick_ratio", "Quick ratio", "ratio", _R,
        "(New + reactivation + expansion MRR) / -(churned + contraction MRR).", kind="ratio", ratio_of="flow",
        undefined_means="no MRR lost"),
    Kpi("arpa", "ARPA", "currency", _R, "Average MRR per active customer."),
    Kpi("nrr", "NRR", "ratio", _R, "Net revenue retention over twelve months of the customers paying then.",
        warm_up=_TWELVE_MONTHS, kind="ratio"),
    Kpi("grr", "GRR", "ratio", _R, "Gross revenue retention over twelve months (expansion not counted).",
        limits=SHARE, warm_up=_TWELVE_MONTHS, kind="ratio"),
    Kpi("ltv", "LTV", "currency", _R, "ARPA / mean monthly logo churn of the last six months.", grains=("month",)),
    Kpi("trials_started", "Trials started", "count", "trials", "Subscriptions with a trial that started in the period.",
        kind="flow"),
    Kpi("trials_ended", "Trials ended", "count", "trials",
        "Trials whose trial end falls in the period (up to the data's as-of date).", kind="flow"),
    Kpi("trial_conversion_rate", "Trial conversion rate", "ratio", "trials",
        "Trials ended in the period that went on to pay (not ended by their trial end) / trials ended.",
        kind="ratio", ratio_of="flow", limits=SHARE),
    Kpi("dau", "DAU", "count", _E, "Daily active users (mean over the days of the period)."),
    Kpi("wau", "WAU", "count", _E, "Users active in the 7 days ending the period.",
        warm_up=WarmUp("counts the users active in the 7 days ending each day", days=6)),
    Kpi("mau", "MAU", "count", _E, "Users active in the 30 days ending the period.", warm_up=_THIRTY_DAYS),
    Kpi("active_users", "Active users", "count", _E, "Distinct users active on any day of the period.",
        kind="flow"),
    Kpi("new_users", "New users", "count", _E, "Users whose first event falls in the period.", kind="flow"),
    Kpi("stickiness", "Stickiness (DAU/MAU)", "ratio", _E, "Mean DAU / mean MAU over the days of the period.",
        limits=SHARE, warm_up=WarmUp("divides by MAU, which counts the users active in the 30 days ending each "
                                     "day", days=29, whole_period=True), kind="ratio"),
    Kpi("events_per_active_user", "Events per active user", "ratio", _E,
        "Events in the period / active users of the period.", kind="ratio", ratio_of="flow"),
    Kpi("adoption", "Feature adoption", "ratio", "adoption",
        "Users who did the event in the period / active users of the period (needs --event).",
        kind="ratio", ratio_of="flow", limits=SHARE, needs_event=True),
    Kpi("user_quick_ratio", "User quick ratio", "ratio", "lifecycle",
        "(New + resurrected users) / users gone dormant since the period before (the lifecycle's growth).",
        kind="ratio", ratio_of="flow", grains=COHORT_GRAINS, undefined_means="nobody went dormant"),
    Kpi("activation_rate", "Activation rate", "ratio", "activation",
        "Users who did the activation event within their first days (setting activation_window_days, default 7) "
        "/ users whose first active day falls in the period and whose window has ended (needs the setting "
        "activation_event).", kind="ratio", ratio_of="flow", limits=SHARE),
    Kpi("accounts_at_risk", "Accounts at risk", "count", "accounts",
        "Paying customers whose active users (28 days) fell to none, or by at_risk_drop (30%) from at least 3, "
        "against the 28 days before.", higher_is_better=False, warm_up=_TWO_WINDOWS),
    Kpi("mrr_at_risk", "MRR at risk", "currency", "accounts", "MRR of the accounts at risk at the end of the period.",
        higher_is_better=False, warm_up=_TWO_WINDOWS),
    Kpi("engaged_mrr_share", "Engaged MRR share", "ratio", "accounts",
        "MRR of paying customers with users active in the last 28 days / MRR of paying customers linked to an "
        "account.", limits=SHARE,
        warm_up=WarmUp("counts each paying customer's users active in the 28 days ending each day", days=27)),
)

KPIS: dict[str, Kpi] = {k.id: k for k in _ALL}
#: Lower-is-better KPIs stored as negative amounts: their size is what a target or a change speaks of.
MAGNITUDE = frozenset(k.id for k in _ALL if k.limits == LOSS)
#: The KPIs a review, the anomalies and the overview open with, in this order.
HEADLINE = ("mrr", "net_new_mrr", "active_customers", "logo_churn_rate", "nrr", "dau", "mau", "stickiness")
#: The usage x revenue KPIs the overview shows after the product's (with both subscriptions and events), and whose
#: tiles are judged for anomalies like the headline KPIs'.
ACCOUNT_HEADLINE = ("mrr_at_risk",)

#: Period-1 retention: a cohort KPI, one value per cohort rather than per period (``kpis.metrics.retention``).
RETENTION_1 = Kpi("retention_1", "Period-1 retention", "ratio", "cohorts",
                  "Share of a cohort (users by the week or month of their first event) active again in the next "
                  "period; shown for the last cohort whose next period is complete.", kind="cohort",
                  grains=("week", "month"), limits=SHARE)
#: The cohort KPIs, by id; they are not series of periods, so they are kept apart from :data:`KPIS`.
COHORT_KPIS: dict[str, Kpi] = {RETENTION_1.id: RETENTION_1}


def get(kpi_id: str) -> Kpi:
    """The KPI with this id; a KeyError names the known ids."""
    try:
        return KPIS[kpi_id]
    except KeyError:
        raise KeyError(f"unknown KPI {kpi_id!r}; known: {', '.join(KPIS)}") from None
