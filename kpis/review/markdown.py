"""The review in words: sentences written from its numbers, and the whole review as Markdown.

Each sentence is a template filled from one part of the :class:`~kpis.review.model.Review`; ``docs/review.md`` lists
them. A sentence whose numbers are undefined is left out rather than written with a dash in it.
"""

from __future__ import annotations

from kpis.core import formatting as fmt
from kpis.core.registry import KPIS, MAGNITUDE
from kpis.metrics.reasons import NONE_GIVEN
from kpis.plan.scorecard import segment_label
from kpis.review.model import Anomaly, Change, CustomerMove, Headline, Review, TargetLine

#: How the review names the comparison, the period before, and the period itself.
WORDS = {
    "week": {"over": "week over week", "before": "the week before", "this": "this week", "title": "Weekly"},
    "month": {"over": "month over month", "before": "the month before", "this": "this month", "title": "Monthly"},
}
#: Customers named in a sentence (the tables list more).
NAMED = 3


def _same(a: float, b: float) -> bool:
    return round(a - b, 6) == 0


def _sym(review: Review) -> str:
    return fmt.symbol(review.currency)


def value_text(review: Review, kpi_id: str, number: object) -> str:
    """``number`` in ``kpi_id``'s unit and the review's currency."""
    return fmt.value(KPIS[kpi_id], number, _sym(review))


def delta_text(review: Review, kpi_id: str, change: object) -> str:
    """A signed change in ``kpi_id``'s unit and the review's currency."""
    return fmt.delta(KPIS[kpi_id], change, _sym(review))


def title(review: Review) -> str:
    """``Weekly review: week of 16 Nov 2026``."""
    return f"{WORDS[review.grain]['title']} review: {fmt.period_label(review.period_start, review.grain)}"


def subtitle(review: Review) -> str:
    """The period's days and the segment, in one line (``review.period_note`` says why this period)."""
    parts = [f"{fmt.day_label(review.period_start)} – {fmt.day_label(review.period_end)}"]
    if review.segment:
        parts.append(segment_label(review.segment))
    return " · ".join(parts)


def _projects(line: TargetLine) -> bool:
    """True when the target's status rests on a projection that differs from the value so far (ratios are not
    projected: their value so far is the best estimate)."""
    return (line.projected and fmt.finite(line.projected_value)
            and not (fmt.finite(line.actual) and _same(line.projected_value, line.actual)))


def cap(text: str) -> str:
    """The first letter upper case, the rest as it is (``week of 16 Nov`` -> ``Week of 16 Nov``)."""
    return text[:1].upper() + text[1:]


def target_summary(review: Review, line: TargetLine, kpi_id: str, status: bool = True) -> str:
    """A target in a table cell: ``86% of Q4 2026 ($170.0k) · projected 101% · on track``."""
    kpi = KPIS[kpi_id]
    where = fmt.period_label(line.period_start, line.grain)
    if kpi.unit == "ratio":
        bound = " or less" if not kpi.higher_is_better else ""
        parts = [f"{value_text(review, kpi_id, line.actual)} in {where}{' so far' if line.running else ''} "
                 f"vs {value_text(review, kpi_id, line.target)}{bound}"]
        if _projects(line):
            parts.append(f"projected {value_text(review, kpi_id, line.projected_value)}")
    else:
        parts = [f"{fmt.percent(line.attainment, 0)} of {where} ({value_text(review, kpi_id, line.target)})"]
        if line.projected and fmt.finite(line.projected_attainment):
            parts.append(f"projected {fmt.percent(line.projected_attainment, 0)}")
    if line.status and status:
        parts.append(line.status)
    return " · ".join(parts)


def _target_clause(review: Review, headline: Headline) -> str:
    """``, 86% of the Q4 2026 target; at this pace the quarter ends at 101% (on track)`` for amounts and counts."""
    if not headline.targets:
        return ""
    line = headline.targets[0]
    if not fmt.finite(line.attainment):
        return ""
    where = fmt.period_label(line.period_start, line.grain)
    target = value_text(review, headline.kpi, line.target)
    text = f", {fmt.percent(line.attainment, 0)} of the {where} target of {target}"
    if line.running and line.projected and fmt.finite(line.projected_attainment):
        text += f"; at this pace the {line.grain} ends at {fmt.percent(line.projected_attainment, 0)}"
    if line.status:
        text += f" ({line.status}{', projected' if line.projected else ''})"
    return text


