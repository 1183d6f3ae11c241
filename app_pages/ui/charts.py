"""Every chart of the dashboard, as plain functions that return a Plotly figure, all on one template.

Undefined values are gaps (never zeros, never joined across); a period still running is drawn differently (a
dotted line to a hollow marker labelled "partial", or a hatched, paler bar) so that nobody compares it with a
full period by accident. A line chart may carry a KPI's target (a dashed line with a level mark at its periods,
labelled "target") and the projection of the running period (a dotted segment to a marker labelled "projected"),
running on to the end of a target ahead of the data; bar charts carry targets as level marks. Every time chart shown
with :func:`show` carries the notes on dates (:mod:`kpis.plan.annotations`) as vertical lines, the note's text in the
hover, escaped so that it is never read as HTML.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from app_pages.ui import format as fmt
from kpis.core.calendar import cohort_grain, next_start
from kpis.core.registry import Kpi

COLORS = ["#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#0ea5e9", "#84cc16", "#ec4899"]
MOVEMENT_COLORS = {"new_mrr": "#15803d", "expansion_mrr": "#4ade80", "reactivation_mrr": "#0ea5e9",
                   "contraction_mrr": "#fb923c", "churned_mrr": "#dc2626",
                   "new_customers": "#15803d", "reactivated_customers": "#0ea5e9", "churned_customers": "#dc2626",
                   "new": "#15803d", "returning": "#2563eb", "resurrected": "#0ea5e9", "dormant": "#dc2626"}
TEMPLATE_NAME = "kpi_dashboard"
pio.templates[TEMPLATE_NAME] = go.layout.Template(layout={
    "font": {"family": "Source Sans Pro, Inter, Helvetica, Arial, sans-serif", "size": 13, "color": "#31333f"},
    "colorway": COLORS,
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "margin": {"l": 8, "r": 8, "t": 72, "b": 8},
    "hovermode": "x unified",
    "hoverlabel": {"namelength": -1},
    "title": {"font": {"size": 15}, "x": 0, "xanchor": "left", "xref": "container", "y": 1, "yanchor": "top",
              "yref": "container", "pad": {"t": 10, "l": 4}},
    # the legend sits left, between the title and the plot, so that "partial" marks on the right never meet it
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0, "title": {"text": ""},
               "font": {"size": 12}},
    "xaxis": {"showgrid": False, "linecolor": "#d4d4d8", "ticks": "outside", "tickcolor": "#d4d4d8",
              "automargin": True, "title": {"text": ""}},
    "yaxis": {"gridcolor": "#f0f0f3", "zerolinecolor": "#a1a1aa", "automargin": True, "title": {"text": ""}},
    "bargap": 0.25,
})
HEIGHT = 340
#: The group that holds the smaller groups of a chart, and its colour.
OTHER, OTHER_COLOR = "Other", "#a1a1aa"


NOTE_COLOR = "#a1a1aa"
#: A single series' target line (several series draw theirs in the series' colour).
TARGET_COLOR = "#52525b"
#: The layout ``meta`` key that marks a chart whose x axis is time (``{"time_axis": grain}``).
TIME_AXIS = "time_axis"


def show(figure: go.Figure, notes: pd.DataFrame | None = None, key: str | None = None) -> None:
    """Draw a figure full width, with our template (not Streamlit's theme) and no Plotly logo; a time chart gets
    the ``notes`` on dates of its span (:func:`with_notes`; the page reads them once,
    :func:`app_pages.ui.cache.annotations`)."""
    meta = figure.layout.meta if isinstance(figure.layout.meta, dict) else {}
    if TIME_AXIS in meta and notes is not None:
        with_notes(figure, notes)
    st.plotly_chart(figure, theme=None, key=key,
                    config={"displaylogo": False, "displayModeBar": False, **fmt.plotly_locale()})


def _time_span(figure: go.Figure) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last day a time chart covers (its last period to its end)."""
    starts = [pd.Timestamp(x) for trace in figure.data if getattr(trace, "x", None) is not None
              and getattr(trace, "name", None) != "note" for x in trace.x if x is not None]
    if not starts:
        return None
    grain = figure.layout.meta.get(TIME_AXIS, "day")
    last = max(starts)
    end = {"week": last + timedelta(days=6), "month": last + pd.offsets.MonthEnd(0),
           "quarter": last + pd.offsets.QuarterEnd(0)}.get(grain, last)
    return min(starts), pd.Timestamp(end)


def with_notes(figure: go.Figure, notes: pd.DataFrame) -> go.Figure:
    """Draw each note (``day``, ``text``) inside the chart's span as a dotted vertical line with a small marker
    on top whose hover holds the day and the text (HTML-escaped: Plotly renders tags in hover text)."""
    span = _time_span(figure)
    if span is None or notes.empty:
        return figure
    days = pd.to_datetime(pd.Series(list(notes["day"])))
    inside = notes[((days >= span[0]) & (days <= span[1])).to_numpy()]
    if inside.empty:
        return figure
    for day in inside["day"]:
        figure.add_shape(type="line", xref="x", yref="paper", x0=day, x1=day, y0=0, y1=1, layer="below",
                         line={"color": NOTE_COLOR, "width": 1, "dash": "dot"})
    texts = [html.escape(f"{fmt.day(d)}: {t}").replace("\n", " ")
             for d, t in zip(inside["day"], inside["text"], strict=True)]
    figure.add_scatter(x=pd.to_datetime(pd.Series(list(inside["day"]))), y=[1.0] * len(inside), yaxis="y9",
                       name="note", mode="markers", showlegend=False, hovertext=texts, cliponaxis=False,
                       marker={"symbol": "triangle-down", "size": 9, "color": NOTE_COLOR},
                       hovertemplate="%{hovertext}<extra>note</extra>")
    figure.update_layout(yaxis9={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True})
    return figure


#: The shading of the periods in which a KPI warms up (:mod:`kpis.metrics.warmup`), and its label.
WARM_FILL = "rgba(161, 161, 170, 0.18)"
WARM_LABEL = "warming up"
#: The cohorts' average row, as the heatmap and the curves name it and explain it in the hover.
AVERAGE_LABEL = "Average"
AVERAGE_HOVER = "weighted by cohort size, complete cells only"


def data_label(text: object) -> str:
    """A name from the data (a churn reason) as a legend or trace name: escaped, since Plotly renders tags there.

    >>> data_label("<b>too_expensive</b>")
    '&lt;b&gt;too_expensive&lt;/b&gt;'
    """
    return html.escape(str(text))


def _hover_lines(text: str, width: int = 72) -> str:
    """``text`` escaped for a Plotly hover (it renders tags) and broken into lines of at most ``width``
    characters (and at each line break of its own), so that the box stays narrow."""
    return "<br>".join(html.escape(line) for part in text.splitlines() for line in textwrap.wrap(part, width))


def with_warm_up(figure: go.Figure, periods: Mapping[date, str], grain: str) -> go.Figure:
    """Shade the periods in which a KPI warms up (``periods``: ``{period_start: why}``) as one span labelled
    "warming up", from the first such period to the start of the next one, and say why in the hover of each
    (escaped: Plotly renders tags in hover text)."""
    if not periods:
        return figure
    starts = sorted(periods)
    end = next_start(starts[-1], grain)
    figure.add_vrect(x0=pd.Timestamp(starts[0]), x1=pd.Timestamp(end), fillcolor=WARM_FILL, line_width=0,
                     layer="below", annotation_text=WARM_LABEL, annotation_position="top left",
                     annotation_font={"size": 11, "color": "#71717a"})
    texts = [_hover_lines(periods[s]) for s in starts]
    figure.add_scatter(x=[pd.Timestamp(s) for s in starts], y=[0.5] * len(starts), yaxis="y8", name=WARM_LABEL,
                       mode="markers", showlegend=False, marker={"size": 1, "opacity": 0}, hovertext=texts,
                       hovertemplate=f"{WARM_LABEL}:<br>%{{hovertext}}<extra></extra>")
    figure.update_layout(yaxis8={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True})
    return figure


def _figure(title: str, height: int = HEIGHT, grain: str | None = None) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(template=TEMPLATE_NAME, title={"text": title}, height=height,
                         meta={TIME_AXIS: grain} if grain else None)
    return figure


def _x(table: pd.DataFrame, column: str = "period_start") -> pd.Series:
    return pd.to_datetime(table[column])


def _values(series: pd.Series) -> list[float | None]:
    """Values with undefined ones as None, so that Plotly leaves a gap."""
    return [None if fmt.undefined(v) else float(v) for v in series]


def _x_hover(grain: str) -> str:
    return {"week": "week of %-d %b %Y", "month": "%b %Y", "quarter": "Q%q %Y"}.get(grain, "%-d %b %Y")


def _period_ticks(figure: go.Figure, starts: Sequence[object], grain: str) -> None:
    """Month and quarter axes labelled by period (``Oct 2026``, ``Q4 2026``), one tick per period (thinned to at
    most 12), so that bars sit on their labels; week axes keep Plotly's date ticks."""
    if grain not in ("month", "quarter") or not len(starts):
        return
    values = sorted(pd.to_datetime(pd.Series(list(starts))).unique())
    step = max(1, -(-len(values) // 12))
    shown = values[::-1][::step][::-1]  # keep the latest period labelled
    figure.update_xaxes(tickmode="array", tickvals=shown, ticktext=[fmt.period(v, grain) for v in shown])


#: Where a chart's targets and projections may come from: per period start (a Series, which may run past the
#: data to a target ahead), one value per row of the series, or (projections) one number for its running period.
ByPeriod = pd.Series | Sequence[float] | float | None


def _by_period(values: ByPeriod, table: pd.DataFrame) -> pd.Series:
    """``values`` as a float Series indexed by period start (empty when there is nothing to draw)."""
    empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([]))
    if values is None or table.empty:
        return empty
    if isinstance(values, pd.Series):
        return pd.Series(values.to_numpy(dtype="float64"), index=pd.to_datetime(values.index))
    if isinstance(values, int | float):
        return pd.Series([float(values)], index=_x(table).iloc[-1:].to_numpy())
    listed = list(values)
    return pd.Series(listed, index=_x(table).to_numpy(), dtype="float64") if len(listed) == len(table) else empty


def _marks(values: pd.Series, grain: str, size: int) -> list[int]:
    """Marker sizes along a target or projection: every period at month and quarter grain; at week grain (where
    a mark a week would merge into a band) the last period of each run and a period on its own."""
    finite = [fmt.finite(v) for v in values]
    if grain != "week":
        return [size] * len(finite)
    return [size if ok and (i + 1 == len(finite) or not finite[i + 1]) else 0 for i, ok in enumerate(finite)]


def _target_trace(figure: go.Figure, goal: pd.Series, name: str, color: str, number: str, grain: str) -> None:
    """A target drawn dashed with a level mark at its periods, so that a target of a single period (or a period
    whose neighbours have none) is seen too."""
    figure.add_scatter(x=goal.index, y=_values(goal), name=name, mode="lines+markers",
                       line={"color": color, "width": 1.5, "dash": "dash"},
                       marker={"symbol": "line-ew", "size": _marks(goal, grain, 12), "color": color,
                               "line": {"width": 2.5, "color": color}},
                       cliponaxis=False, connectgaps=False, hovertemplate=f"%{{y:{number}}}")


def _projection_ahead(figure: go.Figure, start: tuple[pd.Timestamp, float] | None, future: pd.Series, name: str,
                      color: str, number: str, grain: str) -> None:
    """The projection of the periods after the data, up to a target ahead: a dotted line on from ``start`` (the
    last value drawn) to a hollow diamond per period."""
    head = [start] if start is not None else []
    figure.add_scatter(x=[*(x for x, _ in head), *future.index], y=[*(y for _, y in head), *_values(future)],
                       mode="lines", showlegend=False, hoverinfo="skip", connectgaps=False,
                       line={"color": color, "width": 1.5, "dash": "dot"}, opacity=0.7)
    figure.add_scatter(x=future.index, y=_values(future), name=f"{name} (projected ahead)", mode="markers",
                       showlegend=False, cliponaxis=False,
                       marker={"symbol": "diamond-open", "size": _marks(future, grain, 9), "color": color,
                               "line": {"width": 2}},
                       hovertemplate=f"%{{y:{number}}} (projected end of the {grain})")


def _end_labels(figure: go.Figure, kpi: Kpi, x: pd.Timestamp, labels: Sequence[tuple[str, float, str]]) -> None:
    """Label the last period of a chart with a target ahead: ``(word, value, colour)`` each written right of its
    mark (``target $190.0k``, ``projected $199.0k``), the higher one nudged up and the lower one down so that
    they never overlap; the right margin makes room for them."""
    ordered = sorted(labels, key=lambda label: -label[1])
    for i, (word, value, color) in enumerate(ordered):
        nudge = 0 if len(ordered) == 1 else 7 if i == 0 else -7
        figure.add_annotation(x=x, y=value, xref="x", yref="y", text=f"{word} {fmt.value(kpi, value)}",
                              showarrow=False, xanchor="left", xshift=10, yshift=nudge,
                              font={"size": 11, "color": color})
    figure.update_layout(margin={"r": 112})


def _room_above(value: float, others: Sequence[float]) -> bool:
    """Whether a label of ``value``'s marker goes above it: the side with more room before the other marks of
    its period (a target, a projection).

    >>> _room_above(10, [8]), _room_above(10, [12]), _room_above(10, [9, 14]), _room_above(10, [])
    (True, False, True, True)
    """
    over = [o - value for o in others if o > value]
    under = [value - o for o in others if o <= value]
    return not over or (bool(under) and min(over) > min(under))


def _running(figure: go.Figure, table: pd.DataFrame, name: str, color: str, number: str, grain: str,
             ahead: float | None, label: bool, label_projection: bool, target: float | None = None) -> bool:
    """The running period: a dotted line to a hollow marker ("partial"), and where it is projected to end (a
    dotted segment from the period before to a diamond, "projected") when that differs; True when the
    projection is drawn. The labels sit on the sides away from the other marks (``target``: the period's)."""
    tail = table.iloc[-2:] if len(table) > 1 else table.iloc[-1:]
    figure.add_scatter(x=_x(tail), y=_values(tail["value"]), mode="lines", showlegend=False,
                       line={"color": color, "width": 2, "dash": "dot"}, hoverinfo="skip", connectgaps=False)
    last = table.iloc[-1:]
    so_far = float(last["value"].iloc[0])
    if not (fmt.finite(ahead) and fmt.finite(so_far) and round(float(ahead) - so_far, 9) != 0):  # type: ignore[arg-type]
        ahead = None
    # the two labels of the running period sit on opposite sides of their markers, never on each other; with the
    # projection unlabelled (it goes on to a target ahead), the "partial" label takes the side away from the target
    away_from = [target] if not label_projection and fmt.finite(target) else [ahead] if ahead is not None else []
    above = _room_above(so_far, away_from)  # type: ignore[arg-type]
    figure.add_scatter(x=_x(last), y=_values(last["value"]), name=f"{name} (partial)",
                       mode="markers+text" if label else "markers", showlegend=False,
                       marker={"symbol": "circle-open", "size": 10, "color": color, "line": {"width": 2}},
                       text=["partial"], textposition="top center" if above else "bottom center",
                       textfont={"size": 11, "color": "#71717a"},
                       hovertemplate=f"%{{y:{number}}} (partial period, up to the as-of date)")
    if ahead is None:
        return False
    before = table.iloc[-2:-1] if len(table) > 1 and fmt.finite(table["value"].iloc[-2]) else last.iloc[0:0]
    if len(before):
        figure.add_scatter(x=[*_x(before), *_x(last)], y=[*_values(before["value"]), ahead],
                           mode="lines", showlegend=False, hoverinfo="skip",
                           line={"color": color, "width": 1.5, "dash": "dot"}, opacity=0.7)
    figure.add_scatter(x=_x(last), y=[ahead], name=f"{name} (projected)",
                       mode="markers+text" if label_projection else "markers", showlegend=False,
                       marker={"symbol": "diamond-open", "size": 9, "color": color, "line": {"width": 2}},
                       text=["projected"], textposition="bottom center" if above else "top center",
                       textfont={"size": 11, "color": "#71717a"},
                       hovertemplate=f"%{{y:{number}}} (projected end of the {grain})")
    return True


def lines(series: Mapping[str, pd.DataFrame], kpi: Kpi, title: str, grain: str, *,
          height: int = HEIGHT, targets: Mapping[str, ByPeriod] | None = None,
          projected: Mapping[str, ByPeriod] | None = None) -> go.Figure:
    """One line per series (``period_start``, ``value``, ``partial``); the running period dotted and hollow.

    ``targets``: per series name, its target by period, drawn dashed with a level mark at each period and
    labelled "target"; ``projected``: per series name, where its running period is projected to end, drawn as a
    dotted segment from the last complete period to a marker labelled "projected". Targets and projections of
    periods after the data (a target ahead) extend the time axis to them, the projection continuing as a dotted
    line; with a single series, the last target ahead and the projection of its period are written beside them
    with their values (and the running period's projection is left unlabelled: the line goes on).
    """
    figure = _figure(title, height, grain)
    number = fmt.plotly_format(kpi)
    targets, projected = targets or {}, projected or {}
    labelled = projection_labelled = drew_target = False
    starts: list[object] = []
    for i, (name, table) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        if table.empty:
            continue
        last_x = _x(table).iloc[-1]
        full = table[~table["partial"].astype(bool)]
        figure.add_scatter(x=_x(full), y=_values(full["value"]), name=name, mode="lines+markers",
                           line={"color": color, "width": 2}, marker={"size": 4}, connectgaps=False,
                           hovertemplate=f"%{{y:{number}}}")
        goal = _by_period(targets.get(name), table)
        paths = _by_period(projected.get(name), table)
        future = paths[paths.index > last_x].dropna()
        single = len(series) == 1
        if goal.notna().any():
            _target_trace(figure, goal, "target" if single else f"{name} target",
                          TARGET_COLOR if single else color, number, grain)
            drew_target = True
        running_shown = False
        if bool(table["partial"].iloc[-1]):
            running_shown = _running(figure, table, name, color, number, grain, paths.get(last_x), not labelled,
                                     not projection_labelled and future.empty, goal.get(last_x))
            projection_labelled |= running_shown
            labelled = True
        if not future.empty:
            so_far = float(table["value"].iloc[-1])
            start = (last_x, float(paths[last_x])) if running_shown else (last_x, so_far) if fmt.finite(so_far) \
                else None
            _projection_ahead(figure, start, future, name, color, number, grain)
        goal_ahead = goal[goal.index > last_x].dropna()
        if single and not goal_ahead.empty:
            end = goal_ahead.index[-1]
            ends = [("target", float(goal_ahead.iloc[-1]), TARGET_COLOR)]
            if end in future.index:
                ends.append(("projected", float(future[end]), color))
            _end_labels(figure, kpi, end, ends)
        starts += [*goal.index, *future.index]
    figure.update_yaxes(tickformat=number, rangemode="tozero" if kpi.unit != "ratio" else "normal")
    figure.update_xaxes(hoverformat=_x_hover(grain))
    _period_ticks(figure, [*(d for t in series.values() if not t.empty for d in t["period_start"]), *starts], grain)
    if len(series) == 1 and not drew_target:
        figure.update_layout(showlegend=False)
    return figure


def stacked_bars(table: pd.DataFrame, columns: Mapping[str, str], kpi: Kpi, title: str, grain: str, *,
                 net: tuple[str, str] | None = None, height: int = HEIGHT,
                 targets: Mapping[str, pd.Series] | None = None) -> go.Figure:
    """Positive and negative parts stacked around zero (``columns``: column -> label); the partial period's bars
    hatched and paler; ``net`` (column, label) as a line on top; ``targets`` (column -> target by period start,
    which may run past the data) as level marks labelled "<label> target"."""
    figure = _figure(title, height, grain)
    number = fmt.plotly_format(kpi)
    partial = table["partial"].astype(bool).tolist()
    x = _x(table)
    for column, label in columns.items():
        figure.add_bar(x=x, y=_values(table[column]), name=label,
                       marker={"color": MOVEMENT_COLORS.get(column), "opacity": [0.45 if p else 1.0 for p in partial],
                               "pattern": {"shape": ["/" if p else "" for p in partial]}},
                       hovertemplate=f"%{{y:{number}}}")
    if net is not None:
        figure.add_scatter(x=x, y=_values(table[net[0]]), name=net[1], mode="lines+markers",
                           line={"color": "#18181b", "width": 1.5}, marker={"size": 4},
                           hovertemplate=f"%{{y:{number}}}")
    labels = {**columns, **({net[0]: net[1]} if net else {})}
    starts: list[object] = list(table["period_start"])
    for column, goal in (targets or {}).items():
        goal = _by_period(goal, table)
        if goal.notna().any():
            _target_trace(figure, goal, f"{labels.get(column, column)} target", TARGET_COLOR, number, grain)
            starts += list(goal.index)
    if partial and partial[-1]:
        figure.add_annotation(x=x.iloc[-1], y=1, yref="paper", text="partial", showarrow=False,
                              font={"size": 11, "color": "#71717a"}, yanchor="bottom")
    figure.update_layout(barmode="relative")
    figure.update_yaxes(tickformat=number)
    figure.update_xaxes(hoverformat=_x_hover(grain))
    _period_ticks(figure, starts, grain)
    return figure


def stacked_area(table: pd.DataFrame, kpi: Kpi, title: str, grain: str, *, height: int = HEIGHT) -> go.Figure:
    """One area per group stacked over time (``period_start, group, value, partial``; groups in the order of their
    first row), their top edge the total; the running period marked "partial". Group names come from the data:
    they are escaped, never read as HTML."""
    figure = _figure(title, height, grain)
    number = fmt.plotly_format(kpi)
    groups = list(dict.fromkeys(table["group"]))
    palette = [*COLORS, "#64748b", "#a16207", "#0f766e", "#be185d"]
    for i, group in enumerate(groups):
        rows = table[table["group"] == group]
        color = OTHER_COLOR if group == OTHER else palette[i % len(palette)]
        figure.add_scatter(x=_x(rows), y=_values(rows["value"]), name=html.escape(str(group)), mode="lines",
                           stackgroup="one",
                           line={"width": 0.5, "color": color}, hovertemplate=f"%{{y:{number}}}")
    partial = table["partial"].astype(bool)
    if partial.any():
        figure.add_annotation(x=_x(table[partial]).iloc[-1], y=1, yref="paper", text="partial", showarrow=False,
                              font={"size": 11, "color": "#71717a"}, yanchor="bottom")
    figure.update_yaxes(tickformat=number, rangemode="tozero")
    figure.update_xaxes(hoverformat=_x_hover(grain))
    _period_ticks(figure, list(table["period_start"]), grain)
    return figure


def bridge(start_value: float, steps: Sequence[tuple[str, float]], end_value: float, title: str, *,
           start_label: str = "MRR at start", end_label: str = "MRR at end", height: int = HEIGHT) -> go.Figure:
    """A waterfall: the opening value, each movement, the closing value."""
    figure = _figure(title, height)
    labels = [start_label, *[label for label, _ in steps], end_label]
    values = [start_value, *[v for _, v in steps], end_value]
    texts = [fmt.money(start_value), *[fmt.delta(v, "currency") or fmt.DASH for _, v in steps], fmt.money(end_value)]
    figure.add_trace(go.Waterfall(
        x=labels, y=values, measure=["absolute", *["relative"] * len(steps), "total"], text=texts,
        textposition="outside", cliponaxis=False, connector={"line": {"color": "#d4d4d8"}},
        increasing={"marker": {"color": "#16a34a"}}, decreasing={"marker": {"color": "#dc2626"}},
        totals={"marker": {"color": "#2563eb"}}, hoverinfo="skip"))
    levels = [start_value]
    for _, step in steps:
        levels.append(levels[-1] + (0.0 if fmt.undefined(step) else step))
    low, high = min(levels + [end_value]), max(levels + [end_value])
    span = max(high - low, abs(high) * 0.01, 1.0)
    # zoomed on the movements (they are small next to MRR); the axis says so by not starting at zero
    figure.update_yaxes(tickformat="$.3~s", range=[max(0.0, low - 1.5 * span), high + 0.5 * span])
    figure.update_layout(showlegend=False, hovermode=False)
    return figure


def heatmap(cohorts: pd.DataFrame, grain: str, title: str, *, max_period: int = 12,
            warming: Mapping[date, str] | None = None, average: pd.DataFrame | None = None) -> go.Figure:
    """Cohorts (rows, oldest on top) by period (columns): retention in percent; partial cells marked with *;
    the cohorts in ``warming`` (``{cohort_start: why}``, younger than their period) shaded, labelled "warming up"
    and explained in the hover; ``average`` (:func:`kpis.metrics.retention.average_row`) as a last row below a
    line."""
    shown = cohorts[cohorts["period"] <= max_period]
    rows = sorted(shown["cohort_start"].unique())
    columns = list(range(int(shown["period"].max()) + 1)) if not shown.empty else []
    # one pivot, not a cell at a time: a weekly year is some 700 cells
    labels = [fmt.percent(r, 0) + ("*" if p else "") for r, p in zip(shown["retention"], shown["partial"],
                                                                     strict=True)]
    cells = shown.assign(label=labels, retention=shown["retention"].astype("float64"))
    z = cells.pivot(index="cohort_start", columns="period", values="retention").reindex(index=rows, columns=columns)
    text = cells.pivot(index="cohort_start", columns="period", values="label").reindex(
        index=rows, columns=columns).fillna("")
    sizes = shown.drop_duplicates("cohort_start").set_index("cohort_start")["cohort_size"]
    why = {pd.Timestamp(r).date(): text for r, text in (warming or {}).items()}
    warm = [pd.Timestamp(r).date() in why for r in rows]
    y = [f"{fmt.period(r, grain).removeprefix('week of ')} · {int(sizes[r]):,}" + (f" · {WARM_LABEL}" if w else "")
         for r, w in zip(rows, warm, strict=True)]
    notes = [[f"<br>{WARM_LABEL}:<br>{_hover_lines(why[pd.Timestamp(r).date()])}" if w else ""] * len(columns)
             for r, w in zip(rows, warm, strict=True)]
    z_rows, text_rows = z.to_numpy().tolist(), text.to_numpy().tolist()
    if average is not None and not average.empty:
        mean = average.set_index("period")["retention"].astype("float64").reindex(columns)
        z_rows.append(mean.tolist())
        text_rows.append(["" if v != v else fmt.percent(v, 0) for v in mean])
        y.append(AVERAGE_LABEL)
        notes.append([f"<br>{AVERAGE_HOVER}"] * len(columns))
    unit = cohort_grain(grain)
    height = max(260, 70 + 24 * len(y))
    figure = _figure(title, height)
    figure.add_trace(go.Heatmap(
        z=z_rows, x=[f"{unit} {k}" for k in columns], y=y, text=text_rows, texttemplate="%{text}",
        textfont={"size": 11}, colorscale="Blues", zmin=0, zmax=1, xgap=1, ygap=1, showscale=False,
        customdata=notes, hovertemplate="cohort %{y}<br>%{x}: %{z:.1%}%{customdata}<extra></extra>"))
    for i, w in enumerate(warm):
        if w:
            figure.add_shape(type="rect", xref="paper", x0=0, x1=1, yref="y", y0=i - 0.5, y1=i + 0.5,
                             fillcolor=WARM_FILL, line_width=0, layer="above")
    if len(y) > len(rows):  # a line between the cohorts and their average
        figure.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=len(rows) - 0.5, y1=len(rows) - 0.5,
                         line={"color": "#3f3f46", "width": 2}, layer="above")
    figure.update_yaxes(autorange="reversed", type="category", showgrid=False, tickfont={"size": 11})
    figure.update_xaxes(side="top", type="category", showgrid=False, ticks="")
    figure.update_layout(hovermode="closest", margin={"t": 70})
    return figure


def curves(cohorts: pd.DataFrame, chosen: Sequence[object], grain: str, title: str, *,
           height: int = HEIGHT, average: pd.DataFrame | None = None) -> go.Figure:
    """Retention by period since the start, one line per chosen cohort; partial points hollow; ``average`` (the
    cohorts' average row) drawn over them, dark and dashed."""
    figure = _figure(title, height)
    unit = cohort_grain(grain)
    if average is not None and not average.empty:
        figure.add_scatter(x=average["period"].tolist(), y=average["retention"].astype("float64").tolist(),
                           name=AVERAGE_LABEL, mode="lines", line={"color": "#18181b", "width": 3, "dash": "dash"},
                           hovertemplate="%{y:.1%} " + AVERAGE_HOVER)
    for i, cohort in enumerate(chosen):
        cells = cohorts[cohorts["cohort_start"] == cohort].sort_values("period")
        color = COLORS[i % len(COLORS)]
        partial = cells["partial"].astype(bool).tolist()
        figure.add_scatter(
            x=cells["period"], y=cells["retention"], name=fmt.period(cohort, grain), mode="lines+markers",
            line={"color": color, "width": 2},
            marker={"size": 7, "symbol": ["circle-open" if p else "circle" for p in partial], "color": color},
            customdata=["partial" if p else "" for p in partial],
            hovertemplate="%{y:.1%} %{customdata}")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05])
    periods = cohorts[cohorts["cohort_start"].isin(list(chosen))]["period"]
    longest = int(periods.max()) if len(periods) else 0
    figure.update_xaxes(title={"text": f"{unit}s since the cohort's first {unit}"}, showgrid=False,
                        dtick=1 if longest <= 13 else 4, range=[-0.5, max(longest, 1) + 0.5])
    return figure


