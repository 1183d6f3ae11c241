"""The shared filters in the sidebar, bound to the URL so that a view can be shared as a link.

Grain, date range (its end is the as-of date), what to compare with and the customer segment. Every value that
arrives in the URL is checked against an allow-list (the grains, the comparisons, the segments that exist, dates
within the data, strictly ``YYYY-MM-DD``) before anything uses it; an invalid or repeated one falls back to the
default with a visible note and leaves the URL. Values
reach the KPI queries only as these checked Python values (dates, registry ids, a segment tuple that exists),
which :mod:`kpis` binds as SQL parameters.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_pages import components, url_state
from app_pages import format as fmt
from kpis import scorecard, sharing
from kpis.calendar import add_months
from kpis.store import Store

GRAINS = ("week", "month", "quarter")
#: The compare-to choices as shown (and as they appear in the URL) -> :data:`kpis.scorecard.COMPARISONS`.
COMPARE = {"previous period": "previous", "same period last year": "year_ago"}
ALL_CUSTOMERS = "all customers"
KEYS = ("grain", "start", "end", "compare", "segment")
#: Page settings that live in the URL too (bound by their page's widget), with the values they may take.
PAGE_KEYS = {"retention_mode": ("n-day", "unbounded")}
_STATE = "shared_filters"
_NOTES = "shared_filter_notes"
_RESET = "shared_filter_reset"


@dataclass(frozen=True)
class Filters:
    """The checked filter values every page reads."""

    grain: str
    start: date
    end: date
    compare: str
    segment: tuple[str, str] | None
    first_day: date
    last_day: date
    #: the non-default values, as they appear in the URL
    query: dict[str, str | list[str]] = field(default_factory=dict)

    @property
    def compare_label(self) -> str:
        return next(label for label, key in COMPARE.items() if key == self.compare)

    def end_for(self, as_of: date | None) -> date | None:
        """The as-of date for one source: the chosen end, never after the source's own last day with data."""
        return None if as_of is None else min(self.end, as_of)

    def link(self, url_path: str) -> str:
        """The relative link to ``url_path`` with these filters."""
        query = urlencode(self.query, doseq=True)
        return f"/{url_path}" + (f"?{query}" if query else "")


def _default_start(first: date, last: date) -> date:
    """A trailing year (plus one day, so that a year-ago comparison of the first week is on screen)."""
    return max(first, add_months(last, -12) + timedelta(days=1))


#: What each value in the URL falls back to, for the notes.
_FALLBACK = {"grain": "showing week", "start": "using the default", "end": "using the default",
             "compare": "showing previous period", "segment": "showing all customers",
             "retention_mode": "showing n-day"}
#: Longest URL value quoted back in a note.
_SHOWN = 60


def _check(raw: dict[str, list[str]], segments: dict[str, tuple[str, str]], first: date,
           last: date) -> dict[str, str]:
    """``{key: note}`` for the URL values that are not allowed; each such key falls back to its default.

    A key given more than once is ambiguous and falls back too; dates must be exactly ``YYYY-MM-DD`` within the
    data; everything else must be one of its allowed values (grains, comparisons, segments that exist, modes).
    """
    notes: dict[str, str] = {}
    for key, values in raw.items():
        if len(values) > 1:
            notes[key] = f"{key} is given {len(values)} times; {_FALLBACK[key]}."
    single = {k: v[0] for k, v in raw.items() if len(v) == 1 and k not in notes}
    shown = {k: components.plain(v[:_SHOWN]) + ("…" if len(v) > _SHOWN else "") for k, v in single.items()}
    allowed: dict[str, tuple[str, ...]] = {"grain": GRAINS, "compare": tuple(COMPARE),
                                           "segment": (ALL_CUSTOMERS, *segments), **PAGE_KEYS}
    for key, choices in allowed.items():
        if key not in single or single[key] in choices:
            continue
        if key == "segment":
            notes[key] = f"segment “{shown[key]}” does not exist in the data; {_FALLBACK[key]}."
        else:
            sep = ": " if key == "compare" else " "
            notes[key] = f"{key} “{shown[key]}” is not one of{sep}{', '.join(choices)}; {_FALLBACK[key]}."
    for key, label in (("start", "from"), ("end", "to")):
        if key not in single:
            continue
        day = url_state.parse_day(single[key])
        if day is None:
            notes[key] = f"{label} date “{shown[key]}” is not a date (YYYY-MM-DD); {_FALLBACK[key]}."
        elif not first <= day <= last:
            notes[key] = (f"{label} date {day.isoformat()} lies outside the data ({fmt.day(first)} to "
                          f"{fmt.day(last)}); {_FALLBACK[key]}.")
    return notes


