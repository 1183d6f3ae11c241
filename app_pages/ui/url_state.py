"""Page choices that travel in the link: the revenue bridge's period, the retention page's cohorts, the engagement
page's funnel.

The shared filters bind their widgets to the URL (:mod:`app_pages.ui.filters`). These choices are periods of the
data on screen, so their options change with the grain and the date range; they live in the URL as ISO dates
(``?bridge=2026-11-09``, ``?cohorts=2026-01-01&cohorts=2026-02-01``), readable and independent of how a period is
labelled. A date is read as the period that holds it, so a week's bridge becomes its month when the grain
changes. A value that is not a date, or a period outside the range on screen, falls back to the default with a
note; nothing from the URL reaches a query, only periods already in the options. Names (a funnel's events) are
kept only when they are among the page's options, numbers only when they are whole and within their bounds.

The share link carries only the choices the page shows, as the page accepted them: the sidebar draws it with the
filters (:func:`share_link`), and each page choice is added to it when the page draws that choice
(:func:`in_link`), so a value the page refused, a choice of another page or one the page never reached (it
stopped before) is never in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app_pages.ui import format as fmt
from app_pages.ui.keys import NONE, PAGE_DATES
from app_pages.ui.text import plain
from kpis.core.calendar import period_start
from kpis.ops.sharing import full_link

#: Session key of this run's share link (:class:`_ShareLink`).
_LINK = "_url_share_link"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text: str) -> date | None:
    """An ISO date from the URL, or None for anything else (strictly ``YYYY-MM-DD``).

    >>> parse_day("2026-11-09"), parse_day("2026-13-01"), parse_day("2026-11-09';--")
    (datetime.date(2026, 11, 9), None, None)
    """
    if not _ISO.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def resolve(values: Sequence[str], options: Sequence[date], grain: str) -> tuple[list[date], list[str]]:
    """The options the URL values name (each date read as the ``grain`` period holding it, duplicates once) and
    the values that name none.

    >>> weeks = [date(2026, 11, 2), date(2026, 11, 9)]
    >>> resolve(["2026-11-11", "2026-11-09", "x", "2026-12-01"], weeks, "week")
    ([datetime.date(2026, 11, 9)], ['x', '2026-12-01'])
    """
    known, picked, bad = set(options), [], []
    for text in values:
        day = parse_day(text)
        start = None if day is None else period_start(day, grain)
        if start in known:
            if start not in picked:
                picked.append(start)
        else:
            bad.append(text)
    return picked, bad


def relative_link(url_path: str, query: dict[str, str | list[str]]) -> str:
    """The link to ``url_path`` with ``query``, relative to the dashboard's address.

    >>> relative_link("retention", {"grain": "month", "cohorts": ["2026-05-01", "2026-07-01"]})
    '/retention?grain=month&cohorts=2026-05-01&cohorts=2026-07-01'
    """
    text = urlencode(query, doseq=True)
    return f"/{url_path}" + (f"?{text}" if text else "")


@dataclass
class _ShareLink:
    """This run's share link: where it is drawn, the page, the filters and the page choices drawn so far."""

    place: DeltaGenerator
    url_path: str
    filters: dict[str, str | list[str]]
    #: the dashboard's address (the public one, else the browser's): None writes the link relative to it
    base: str | None = None
    choices: dict[str, list[str]] = field(default_factory=dict)

    def draw(self) -> None:
        self.place.code(full_link(self.base, relative_link(self.url_path, {**self.filters, **self.choices})),
                        language=None, wrap_lines=True)


def share_link(url_path: str, filters: dict[str, str | list[str]], base: str | None = None) -> None:
    """Draw "Share this view" here with the full link (on ``base``) to ``url_path`` and the ``filters`` (their
    values as in the URL), with Streamlit's copy button; the page adds its choices as it draws them
    (:func:`in_link`)."""
    st.markdown(":material/share: **Share this view**",
                help="This link opens the same page with the same filters and choices for whoever you send it to; "
                     "the button at its right copies it." if base else "This link opens the same page with the "
                     "same filters and choices: append it to the dashboard's address.")
    link = _ShareLink(st.empty(), url_path, dict(filters), base)
    st.session_state[_LINK] = link
    link.draw()