def power_curve(curve: pd.DataFrame, title: str, *, height: int = HEIGHT) -> go.Figure:
    """Users by number of active days in the period, with each bar's share of the active users."""
    figure = _figure(title, height)
    total = int(curve["users"].sum())
    shares = [fmt.percent(u / total, 0) if total else fmt.DASH for u in curve["users"]]
    labelled = len(curve) <= 10  # a month's 28-31 bars are too narrow for labels: the share is in the hover
    figure.add_bar(x=curve["days_active"], y=curve["users"], text=shares if labelled else None,
                   textposition="outside", cliponaxis=False, marker={"color": COLORS[0]}, customdata=shares,
                   hovertemplate="%{y:,} users (%{customdata}) active on %{x} days<extra></extra>")
    top = max(int(curve["users"].max()), 1) * 1.15 if not curve.empty else 1
    figure.update_yaxes(tickformat=",.0f", range=[0, top])
    figure.update_xaxes(title={"text": "days active in the period"}, dtick=1 if len(curve) <= 10 else 2)
    figure.update_layout(showlegend=False, hovermode="closest")
    return figure


def impact(table: pd.DataFrame, names: Mapping[str, str], title: str) -> go.Figure:
    """Feature impact (:func:`kpis.metrics.impact.impact`): one horizontal bar per event, the difference in week-4
    retention in percentage points (largest on top), each group's users and retention in the hover. Event names
    are the data's: escaped, so that Plotly never reads them as tags."""
    shown = table[table["difference"].map(fmt.finite)]
    labels = [html.escape(names.get(e, e)) for e in shown["event"]]
    hover = [f"did it in their first week: {fmt.count(nd)} users, {fmt.percent(rd)} retained in week 4<br>"
             f"did not: {fmt.count(nn)} users, {fmt.percent(rn)} retained"
             for nd, rd, nn, rn in zip(shown["users_did"], shown["retention_did"], shown["users_did_not"],
                                       shown["retention_did_not"], strict=True)]
    points = [100 * float(d) for d in shown["difference"]]
    figure = _figure(title, max(HEIGHT, 90 + 30 * len(shown)))
    figure.add_bar(x=points, y=labels, orientation="h", customdata=hover,
                   marker={"color": [COLORS[0] if p >= 0 else NOTE_COLOR for p in points]},
                   text=[f"{p:+.1f} pp" for p in points], textposition="outside", cliponaxis=False,
                   hovertemplate="%{y}: %{x:+.1f} pp<br>%{customdata}<extra></extra>")
    reach = max([abs(p) for p in points] + [1.0]) * 1.25
    figure.update_xaxes(title={"text": "week-4 retention: did it minus did not (percentage points)"},
                        range=[-reach if min(points, default=0.0) < 0 else 0, reach], zeroline=True,
                        ticksuffix=" pp", showgrid=True, gridcolor="#f0f0f3")
    figure.update_yaxes(autorange="reversed", type="category", showgrid=False)
    figure.update_layout(showlegend=False, hovermode="closest")
    return figure


