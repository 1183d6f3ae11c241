"""What a review holds: the numbers and sentences :func:`kpis.review.build.build_review` gathers and the Markdown and
HTML renderers (:mod:`kpis.review.markdown`, :mod:`kpis.review.html`) turn into a document."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kpis.metrics.revenue import Bridge


@dataclass(frozen=True)
class TargetLine:
    """A target whose period holds the reviewed period's last day, as ``targets.evaluate`` judged it at that day.

    ``attainment`` and ``projected_attainment`` compare the actual and the projected value with the target
    (actual / target, or target / actual when lower is better); NaN when undefined.
    """

    grain: str
    period_start: date
    last_day: date
    target: float
    actual: float
    projected_value: float
    attainment: float
    projected_attainment: float
    status: str | None
    projected: bool
    running: bool
    owner: str | None
    note: str | None


@dataclass(frozen=True)
class Anomaly:
    """A KPI outside its trailing band in the reviewed period."""

    kpi: str
    label: str
    value: float
    low: float
    high: float
    direction: str  # "above" or "below"


@dataclass(frozen=True)
class Change:
    """One KPI in the reviewed period against the period before.

    ``relative_change`` is (value - previous) / |previous| (for churned and contraction MRR: the change of the
    magnitude); ``improved`` honours the KPI's direction and is None when nothing changed or a value is undefined.
    """

    kpi: str
    label: str
    unit: str
    higher_is_better: bool
    value: float
    previous: float
    change: float
    relative_change: float
    improved: bool | None


@dataclass(frozen=True)
class Headline(Change):
    """A headline KPI: its change, the targets that cover the period, its recent history and any anomaly."""

    targets: tuple[TargetLine, ...] = ()
    sparkline: tuple[float, ...] = ()
    anomaly: Anomaly | None = None


@dataclass(frozen=True)
class CustomerMove:
    """A customer's MRR at the end of the period before (``mrr_before``) and at the end of the period."""

    customer_id: str
    name: str | None
    mrr_before: float
    mrr_after: float

    @property
    def change(self) -> float:
        return self.mrr_after - self.mrr_before

    @property
    def display_name(self) -> str:
        """The customer's name, or its id when the name is unknown."""
        return self.name if self.name else self.customer_id


@dataclass(frozen=True)
class TrialConversion:
    """The trials that ended in the period and in the period before, and how many of them converted to paid."""

    ended: int
    converted: int
    previous_ended: int
    previous_converted: int

    @property
    def rate(self) -> float:
        """converted / ended; NaN when no trial ended."""
        return self.converted / self.ended if self.ended else float("nan")

    @property
    def previous_rate(self) -> float:
        """The rate of the period before; NaN when no trial ended then."""
        return self.previous_converted / self.previous_ended if self.previous_ended else float("nan")


@dataclass(frozen=True)
class ChurnReason:
    """A reason the period's churned customers gave (``(none given)`` for those who gave none), how many gave it
    and the MRR they took (a number <= 0)."""

    reason: str
    customers: int
    mrr: float


@dataclass(frozen=True)
class Note:
    """An annotation on a day of the period."""

    annotation_id: int
    day: date
    text: str
    created_by: str | None


@dataclass(frozen=True)
class Activation:
    """The activation rate of the latest period whose starters' windows had all ended by the review's last day,
    with the period before's (NaN when undefined)."""

    event: str
    window_days: int
    period_start: date
    started: int
    activated: int
    rate: float
    previous_rate: float


@dataclass(frozen=True)
class AtRisk:
    """The paying accounts at risk on the review's last day (``kpis.metrics.accounts.account_rows``): how many,
    their MRR, and the largest of them with its active users in the last 28 days and the 28 before."""

    accounts: int
    mrr: float
    customer_id: str
    name: str | None
    customer_mrr: float
    active_users: int
    previous_active_users: int

    @property
    def display_name(self) -> str:
        """The largest account's customer name, or its id when the name is unknown."""
        return self.name if self.name else self.customer_id


@dataclass(frozen=True)
class Review:
    """Everything the review shows; ``sentences`` are written from the other fields."""

    grain: str
    as_of: date
    period_start: date
    period_end: date
    previous_start: date
    segment: tuple[str, str] | None
    currency: str | None
    revenue_as_of: date | None
    engagement_as_of: date | None
    headlines: tuple[Headline, ...]
    improvers: tuple[Change, ...]
    decliners: tuple[Change, ...]
    #: every KPI available at the grain (but ARR and adoption), in registry order
    changes: tuple[Change, ...]
    anomalies: tuple[Anomaly, ...]
    bridge: Bridge | None
    top_churned: tuple[CustomerMove, ...]
    top_expansion: tuple[CustomerMove, ...]
    annotations: tuple[Note, ...]
    #: the KPI periods of the sparklines, oldest first
    spark_periods: tuple[date, ...] = ()
    #: how many customers churned / expanded in the period (the tops list at most TOP_CUSTOMERS of them)
    churned_count: int = 0
    expansion_count: int = 0
    sentences: tuple[str, ...] = ()
    #: where each source ends and why this period is the one reviewed (:meth:`LastComplete.statement`)
    period_note: str = ""
    #: what the review could not say, and why (no events, no targets module, ...)
    caveats: tuple[str, ...] = field(default_factory=tuple)
    #: the activation rate (None without the activation event, or without starters whose window has ended)
    activation: Activation | None = None
    #: the trials that ended in the period and the one before (None: no trial data)
    trials: TrialConversion | None = None
    #: the churned customers by reason, most customers first (then the largest MRR lost)
    churn_reasons: tuple[ChurnReason, ...] = ()
    #: the accounts at risk on the period's last day (None: none at risk, or no events)
    at_risk: AtRisk | None = None

    def headline(self, kpi_id: str) -> Headline:
        """The headline of one KPI."""
        for item in self.headlines:
            if item.kpi == kpi_id:
                return item
        raise KeyError(kpi_id)

    def change(self, kpi_id: str) -> Change | None:
        """Any KPI's change (None when the KPI does not exist at the review's grain)."""
        for item in self.changes:
            if item.kpi == kpi_id:
                return item
        return None