def forget_link() -> None:
    """No share link in this run (yet): page choices recorded before :func:`share_link` go nowhere."""
    st.session_state.pop(_LINK, None)


def in_link(key: str, values: Sequence[str]) -> None:
    """Put a page choice the page shows into the share link, as URL values (none: the page's default, which the
    link leaves out)."""
    link: _ShareLink | None = st.session_state.get(_LINK)
    if link is None:
        return
    if values:
        link.choices[key] = list(values)
    else:
        link.choices.pop(key, None)
    link.draw()


def _note(key: str, bad: Sequence[str], what: str) -> None:
    shown = ", ".join(f"“{plain(v[:30])}”" for v in bad[:3])
    st.warning(f"The link's {key} {shown} is not {what} in this date range; showing the default.",
               icon=":material/link_off:")


def _write(key: str, values: list[str] | None) -> None:
    """Put the choice in the URL (None: the default, no parameter)."""
    if values is None:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = values


def pick_period(label: str, key: str, options: Sequence[date], default: date, grain: str,
                format_func: Callable[[date], str]) -> date:
    """A selectbox of periods whose choice is ``?<key>=<ISO date>`` in the URL (absent while it is the default)."""
    values = st.query_params.get_all(key)
    picked, bad = resolve(values[:1], options, grain)
    if bad:
        _note(key, bad, f"a {grain}")
        _write(key, None)
    chosen = picked[0] if picked else default
    in_link(key, values[:1] if picked else [])
    widget = f"_url_{key}"
    st.session_state[widget] = chosen  # the URL is the truth (a shared link, the browser's back button)

    def sync() -> None:
        value = st.session_state[widget]
        _write(key, None if value == default else [value.isoformat()])

    return st.selectbox(label, list(options), key=widget, on_change=sync, format_func=format_func)


def pick_choice(label: str, key: str, options: Sequence[str], default: str,
                format_func: Callable[[str], str], what: str) -> str:
    """A selectbox of names whose choice is ``?<key>=<name>`` in the URL (absent while it is the default); a name
    the options do not hold falls back to ``default`` with a note (``what`` the options are, for it)."""
    values = st.query_params.get_all(key)
    bad = values[:] if len(values) > 1 else [v for v in values if v not in options]
    if bad:
        shown = ", ".join(f"“{plain(v[:30])}”" for v in bad[:3])
        st.warning(f"The link's {key} {shown} is not {plain(what)}; showing {plain(format_func(default))}.",
                   icon=":material/link_off:")
        _write(key, None)
    chosen = default if bad or not values else values[0]
    in_link(key, [] if chosen == default else [chosen])
    widget = f"_url_{key}"
    st.session_state[widget] = chosen  # the URL is the truth (a shared link, the browser's back button)

    def sync() -> None:
        value = st.session_state[widget]
        _write(key, None if value == default else [value])

    return st.selectbox(label, list(options), key=widget, on_change=sync, format_func=format_func)


def pick_shown_period(label: str, key: str, periods: Sequence[date], partial: Collection[date],
                      headline: date | None, grain: str) -> date:
    """One of a page's ``periods`` (oldest first) to look at, newest first, a running one marked "(partial)", in
    the URL as :func:`pick_period`: by default the ``headline`` period (the last complete one) when on screen,
    else the newest complete one, else the newest."""
    newest_first = list(reversed(periods))
    complete = [p for p in newest_first if p not in partial]
    default = headline if headline in complete else complete[0] if complete else newest_first[0]
    return pick_period(label, key, newest_first, default, grain,
                       lambda p: fmt.period(p, grain) + (" (partial)" if p in partial else ""))