def funnel(table: pd.DataFrame, names: Mapping[str, str], title: str) -> go.Figure:
    """A funnel (:func:`kpis.metrics.funnel.funnel`) as horizontal bars, the first step on top: each bar labelled
    with its users and its conversion from the previous and the first step, each step with the median time from
    the step before. Event names come from uploads: escaped, as Plotly reads labels as HTML."""
    steps = [f"{row.step}. {html.escape(names.get(row.event, row.event))}" for row in table.itertuples()]
    ticks = [steps[0]] + [f"{label}<br><span style='font-size:11px'>median {fmt.duration(row.median_seconds)} "
                          f"after step {row.step - 1}</span>"
                          for label, row in zip(steps[1:], table.iloc[1:].itertuples(), strict=True)]
    labels = [f"{fmt.count(row.users)}" + ("" if row.step == 1 else
                                           f" · from previous {fmt.percent(row.from_previous)}"
                                           f" · from first {fmt.percent(row.from_first)}")
              for row in table.itertuples()]
    figure = _figure(title, 90 + 70 * len(table))
    figure.add_bar(y=ticks, x=table["users"], orientation="h", text=labels, textposition="outside",
                   cliponaxis=False, marker={"color": COLORS[0]}, customdata=labels,
                   hovertemplate="%{customdata}<extra></extra>")
    top = max(int(table["users"].max()), 1)
    figure.update_xaxes(tickformat=",.0f", range=[0, top * 1.9], title={"text": "users"})
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_layout(showlegend=False, hovermode="closest")
    return figure