def _amount_target_sentence(review: Review, headline: Headline) -> str | None:
    """``DAU: 88% of the Nov 2026 target of 250; at this pace the month ends at 97% (at risk, projected).`` for
    the amounts and counts whose own sentence has no room for a target (net new MRR, DAU, MAU)."""
    clause = _target_clause(review, headline)
    return f"{headline.label}: {clause[2:]}." if clause else None


def _ratio_target_sentence(review: Review, headline: Headline) -> str | None:
    """``Logo churn rate in Nov 2026 so far: 0.3% against a target of 2.0% or less (on track).``"""
    if not headline.targets:
        return None
    line = headline.targets[0]
    if not fmt.finite(line.actual):
        return None
    where = fmt.period_label(line.period_start, line.grain)
    bound = " or less" if not headline.higher_is_better else ""
    text = (f"{headline.label} in {where}{' so far' if line.running else ''}: "
            f"{value_text(review, headline.kpi, line.actual)} against a target of "
            f"{value_text(review, headline.kpi, line.target)}{bound}")
    if _projects(line):
        text += f", heading for {value_text(review, headline.kpi, line.projected_value)}"
    if line.status:
        text += f" ({line.status}{', projected' if _projects(line) else ''})"
    return text + "."


def _mrr_sentence(review: Review) -> str | None:
    h = review.headline("mrr")
    if not fmt.finite(h.value):
        return None
    words = WORDS[review.grain]
    now = value_text(review, "mrr", h.value)
    if not fmt.finite(h.previous):
        text = f"MRR was {now} at the end of the {review.grain}"
    elif _same(h.value, h.previous):
        text = f"MRR was flat {words['over']} at {now}"
    else:
        verb = "grew" if h.value > h.previous else "fell"
        size = (fmt.relative(abs(h.relative_change)).lstrip("+")
                if fmt.finite(h.relative_change) and fmt.meaningful(h.value, h.previous) else None)
        text = (f"MRR {verb} {size} {words['over']} to {now}" if size
                else f"MRR {verb} from {value_text(review, 'mrr', h.previous)} to {now}")
    return text + _target_clause(review, h) + "."


def _bridge_sentence(review: Review) -> str | None:
    bridge = review.bridge
    if bridge is None:
        return None
    words = WORDS[review.grain]
    moved = [(label.lower(), amount) for label, amount in bridge.movements
             if fmt.finite(amount) and round(amount, 6) != 0]
    if not moved:
        return f"No MRR moved {words['this']}: no customer started, changed or stopped paying."
    h = review.headline("net_new_mrr")
    before = f" ({delta_text(review, 'mrr', h.previous)} {words['before']})" if fmt.finite(h.previous) else ""
    parts = ", ".join(f"{label} {delta_text(review, 'mrr', amount)}" for label, amount in moved)
    return f"Net new MRR was {delta_text(review, 'mrr', bridge.net)}{before}: {parts}."


def _count(review: Review, kpi_id: str) -> int | None:
    change = review.change(kpi_id)
    if change is None or not fmt.finite(change.value):
        return None
    return round(change.value)


def _customers_sentence(review: Review) -> str | None:
    h = review.headline("active_customers")
    if not fmt.finite(h.value):
        return None
    now = value_text(review, "active_customers", h.value)
    if not fmt.finite(h.previous):
        text = f"{now} customers were paying at the end of the {review.grain}"
    elif _same(h.value, h.previous):
        text = f"Active customers held at {now}"
    else:
        verb = "rose" if h.value > h.previous else "fell"
        text = f"Active customers {verb} by {fmt.count(abs(h.change))} to {now}"
    counts = [(n, word) for n, word in ((_count(review, "new_customers"), "new"),
                                        (_count(review, "reactivated_customers"), "reactivated"),
                                        (_count(review, "churned_customers"), "churned")) if n]
    if counts:
        text += " (" + ", ".join(f"{n:,} {word}" for n, word in counts) + ")"
    return text + _target_clause(review, h) + "."


def _churn_sentence(review: Review) -> str | None:
    h = review.headline("logo_churn_rate")
    if not fmt.finite(h.value):
        return None
    text = f"Logo churn rate was {value_text(review, h.kpi, h.value)}"
    if fmt.finite(h.previous):
        text += f" ({value_text(review, h.kpi, h.previous)} {WORDS[review.grain]['before']})"
    return text + "."