def sidebar(store: Store, url_path: str) -> Filters | None:
    """Draw the filters in the sidebar and return their checked values (None while nothing is loaded)."""
    span = components.cached(store, scorecard.data_span)
    if span is None:
        st.session_state.pop(_STATE, None)
        return None
    first, last = span
    segments = scorecard.segment_labels(components.cached(store, scorecard.segment_choices))
    raw = {key: st.query_params.get_all(key) for key in (*KEYS, *PAGE_KEYS) if key in st.query_params}
    notes, dismissed = st.session_state.setdefault(_NOTES, ([], set()))
    refused = _check(raw, segments, first, last)
    for key, note in refused.items():
        with contextlib.suppress(StreamlitAPIException):  # a bound parameter is the widget's to clear
            st.query_params.pop(key, None)  # a refused value leaves the URL (and the share link)
        if note not in notes and note not in dismissed:
            notes.append(note)
    default_start = _default_start(first, last)
    # a widget seeds itself from the URL it was opened with; a refused value it took is reset on a rerun
    for key, value in st.session_state.pop(_RESET, {}).items():
        st.session_state[key] = value

    with st.sidebar:
        st.subheader("Filters", divider="gray")
        grain = st.radio("Grain", GRAINS, horizontal=True, key="grain", bind="query-params",
                         help="Weeks are ISO weeks (Monday to Sunday); months and quarters are calendar ones.")
        start = st.date_input("From", value=default_start, min_value=first, max_value=last, key="start",
                                bind="query-params", format="YYYY-MM-DD")
        end = st.date_input("To (as of)", value=last, min_value=first, max_value=last, key="end",
                               bind="query-params", format="YYYY-MM-DD",
                               help="The as-of date: periods after it are not shown, the period holding it is "
                                    "partial.")
        compare_label = st.radio("Compare with", list(COMPARE), key="compare", bind="query-params")
        segment_label = st.selectbox("Segment", [ALL_CUSTOMERS, *segments], key="segment", bind="query-params",
                                     help="A customer attribute (from Stripe metadata or a customers CSV) or a plan.")
        for note in notes:
            st.warning(f"The link's {note}", icon=":material/link_off:")
        if notes and st.button("Dismiss", key="dismiss_link_notes", icon=":material/close:", type="tertiary"):
            dismissed.update(notes)
            notes.clear()
            st.rerun()
        if start > end:
            start = min(default_start, end)
            st.warning(f"The from date is after the to date; showing from {start.isoformat()}.",
                       icon=":material/warning:")

        defaults = {"grain": GRAINS[0], "start": default_start, "end": last, "compare": next(iter(COMPARE)),
                    "segment": ALL_CUSTOMERS}
        taken = {"grain": grain, "start": start, "end": end, "compare": compare_label, "segment": segment_label}
        reset = {k: defaults[k] for k in refused if k in taken and taken[k] != defaults[k]}
        if reset:
            st.session_state[_RESET] = reset
            st.rerun()
        grain = grain if grain in GRAINS else GRAINS[0]
        compare = COMPARE.get(compare_label or "", "previous")
        segment = segments.get(segment_label or "")
        query = {"grain": grain if grain != GRAINS[0] else None,
                 "start": start.isoformat() if start != default_start else None,
                 "end": end.isoformat() if end != last else None,
                 "compare": compare_label if compare != "previous" else None,
                 "segment": segment_label if segment is not None else None}
        page_query: dict[str, str | list[str] | None] = {
            k: st.query_params.get(k) for k, allowed in PAGE_KEYS.items() if st.query_params.get(k) in allowed}
        page_query.update(url_state.page_query())
        filters = Filters(grain, start, end, compare, segment, first, last,
                          {k: v for k, v in {**query, **page_query}.items() if v is not None})
        share_box(store, filters.link(url_path), url_path)
        components.enter_applies_dates()  # last: its element takes no room between the filters
    st.session_state[_STATE] = filters
    return filters


def browser_base(url_path: str) -> str | None:
    """The dashboard's address as the browser reached it (``st.context.url`` without the page's path), or None
    when the browser did not say."""
    url = st.context.url
    if not url:
        return None
    url = url.rstrip("/")
    page = f"/{url_path}" if url_path else ""
    return url[: -len(page)] if page and url.endswith(page) else url


def share_box(store: Store, relative: str, url_path: str) -> None:
    """The full link to the view on screen, with Streamlit's copy button: on the public address (setting
    ``public_url``, for a dashboard behind a proxy) or the one the browser used; relative when neither is known."""
    base = sharing.public_url(store) or browser_base(url_path)
    link = sharing.full_link(base, relative)
    st.markdown(":material/share: **Share this view**",
                help="This link opens the same page with the same filters for whoever you send it to; the button "
                     "at its right copies it." if base else "This link opens the same page with the same filters: "
                     "append it to the dashboard's address.")
    st.code(link, language=None, wrap_lines=True)


def current() -> Filters | None:
    """The filters the sidebar checked in this run (None while nothing is loaded)."""
    return st.session_state.get(_STATE)