def pick_periods(label: str, key: str, options: Sequence[date], default: Sequence[date], grain: str,
                 format_func: Callable[[date], str]) -> list[date]:
    """A multiselect of periods whose choice is ``?<key>=<ISO date>&<key>=...`` in the URL (``?<key>=none`` when
    nothing is picked; absent while it is the default)."""
    most = PAGE_DATES[key]
    values = st.query_params.get_all(key)
    if values == [NONE]:
        chosen: list[date] = []
    else:
        chosen, bad = resolve(values, options, grain)
        if bad:
            _note(key, bad, f"a {grain}")
        if bad or len(chosen) > most:
            chosen = chosen[:most]
            _write(key, [d.isoformat() for d in chosen] if chosen else None)
        if not values or not chosen:
            chosen = list(default)
    in_link(key, st.query_params.get_all(key))  # as checked (and rewritten) above
    widget = f"_url_{key}"
    st.session_state[widget] = chosen

    def sync() -> None:
        value = list(st.session_state[widget])
        if value == list(default):
            _write(key, None)
        else:
            _write(key, [d.isoformat() for d in value] if value else [NONE])

    return list(st.multiselect(label, list(options), key=widget, on_change=sync, format_func=format_func,
                               max_selections=most))


#: Longest name from the URL quoted back in a note.
_QUOTED = 30
_WHOLE = re.compile(r"[0-9]{1,6}")


def _names_note(key: str, unknown: Sequence[str], most: int, too_many: bool) -> None:
    parts = []
    if unknown:
        shown = ", ".join(f"“{plain(v[:_QUOTED])}”" for v in unknown[:3]) + (", …" if len(unknown) > 3 else "")
        parts.append(f"The link's {key} {shown} is not in the data; left out.")
    if too_many:
        parts.append(f"The link's {key} has more than {most} different values; the first {most} are kept.")
    st.warning(" ".join(parts), icon=":material/link_off:")


def pick_names(label: str, key: str, options: Sequence[str], most: int,
               format_func: Callable[[str], str]) -> list[str]:
    """A multiselect of names (in the order picked) whose choice is ``?<key>=a&<key>=b`` in the URL (absent: none
    picked). A name that is not among ``options`` is left out with a note, a repeated one is taken once, and
    beyond ``most`` names the first ``most`` are kept."""
    values = st.query_params.get_all(key)
    known = set(options)
    unknown = [v for v in values if v not in known]
    wanted = list(dict.fromkeys(v for v in values if v in known))
    chosen = wanted[:most]
    if unknown or len(wanted) > most:
        _names_note(key, unknown, most, len(wanted) > most)
    if chosen != values:
        _write(key, chosen or None)
    in_link(key, chosen)
    widget = f"_url_{key}"
    st.session_state[widget] = chosen

    def sync() -> None:
        _write(key, list(st.session_state[widget]) or None)

    return list(st.multiselect(label, list(options), key=widget, on_change=sync, format_func=format_func,
                               max_selections=most))


def parse_whole(text: str, low: int, high: int) -> int | None:
    """A whole number from the URL within ``low``..``high``, or None for anything else (ASCII digits only).

    >>> parse_whole("14", 1, 365), parse_whole("0", 1, 365), parse_whole("1e3", 1, 365), parse_whole("٣", 1, 365)
    (14, None, None, None)
    """
    if not _WHOLE.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def pick_whole(label: str, key: str, low: int, high: int, default: int, help: str | None = None) -> int:
    """A number input of whole numbers whose value is ``?<key>=N`` in the URL (absent while it is the default); a
    value that is not a whole number within ``low``..``high``, or one given twice, falls back to the default with
    a note."""
    values = st.query_params.get_all(key)
    found = parse_whole(values[0], low, high) if len(values) == 1 else None
    if values and found is None:
        shown = plain(values[0][:_QUOTED])
        st.warning(f"The link's {key} “{shown}” is not a whole number from {low} to {high}; showing {default}.",
                   icon=":material/link_off:")
        _write(key, None)
    chosen = default if found is None else found
    in_link(key, [] if chosen == default else [str(chosen)])
    widget = f"_url_{key}"
    st.session_state[widget] = chosen

    def sync() -> None:
        value = st.session_state[widget]
        _write(key, None if value is None or value == default else [str(int(value))])

    value = st.number_input(label, min_value=low, max_value=high, step=1, key=widget, on_change=sync, help=help)
    return default if value is None else int(value)