def _reason_sentence(review: Review) -> str | None:
    """``The most given churn reason was too_expensive: 3 of 5 churned customers, $1.20k of MRR.``; none when no
    churned customer gave a reason."""
    given = [r for r in review.churn_reasons if r.reason != NONE_GIVEN]
    if not given:
        return None
    top, total = given[0], sum(r.customers for r in review.churn_reasons)
    return (f"The most given churn reason was {top.reason}: {top.customers:,} of {total:,} churned "
            f"customer{'s' if total != 1 else ''}, {value_text(review, 'mrr', -top.mrr)} of MRR.")


def _trials_sentence(review: Review) -> str | None:
    """``7 of 10 trials that ended this month converted (70.0%), against 60.0% the month before.``; none when no
    trial ended in the period."""
    trials = review.trials
    if trials is None or trials.ended == 0:
        return None
    words = WORDS[review.grain]
    noun = "trial" if trials.ended == 1 else "trials"
    text = (f"{trials.converted:,} of {trials.ended:,} {noun} that ended {words['this']} converted "
            f"({value_text(review, 'trial_conversion_rate', trials.rate)})")
    if trials.previous_ended:
        text += f", against {value_text(review, 'trial_conversion_rate', trials.previous_rate)} {words['before']}"
    return text + "."


def _nrr_sentence(review: Review) -> str | None:
    h = review.headline("nrr")
    if not fmt.finite(h.value):
        return None
    text = f"NRR over the trailing twelve months was {value_text(review, 'nrr', h.value)}"
    if fmt.finite(h.change):
        text += f" ({delta_text(review, 'nrr', h.change)} {WORDS[review.grain]['over']})"
    return text + "."


def _engagement_sentence(review: Review) -> str | None:
    parts, changed = [], False
    for kpi_id, verb in (("dau", "DAU averaged"), ("mau", "MAU was"), ("stickiness", "stickiness (DAU/MAU) was")):
        h = review.headline(kpi_id)
        if not fmt.finite(h.value):
            continue
        change = fmt.change_text(KPIS[kpi_id], h.value, h.previous, _sym(review))
        suffix = f" ({change})" if fmt.finite(h.change) and change != fmt.DASH else ""
        changed = changed or bool(suffix)
        parts.append(f"{verb} {value_text(review, kpi_id, h.value)}{suffix}")
    if not parts:
        return None
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{text[0].upper()}{text[1:]}" + (f" {WORDS[review.grain]['over']}." if changed else ".")


def _activation_sentence(review: Review) -> str | None:
    """``42.0% of the users who started in the week of 9 Nov 2026 activated (did report_created within 7 days),
    against 38.0% the week before.``"""
    a = review.activation
    if a is None:
        return None
    when = fmt.period_label(a.period_start, review.grain, in_sentence=True)
    days = f"{a.window_days} day{'s' if a.window_days != 1 else ''}"
    against = (f", against {value_text(review, 'activation_rate', a.previous_rate)} {WORDS[review.grain]['before']}"
               if fmt.finite(a.previous_rate) else "")
    return (f"{value_text(review, 'activation_rate', a.rate)} of the users who started in {when} activated "
            f"(did {a.event} within {days}: {a.activated} of {a.started}){against}.")


def mover_change(review: Review, change: Change) -> str:
    """``+387.0%``; a rate in percentage points (``+8.5 pp``); the change in money or customers where a
    percentage means nothing (a sign flip, or more than tenfold: ``-$16.9k``); churned and contraction MRR say
    their change is in size (``+100.0% in size``, ``+$1.12k in size``). See :func:`kpis.core.formatting.change_text`."""
    return fmt.change_text(KPIS[change.kpi], change.value, change.previous, _sym(review),
                           magnitude=change.kpi in MAGNITUDE)


def mover_text(review: Review, change: Change) -> str:
    """``New MRR +387.0% ($989 → $4.82k)``."""
    return (f"{change.label} {mover_change(review, change)} "
            f"({value_text(review, change.kpi, change.previous)} → {value_text(review, change.kpi, change.value)})")


def _movers_sentence(review: Review) -> str | None:
    parts = []
    if review.improvers:
        parts.append("Biggest improvements: " + "; ".join(mover_text(review, c) for c in review.improvers) + ".")
    if review.decliners:
        parts.append("Biggest declines: " + "; ".join(mover_text(review, c) for c in review.decliners) + ".")
    return " ".join(parts) or None


