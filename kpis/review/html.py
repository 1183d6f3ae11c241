"""The review as one self-contained HTML file: for a browser and for an email client.

No network, no JavaScript, no external fonts or images: a table layout at most 720 px wide with inline styles,
and charts drawn here as inline SVG (a sparkline per headline KPI, the MRR bridge as a waterfall). Every string
that comes from data (customer names, annotation texts, targets' notes) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from kpis.core import formatting as fmt
from kpis.metrics.revenue import Bridge
from kpis.review.markdown import (
    WORDS,
    anomaly_cells,
    cap,
    change_cell,
    delta_text,
    mover_change,
    subtitle,
    target_summary,
    title,
    value_text,
)
from kpis.review.model import Change, Review

FONT = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
INK, MUTED, RULE, PAPER = "#1f2933", "#616e7c", "#e4e7eb", "#f5f7fa"
GOOD, BAD, NEUTRAL, LINE = "#2f855a", "#c53030", "#52606d", "#3e6fb0"
STATUS_COLOURS = {"on track": ("#e3f4ea", GOOD), "at risk": ("#fff4d6", "#975a16"), "off track": ("#fde8e8", BAD)}


def e(text: object) -> str:
    """``text`` escaped for HTML text and attribute values.

    >>> e('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(text), quote=True)


def _colour(improved: bool | None) -> str:
    return NEUTRAL if improved is None else (GOOD if improved else BAD)


def _n(x: float) -> str:
    """A coordinate with one decimal."""
    return f"{x:.1f}"


# -- charts ---------------------------------------------------------------------------------------------------------

def sparkline(values: Sequence[float], width: int = 120, height: int = 32, colour: str = LINE,
              label: str = "") -> str:
    """An inline SVG line of ``values`` (gaps where a value is undefined) with a dot on the last one.

    >>> svg = sparkline([1.0, 2.0, float("nan"), 3.0, 4.0])
    >>> svg.startswith("<svg") and svg.count("<polyline") == 2 and "<circle" in svg
    True
    >>> "<polyline" in sparkline([float("nan")] * 3)
    False
    """
    finite = [v for v in values if fmt.finite(v)]
    pad = 3.0
    head = (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{e(label)}" style="display:block">')
    if not finite:
        return head + "</svg>"
    low, high = min(finite), max(finite)
    span = high - low or (abs(high) or 1.0)
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        y = height - pad - (v - low) / span * (height - 2 * pad) if high != low else height / 2
        return pad + i * step, y

    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if fmt.finite(v):
            runs[-1].append(point(i, v))
        elif runs[-1]:
            runs.append([])
    parts = [head]
    for run in runs:
        if len(run) == 1:
            parts.append(f'<circle cx="{_n(run[0][0])}" cy="{_n(run[0][1])}" r="1.5" fill="{colour}"/>')
        elif run:
            points = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5" '
                         f'stroke-linejoin="round" stroke-linecap="round"/>')
    last = [point(i, v) for i, v in enumerate(values) if fmt.finite(v)][-1]
    parts.append(f'<circle cx="{_n(last[0])}" cy="{_n(last[1])}" r="2.5" fill="{colour}"/>')
    return "".join(parts) + "</svg>"


def waterfall(bridge: Bridge, currency: str = "$", width: int = 660, height: int = 230) -> str:
    """The MRR bridge as an inline SVG waterfall: start, the five movements floating from the running level, end.

    The axis spans the running levels (not zero), so that movements of a few percent stay visible; the start and
    end bars carry a break mark to say they are cut.

    >>> svg = waterfall(Bridge(100.0, 20.0, 5.0, 0.0, -3.0, -10.0, 112.0))
    >>> svg.count("<rect") >= 7 and "Churned" in svg and "http" not in svg
    True
    """
    steps = [("Start", bridge.start, "total"), *[(label, amount, "move") for label, amount in bridge.movements],
             ("End", bridge.end, "total")]
    levels = [bridge.start]
    for _, amount, _kind in steps[1:-1]:
        levels.append(levels[-1] + (amount if fmt.finite(amount) else 0.0))
    levels.append(bridge.end)
    low, high = min(levels), max(levels)
    pad = (high - low) * 0.25 or abs(high) * 0.05 or 1.0
    low, high = low - pad, high + pad
    if low < 0 <= min(levels):
        low = 0.0
    top, bottom, left = 26.0, height - 34.0, 8.0
    slot = (width - 2 * left) / len(steps)
    bar = slot * 0.56

    def y(v: float) -> float:
        return bottom - (v - low) / (high - low) * (bottom - top)

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="MRR bridge" style="display:block;max-width:100%;height:auto;font-family:{FONT}">',
             f'<line x1="{left}" y1="{_n(bottom)}" x2="{width - left}" y2="{_n(bottom)}" stroke="{RULE}"/>']
    level = bridge.start
    for i, (label, amount, kind) in enumerate(steps):
        x = left + i * slot + (slot - bar) / 2
        if kind == "total":
            y0, y1, colour = y(amount), bottom, NEUTRAL
            text = fmt.money(amount, currency)
        else:
            move = amount if fmt.finite(amount) else 0.0
            y0, y1 = sorted((y(level), y(level + move)))
            colour = GOOD if move > 0 else (BAD if move < 0 else RULE)
            text = fmt.delta_amount(move, currency)
            level += move
        tall = max(y1 - y0, 1.0)
        parts.append(f'<rect x="{_n(x)}" y="{_n(y0)}" width="{_n(bar)}" height="{_n(tall)}" fill="{colour}" '
                     f'rx="2"/>')
        if kind == "total" and low > 0:  # the bar is cut: a white zig-zag near its foot
            zig = " ".join(f"{_n(x + k * bar / 6)},{_n(bottom - 9 - (3 if k % 2 else 0))}" for k in range(7))
            parts.append(f'<polyline points="{zig}" fill="none" stroke="#ffffff" stroke-width="2"/>')
        if i < len(steps) - 1 and kind == "move" or i == 0:
            nxt = y(level)
            parts.append(f'<line x1="{_n(x + bar)}" y1="{_n(nxt)}" x2="{_n(x + slot)}" y2="{_n(nxt)}" '
                         f'stroke="{MUTED}" stroke-dasharray="2,2"/>')
        parts.append(f'<text x="{_n(x + bar / 2)}" y="{_n(y0 - 6)}" text-anchor="middle" font-size="11" '
                     f'fill="{INK}">{e(text)}</text>')
        parts.append(f'<text x="{_n(x + bar / 2)}" y="{_n(bottom + 16)}" text-anchor="middle" font-size="11" '
                     f'fill="{MUTED}">{e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- blocks ---------------------------------------------------------------------------------------------------------

def _section(heading: str, body: str) -> str:
    return (f'<tr><td style="padding:20px 28px 4px 28px"><h2 style="margin:0 0 10px 0;font-size:16px;'
            f'color:{INK};font-family:{FONT}">{e(heading)}</h2>{body}</td></tr>')


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str]) -> str:
    """A data table; ``rows`` hold HTML cells (already escaped), ``head`` plain text."""
    th = "".join(f'<th align="{a}" style="padding:6px 8px;border-bottom:2px solid {RULE};font-size:12px;'
                 f'color:{MUTED};font-weight:600;text-align:{a}">{e(h)}</th>' for h, a in zip(head, align, strict=True))
    body = "".join(
        "<tr>" + "".join(f'<td align="{a}" valign="middle" style="padding:6px 8px;border-bottom:1px solid {RULE};'
                         f'font-size:13px;text-align:{a}">{cell}</td>' for cell, a in zip(row, align, strict=True))
        + "</tr>" for row in rows)
    return (f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse;font-family:{FONT};color:{INK}"><tr>{th}</tr>{body}</table>')


def _badge(status: str | None) -> str:
    if not status:
        return ""
    background, colour = STATUS_COLOURS.get(status, (PAPER, NEUTRAL))
    return (f'<span style="display:inline-block;padding:1px 6px;border-radius:9px;background:{background};'
            f'color:{colour};font-size:11px;font-weight:600;white-space:nowrap">{e(status)}</span>')


def _change_html(review: Review, change: Change) -> str:
    if not fmt.finite(change.change):
        return f'<span style="color:{MUTED}">{fmt.DASH}</span>'
    text = change_cell(review, change)
    arrow = "▲" if text.startswith("+") else ("▼" if text.startswith("-") else "")
    return f'<span style="color:{_colour(change.improved)};white-space:nowrap">{arrow} {e(text)}</span>'


def _headline_rows(review: Review) -> list[list[str]]:
    rows = []
    for h in review.headlines:
        targets = "<br>".join(f"{e(target_summary(review, t, h.kpi, status=False))} {_badge(t.status)}".strip()
                              for t in h.targets)
        rows.append([
            f'<b>{e(h.label)}</b>',
            f'<span style="font-size:15px;font-weight:600">{e(value_text(review, h.kpi, h.value))}</span><br>'
            f'<span style="color:{MUTED};font-size:11px">was {e(value_text(review, h.kpi, h.previous))}</span>',
            _change_html(review, h),
            sparkline(h.sparkline, label=f"{h.label}, last {len(h.sparkline)} {review.grain}s"),
            f'<span style="font-size:12px">{targets}</span>',
        ])
    return rows


def _headlines(review: Review) -> str:
    this = fmt.period_label(review.period_start, review.grain)
    spark = f"Last {len(review.spark_periods)} {review.grain}s"
    return _table(("KPI", cap(this), cap(WORDS[review.grain]["over"]), spark, "Target"),
                  _headline_rows(review), ("left", "right", "right", "center", "left"))


def _bridge(review: Review, bridge: Bridge) -> str:
    sym = fmt.symbol(review.currency)
    before = fmt.period_label(review.previous_start, review.grain)
    this = fmt.period_label(review.period_start, review.grain)
    rows = [[e(f"Start (end of {before})"), e(fmt.money(bridge.start, sym))]]
    rows += [[e(label), f'<span style="color:{GOOD if a > 0 else (BAD if a < 0 else NEUTRAL)}">'
                        f'{e(fmt.delta_amount(a, sym))}</span>'] for label, a in bridge.movements]
    rows += [[f"<b>{e(f'End (end of {this})')}</b>", f"<b>{e(fmt.money(bridge.end, sym))}</b>"]]
    note = (f'<p style="margin:4px 0 10px 0;font-size:11px;color:{MUTED};font-family:{FONT}">The vertical axis does '
            f'not start at zero, so that the movements stay visible.</p>')
    return waterfall(bridge, sym) + note + _table(("", "MRR"), rows, ("left", "right"))


def _movers(review: Review) -> str:
    before = cap(fmt.period_label(review.previous_start, review.grain))
    this = cap(fmt.period_label(review.period_start, review.grain))
    rows = [[e(c.label), e(value_text(review, c.kpi, c.previous)), e(value_text(review, c.kpi, c.value)),
             f'<span style="color:{_colour(c.improved)};white-space:nowrap">{e(mover_change(review, c))}</span>',
             f'<span style="color:{_colour(c.improved)}">{"better" if c.improved else "worse"}</span>']
            for c in (*review.improvers, *review.decliners)]
    return _table(("KPI", before, this, "Change", ""), rows, ("left", "right", "right", "right", "left"))


def _customers(review: Review, moves: Sequence) -> str:
    before = f"MRR end of {fmt.period_label(review.previous_start, review.grain)}"
    this = f"MRR end of {fmt.period_label(review.period_start, review.grain)}"
    rows = [[e(m.display_name) + (f'<br><span style="color:{MUTED};font-size:11px">{e(m.customer_id)}</span>'
                                  if m.name else ""),
             e(value_text(review, "mrr", m.mrr_before)), e(value_text(review, "mrr", m.mrr_after)),
             f'<span style="color:{GOOD if m.change > 0 else BAD}">{e(delta_text(review, "mrr", m.change))}</span>']
            for m in moves]
    return _table(("Customer", before, this, "Change"), rows, ("left", "right", "right", "right"))


def _list(items: Sequence[str]) -> str:
    """A list of already-escaped HTML items."""
    lis = "".join(f'<li style="margin:0 0 6px 0">{item}</li>' for item in items)
    return f'<ul style="margin:0;padding:0 0 0 18px;font-size:14px;line-height:1.45;font-family:{FONT}">{lis}</ul>'


def render_html(review: Review) -> str:
    """The whole review as one HTML document (UTF-8, inline CSS and SVG, no script, no external reference)."""
    blocks = [
        f'<tr><td style="padding:24px 28px 8px 28px;border-bottom:1px solid {RULE}">'
        f'<h1 style="margin:0;font-size:22px;color:{INK};font-family:{FONT}">{e(title(review))}</h1>'
        f'<p style="margin:6px 0 0 0;font-size:12px;color:{MUTED};font-family:{FONT}">{e(subtitle(review))}</p>'
        + (f'<p style="margin:4px 0 0 0;font-size:12px;color:{MUTED};font-family:{FONT}">{e(review.period_note)}</p>'
           if review.period_note else '')
        + '</td></tr>',
        _section("Summary", _list([e(s) for s in review.sentences] or [e("Nothing to report.")])),
        _section("Headline KPIs", _headlines(review)),
    ]
    if review.bridge is not None:
        blocks.append(_section("MRR bridge", _bridge(review, review.bridge)))
    if review.improvers or review.decliners:
        blocks.append(_section("Biggest movers", _movers(review)))
    if review.anomalies:
        this = cap(fmt.period_label(review.period_start, review.grain))
        rows = [[e(a.label), *(e(cell) for cell in anomaly_cells(review, a))] for a in review.anomalies]
        note = (f'<p style="margin:0 0 8px 0;font-size:12px;color:{MUTED};font-family:{FONT}">The usual range '
                f'follows the trend of the eight {review.grain}s before, ± two standard deviations.</p>')
        blocks.append(_section("Anomalies", note + _table(("KPI", this, "Usual range", ""), rows,
                                                          ("left", "right", "right", "left"))))
    if review.top_churned:
        blocks.append(_section("Largest churn", _customers(review, review.top_churned)))
    if review.top_expansion:
        blocks.append(_section("Largest expansion", _customers(review, review.top_expansion)))
    if review.churn_reasons:
        rows = [[e(r.reason), e(f"{r.customers:,}"), f'<span style="color:{BAD}">{e(delta_text(review, "mrr", r.mrr))}'
                 "</span>"] for r in review.churn_reasons]
        blocks.append(_section("Churn reasons", _table(("Reason", "Churned customers", "Churned MRR"), rows,
                                                       ("left", "right", "right"))))
    if review.annotations:
        blocks.append(_section("Annotations", _list(
            [f"<b>{e(fmt.day_label(n.day))}</b>: {e(n.text)}" for n in review.annotations])))
    if review.caveats:
        blocks.append(_section("Caveats", _list([e(c) for c in review.caveats])))
    footer = ("Every number follows the KPI definitions of this dashboard (docs/kpis.md); — marks an undefined "
              "value. Changes compare with the period before.")
    blocks.append(f'<tr><td style="padding:18px 28px 24px 28px;font-size:11px;color:{MUTED};font-family:{FONT}">'
                  f'{e(footer)}</td></tr>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title(review))}</title>'
        '<style>body{margin:0;padding:0}table{border-collapse:collapse}'
        '@media (max-width:600px){td{padding-left:10px!important;padding-right:10px!important}}</style>'
        f'</head><body style="margin:0;padding:0;background:{PAPER}">'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:{PAPER}">'
        '<tr><td align="center" style="padding:24px 8px">'
        # Outlook ignores max-width: a fixed-width frame only it reads (a conditional comment, not a script)
        '<!--[if mso]><table role="presentation" width="720" align="center" cellpadding="0" cellspacing="0">'
        '<tr><td><![endif]-->'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="max-width:720px;background:#ffffff;border:1px solid {RULE};border-radius:8px;color:{INK}">'
        + "".join(blocks)
        + "</table><!--[if mso]></td></tr></table><![endif]--></td></tr></table></body></html>\n"
    )