def account_history(mrr: pd.DataFrame, users: pd.DataFrame, title: str, *, height: int = HEIGHT) -> go.Figure:
    """One account over time: its MRR as a step line (``day``, ``mrr``; left axis) and its active users per week
    as bars (``period_start``, ``active_users``; right axis, the last week possibly partial)."""
    figure = _figure(title, height, "week")
    figure.add_bar(x=_x(users), y=list(users["active_users"]), name="Active users per week", yaxis="y2",
                   marker={"color": COLORS[2], "opacity": 0.55}, hovertemplate="%{y:,d} active users")
    figure.add_scatter(x=_x(mrr, "day"), y=_values(mrr["mrr"]), name="MRR", mode="lines",
                       line={"color": COLORS[0], "width": 2, "shape": "hv"},
                       hovertemplate=f"MRR {fmt.currency_symbol()}%{{y:,.2f}}")
    top_mrr = max([0.0, *(float(v) for v in mrr["mrr"])]) or 1.0
    top_users = max([0, *(int(v) for v in users["active_users"])]) or 1
    # headroom above the highest value, so that a flat MRR line does not run along the plot's top edge
    figure.update_layout(yaxis={"tickprefix": fmt.currency_symbol(), "tickformat": ",.0f",
                                "range": [0, top_mrr * 1.15]},
                         yaxis2={"overlaying": "y", "side": "right", "range": [0, top_users * 1.15], "tickformat": ",d",
                                 "showgrid": False, "automargin": True, "title": {"text": "active users"}},
                         hovermode="x")
    figure.update_xaxes(hoverformat=_x_hover("day"))
    return figure