def customer_text(review: Review, move: CustomerMove) -> str:
    """``Acme ($583 MRR)`` for churn, ``Bolt (+$300 to $1.2k)`` for expansion."""
    if round(move.mrr_after, 6) == 0:
        return f"{move.display_name} ({value_text(review, 'mrr', move.mrr_before)} MRR)"
    return (f"{move.display_name} ({delta_text(review, 'mrr', move.change)} to "
            f"{value_text(review, 'mrr', move.mrr_after)})")


def _named(review: Review, moves: tuple[CustomerMove, ...], total: int) -> str:
    names = [customer_text(review, m) for m in moves[:NAMED]]
    others = total - len(names)
    if others > 0:
        names.append(f"{others} other{'s' if others > 1 else ''}")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _accounts_sentence(review: Review) -> str | None:
    parts = []
    if review.top_churned:
        parts.append(f"Churned: {_named(review, review.top_churned, review.churned_count)}.")
    if review.top_expansion:
        parts.append(f"Largest expansion: {_named(review, review.top_expansion, review.expansion_count)}.")
    return " ".join(parts) or None


def _users(count: int) -> str:
    return f"{count:,} active user{'s' if count != 1 else ''}"


def _at_risk_sentence(review: Review) -> str | None:
    """``3 accounts with $4.20k MRR are at risk; the largest, Acme ($1.90k), went from 14 active users to 4.``;
    none when no account is at risk on the period's last day."""
    risk = review.at_risk
    if risk is None:
        return None
    mrr = value_text(review, "mrr", risk.mrr)
    went = f"went from {_users(risk.previous_active_users)} to {risk.active_users:,}"
    if risk.accounts == 1:
        return f"1 account with {mrr} MRR is at risk: {risk.display_name} {went}."
    return (f"{risk.accounts:,} accounts with {mrr} MRR are at risk; the largest, {risk.display_name} "
            f"({value_text(review, 'mrr', risk.customer_mrr)}), {went}.")


def anomaly_cells(review: Review, anomaly: Anomaly) -> tuple[str, str, str]:
    """The value, the usual range (``359 to 366``; within what the KPI can take, counts in whole numbers) and
    the direction of an anomaly, as text."""
    span = fmt.range_text(KPIS[anomaly.kpi], anomaly.low, anomaly.high, _sym(review))
    return value_text(review, anomaly.kpi, anomaly.value), span, f"{anomaly.direction} its usual range"


def anomaly_sentences(review: Review) -> list[str]:
    """``Unusual: DAU (220) was above its usual range of 180 to 210.`` for each anomaly of the period."""
    out = []
    for a in review.anomalies:
        value, span, _ = anomaly_cells(review, a)
        out.append(f"Unusual: {a.label} ({value}) was {a.direction} its usual range of {span}.")
    return out


def _notes_sentence(review: Review) -> str | None:
    if not review.annotations:
        return None
    items = "; ".join(f"{fmt.day_label(n.day)}: {n.text}" for n in review.annotations)
    return f"Noted {WORDS[review.grain]['this']}: {items}."


def write_sentences(review: Review) -> list[str]:
    """The review's summary, one sentence (or two) per topic, in reading order."""
    h = review.headline
    out = [_mrr_sentence(review), _bridge_sentence(review), _amount_target_sentence(review, h("net_new_mrr")),
           _customers_sentence(review), _churn_sentence(review), _ratio_target_sentence(review, h("logo_churn_rate")),
           _reason_sentence(review), _trials_sentence(review),
           _nrr_sentence(review), _ratio_target_sentence(review, h("nrr")), _engagement_sentence(review),
           _amount_target_sentence(review, h("dau")), _amount_target_sentence(review, h("mau")),
           _ratio_target_sentence(review, h("stickiness")), _activation_sentence(review), _movers_sentence(review),
           _accounts_sentence(review), _at_risk_sentence(review)]
    out += anomaly_sentences(review)
    out.append(_notes_sentence(review))
    return [s for s in out if s]


# -- Markdown -------------------------------------------------------------------------------------------------------

#: Characters that start Markdown syntax in a line of text: table cells, HTML, links, emphasis, code, headings,
#: strikethrough and math (``$x^2$`` is typeset by GitHub, GitLab and most wikis).
MARKDOWN_SPECIAL = "\\|<>[]*_`#~$"


def md_escape(text: str) -> str:
    r"""Text made inert in Markdown: no table breaks, no HTML, no links, emphasis or math.

    >>> md_escape("<script>alert(1)</script> | a_b")
    '\\<script\\>alert(1)\\</script\\> \\| a\\_b'
    >>> print(md_escape("$x^2$ ~~gone~~ for $146.2k"))
    \$x^2\$ \~\~gone\~\~ for \$146.2k
    """
    out = []
    for char in " ".join(str(text).split()):
        out.append("\\" + char if char in MARKDOWN_SPECIAL else char)
    return "".join(out)


def _row(*cells: str) -> str:
    """One table row; every cell escaped (names from data, and amounts, whose ``$`` could pair up as math)."""
    return "| " + " | ".join(md_escape(c) for c in cells) + " |"


def change_cell(review: Review, change: Change) -> str:
    """``+$4.64k (+3.3%)``: the change in the KPI's unit, with the percentage when it means something (never for
    a rate, which changes in points); "—" when there is no change to show."""
    if not fmt.finite(change.change):
        return fmt.DASH
    text = delta_text(review, change.kpi, change.change)
    if change.unit != "ratio" and fmt.finite(change.relative_change) and fmt.meaningful(change.value, change.previous):
        text += f" ({fmt.relative(change.relative_change)})"
    return text


def render_markdown(review: Review) -> str:
    """The whole review as Markdown (GitHub flavour tables); data strings are escaped."""
    words = WORDS[review.grain]
    this = fmt.period_label(review.period_start, review.grain)
    before = fmt.period_label(review.previous_start, review.grain)
    lines = [f"# {title(review)}", "", md_escape(subtitle(review)), ""]
    if review.period_note:
        lines += [md_escape(review.period_note), ""]
    lines += ["## Summary", ""]
    lines += [f"- {md_escape(s)}" for s in review.sentences] or ["- Nothing to report."]

    lines += ["", "## Headline KPIs", "", _row("KPI", cap(this), cap(before), "Change", "Target"),
              _row("---", "---:", "---:", "---:", "---")]
    for h in review.headlines:
        target = "; ".join(target_summary(review, t, h.kpi) for t in h.targets) or ""
        lines.append(_row(h.label, value_text(review, h.kpi, h.value), value_text(review, h.kpi, h.previous),
                          change_cell(review, h), target))

    if review.bridge is not None:
        b = review.bridge
        lines += ["", "## MRR bridge", "", _row("", "MRR"), _row("---", "---:"),
                  _row(f"Start (end of {before})", value_text(review, "mrr", b.start))]
        lines += [_row(label, delta_text(review, "mrr", amount)) for label, amount in b.movements]
        lines += [_row(f"End (end of {this})", value_text(review, "mrr", b.end))]

    if review.improvers or review.decliners:
        lines += ["", "## Biggest movers", "", _row("KPI", cap(before), cap(this), "Change", ""),
                  _row("---", "---:", "---:", "---:", "---")]
        for c in (*review.improvers, *review.decliners):
            lines.append(_row(c.label, value_text(review, c.kpi, c.previous), value_text(review, c.kpi, c.value),
                              mover_change(review, c),
                              "better" if c.improved else "worse"))

    if review.anomalies:
        lines += ["", "## Anomalies", "", _row("KPI", cap(this), "Usual range", ""), _row("---", "---:", "---:", "---")]
        lines += [_row(a.label, *anomaly_cells(review, a)) for a in review.anomalies]

    for heading, moves in (("Largest churn", review.top_churned), ("Largest expansion", review.top_expansion)):
        if moves:
            lines += ["", f"## {heading}", "", _row("Customer", f"MRR end of {before}", f"MRR end of {this}",
                                                     "Change"), _row("---", "---:", "---:", "---:")]
            lines += [_row(m.display_name, value_text(review, "mrr", m.mrr_before),
                           value_text(review, "mrr", m.mrr_after), delta_text(review, "mrr", m.change))
                      for m in moves]

    if review.churn_reasons:
        lines += ["", "## Churn reasons", "", _row("Reason", "Churned customers", "Churned MRR"),
                  _row("---", "---:", "---:")]
        lines += [_row(r.reason, f"{r.customers:,}", delta_text(review, "mrr", r.mrr)) for r in review.churn_reasons]

    if review.annotations:
        lines += ["", "## Annotations", ""]
        lines += [f"- {fmt.day_label(n.day)}: {md_escape(n.text)}" for n in review.annotations]
    if review.caveats:
        lines += ["", "## Caveats", ""] + [f"- {md_escape(c)}" for c in review.caveats]
    lines += ["", f"_{words['title']} review generated from the KPI definitions in docs/kpis.md; "
                  "\"—\" marks an undefined value._", ""]
    return "\n".join(lines)
