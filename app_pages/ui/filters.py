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

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_pages.ui import cache, keys, url_state
from app_pages.ui import format as fmt
from app_pages.ui.keys import FILTER_KEYS, PAGE_DATES, PAGE_KEYS
from app_pages.ui.text import message, plain
from kpis.core.calendar import add_months
from kpis.core.errors import InputError
from kpis.core.registry import TREND_GRAINS
from kpis.metrics import retention
from kpis.metrics import segments as segments_module
from kpis.plan import scorecard
from kpis.store import settings
from kpis.store.db import Store

#: The grains the pages offer (a day is too fine to read a business by; the CLI has it).
GRAINS = TREND_GRAINS
#: The compare-to choices as shown (and as they appear in the URL) -> :data:`kpis.plan.scorecard.COMPARISONS`.
COMPARE = {"previous period": "previous", "same period last year": "year_ago"}
ALL_CUSTOMERS = "all customers"
_STATE = "shared_filters"
_NOTES = "shared_filter_notes"
_RESET = "shared_filter_reset"
_FALL_BACK = "shared_filter_fall_back"
_SEGMENTS = "shared_filter_segments"


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
    #: the non-default filter values, as they appear in the URL
    query: dict[str, str | list[str]] = field(default_factory=dict)

    @property
    def compare_label(self) -> str:
        return next(label for label, key in COMPARE.items() if key == self.compare)

    @property
    def as_of_chosen(self) -> date | None:
        """The date range's end when it was moved off its default (the data's last day), else None: the date
        chosen by hand that :func:`kpis.metrics.reporting.last_complete_period` takes as the as-of date."""
        return self.end if self.end < self.last_day else None

    def end_for(self, as_of: date | None) -> date | None:
        """The as-of date for one source: the chosen end, never after the source's own last day with data."""
        return None if as_of is None else min(self.end, as_of)

    def link(self, url_path: str) -> str:
        """The relative link to ``url_path`` with these filters."""
        return url_state.relative_link(url_path, self.query)


def _default_start(first: date, last: date) -> date:
    """A trailing year (plus one day, so that a year-ago comparison of the first week is on screen)."""
    return max(first, add_months(last, -12) + timedelta(days=1))


#: What each value in the URL falls back to, for the notes.
_FALLBACK = {keys.GRAIN: "showing week", keys.START: "using the default", keys.END: "using the default",
             keys.COMPARE: "showing previous period", keys.SEGMENT: "showing all customers",
             keys.RETENTION_MODE: f"showing {retention.DEFAULT_MODE}"}
#: Longest URL value quoted back in a note.
_SHOWN = 60


def _check(raw: dict[str, list[str]], segments: dict[str, tuple[str, str]], first: date,
           last: date, left_out: dict[str, int], most: int) -> dict[str, str]:
    """``{key: note}`` for the URL values that are not allowed; each such key falls back to its default.

    A key given more than once is ambiguous and falls back too; dates must be exactly ``YYYY-MM-DD`` within the
    data; everything else must be one of its allowed values (grains, comparisons, segments offered, modes). A
    segment of an attribute with more than ``most`` values (``left_out``) is not offered, and the note says so.
    """
    notes: dict[str, str] = {}
    for key, values in raw.items():
        if len(values) > 1:
            notes[key] = f"{key} is given {len(values)} times; {_FALLBACK[key]}."
    single = {k: v[0] for k, v in raw.items() if len(v) == 1 and k not in notes}
    shown = {k: plain(v[:_SHOWN]) + ("…" if len(v) > _SHOWN else "") for k, v in single.items()}
    allowed: dict[str, tuple[str, ...]] = {keys.GRAIN: GRAINS, keys.COMPARE: tuple(COMPARE),
                                           keys.SEGMENT: (ALL_CUSTOMERS, *segments), **PAGE_KEYS}
    for key, choices in allowed.items():
        if key not in single or single[key] in choices:
            continue
        if key == keys.SEGMENT:
            attribute = _attribute_of(single[key], left_out)
            notes[key] = (f"segment “{shown[key]}” is not offered: {plain(attribute)} has "
                          f"{left_out[attribute]:,} values, more than the {most} a segment may have; "
                          f"{_FALLBACK[key]}." if attribute in left_out else
                          f"segment “{shown[key]}” does not exist in the data; {_FALLBACK[key]}.")
        else:
            sep = ": " if key == keys.COMPARE else " "
            notes[key] = f"{key} “{shown[key]}” is not one of{sep}{', '.join(choices)}; {_FALLBACK[key]}."
    for key, label in ((keys.START, "from"), (keys.END, "to")):
        if key not in single:
            continue
        day = url_state.parse_day(single[key])
        if day is None:
            notes[key] = f"{label} date “{shown[key]}” is not a date (YYYY-MM-DD); {_FALLBACK[key]}."
        elif not first <= day <= last:
            notes[key] = (f"{label} date {day.isoformat()} lies outside the data ({fmt.day(first)} to "
                          f"{fmt.day(last)}); {_FALLBACK[key]}.")
    return notes


def _most_segment_values() -> int:
    """:func:`kpis.metrics.segments.max_segment_values`; a setting that is not valid is named in the sidebar and the
    default is used."""
    try:
        return segments_module.max_segment_values()
    except InputError as exc:
        with st.sidebar:
            message("error", f"{exc}; using {segments_module.DEFAULT_MAX_SEGMENT_VALUES}.")
        return segments_module.DEFAULT_MAX_SEGMENT_VALUES


#: Attributes named in the note on segments that are not offered (the rest are counted).
_NAMED = 5


def _attribute_of(link_value: str, left_out: dict[str, int]) -> str:
    """The attribute a link's segment names, among those left out: as the filter shows it (``Phone: +1 555``)
    or in the older ``phone=+1 555`` form; the value itself when it names none of them."""
    for attribute in left_out:
        prefix = scorecard.segment_label((attribute, "")).rstrip()
        if link_value.startswith((f"{prefix} ", f"{attribute}=")):
            return attribute
    return link_value


def _left_out_text(offered: segments_module.OfferedSegments) -> str:
    """``Not offered as segments (more than 50 values): phone (200,000 values).``"""
    named = [f"{key} ({count:,} values)" for key, count in list(offered.left_out.items())[:_NAMED]]
    more = len(offered.left_out) - len(named)
    return (f"Not offered as segments (more than {offered.most} values): {', '.join(named)}"
            + (f" and {more} more attributes." if more else "."))


def sidebar(store: Store, url_path: str) -> Filters | None:
    """Draw the filters in the sidebar and return their checked values (None while nothing is loaded), and below
    them the share link, which the page then completes with its own choices (:func:`app_pages.ui.url_state.in_link`).
    """
    url_state.forget_link()
    span = cache.cached(store, scorecard.data_span)
    if span is None:
        st.session_state.pop(_STATE, None)
        return None
    first, last = span
    offered = cache.computed(store, segments_module.offered_segments, _most_segment_values())
    segments = scorecard.segment_labels(offered.segments)
    st.session_state[_SEGMENTS] = [ALL_CUSTOMERS, *segments]
    raw = {key: st.query_params.get_all(key) for key in (*FILTER_KEYS, *PAGE_KEYS) if key in st.query_params}
    notes, dismissed = st.session_state.setdefault(_NOTES, ([], set()))
    refused = _check(raw, segments, first, last, offered.left_out, offered.most)
    for key, note in refused.items():
        with contextlib.suppress(StreamlitAPIException):  # a bound parameter is the widget's to clear
            st.query_params.pop(key, None)  # a refused value leaves the URL (and the share link)
        if note not in notes and note not in dismissed:
            notes.append(note)
    default_start = _default_start(first, last)
    chosen_before = st.session_state.pop(_FALL_BACK, None)
    if chosen_before is not None:
        _fall_back(first, default_start, last, chosen_before)
    # a widget seeds itself from the URL it was opened with; a refused value it took is reset on a rerun
    for key, value in st.session_state.pop(_RESET, {}).items():
        st.session_state[key] = value

    with st.sidebar:
        st.subheader("Filters", divider="gray")
        grain = st.radio("Grain", GRAINS, horizontal=True, key=keys.GRAIN, bind="query-params",
                         help="Weeks are ISO weeks (Monday to Sunday); months and quarters are calendar ones.")
        start = st.date_input("From", value=default_start, min_value=first, max_value=last, key=keys.START,
                                bind="query-params", format="YYYY-MM-DD")
        end = st.date_input("To (as of)", value=last, min_value=first, max_value=last, key=keys.END,
                               bind="query-params", format="YYYY-MM-DD",
                               help="The as-of date: periods after it are not shown, the period holding it is "
                                    "partial.")
        compare_label = st.radio("Compare with", list(COMPARE), key=keys.COMPARE, bind="query-params")
        segment_label = st.selectbox("Segment", [ALL_CUSTOMERS, *segments], key=keys.SEGMENT, bind="query-params",
                                     help="A customer attribute (from Stripe metadata or a customers CSV) or a plan; "
                                          f"an attribute with more than {offered.most} values is not offered.")
        if offered.left_out:
            st.caption(plain(_left_out_text(offered)))
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

        defaults = {keys.GRAIN: GRAINS[0], keys.START: default_start, keys.END: last,
                    keys.COMPARE: next(iter(COMPARE)), keys.SEGMENT: ALL_CUSTOMERS}
        taken = {keys.GRAIN: grain, keys.START: start, keys.END: end, keys.COMPARE: compare_label,
                 keys.SEGMENT: segment_label}
        reset = {k: defaults[k] for k in refused if k in taken and taken[k] != defaults[k]}
        if reset:
            st.session_state[_RESET] = reset
            st.rerun()
        grain = grain if grain in GRAINS else GRAINS[0]
        compare = COMPARE.get(compare_label or "", "previous")
        segment = segments.get(segment_label or "")
        query = {keys.GRAIN: grain if grain != GRAINS[0] else None,
                 keys.START: start.isoformat() if start != default_start else None,
                 keys.END: end.isoformat() if end != last else None,
                 keys.COMPARE: compare_label if compare != "previous" else None,
                 keys.SEGMENT: segment_label if segment is not None else None}
        filters = Filters(grain, start, end, compare, segment, first, last,
                          {k: v for k, v in query.items() if v is not None})
        url_state.share_link(url_path, filters.query, settings.public_url(store) or browser_base(url_path))
        enter_applies_dates()  # last: its element takes no room between the filters
    st.session_state[_STATE] = filters
    return filters


def segment_on_page(chosen: Filters, label: str, key: str, help: str) -> None:
    """The sidebar's segment as a choice on the page too, where the page is about one group of users: the same
    value both ways (a change here changes the sidebar's, and so the link's ``segment``), never a second filter."""
    options = st.session_state.get(_SEGMENTS, [ALL_CUSTOMERS])
    current = chosen.query.get(keys.SEGMENT, ALL_CUSTOMERS)
    st.session_state[key] = current if current in options else ALL_CUSTOMERS
    st.selectbox(label, options, key=key, help=help, on_change=_to_sidebar, args=(key,))


def _to_sidebar(key: str) -> None:
    """Give the sidebar's segment the value chosen on the page (before the next run draws the sidebar)."""
    st.session_state[keys.SEGMENT] = st.session_state[key]


def fall_back_dates() -> None:
    """After the data changed under the filters (the demo company removed), the next run puts every date that
    came from the old data back to the new data's: the date range's ends that were left at their defaults or
    now lie outside the data, and the page choices that hold dates (the bridge's period, the cohorts)."""
    shown = current()
    st.session_state[_FALL_BACK] = tuple(k for k in (keys.START, keys.END) if shown is not None and k in shown.query)


def _fall_back(first: date, default_start: date, last: date, chosen: tuple[str, ...]) -> None:
    """:func:`fall_back_dates`, run before the widgets are drawn: a date that was chosen (off its default, so in
    the link) and still lies within the data stays; the others take the new data's defaults."""
    for key, default in ((keys.START, default_start), (keys.END, last)):
        value = st.session_state.get(key)
        if key not in chosen or not isinstance(value, date) or not first <= value <= last:
            st.session_state[key] = default
    for key in PAGE_DATES:
        st.query_params.pop(key, None)


def browser_base(url_path: str) -> str | None:
    """The dashboard's address as the browser reached it (``st.context.url`` without the page's path), or None
    when the browser did not say."""
    url = st.context.url
    if not url:
        return None
    url = url.rstrip("/")
    page = f"/{url_path}" if url_path else ""
    return url[: -len(page)] if page and url.endswith(page) else url


#: Streamlit's date fields apply a typed date only when they lose focus; this makes Enter apply it too. Our own
#: constant script (no data in it), installed once per browser tab.
_ENTER_APPLIES_DATES = """<script>
if (!window.kpiEnterAppliesDates) {
  window.kpiEnterAppliesDates = true;
  document.addEventListener("keydown", (event) => {
    const field = event.target instanceof Element && event.target.closest('[data-testid="stDateInputField"]');
    if (event.key !== "Enter" || !field) return;
    event.preventDefault();
    event.target.dispatchEvent(new KeyboardEvent("keydown", {key: "Tab", code: "Tab", bubbles: true}));
    event.target.blur();
  }, true);
}
</script>"""


def enter_applies_dates() -> None:
    """Make Enter in a date field apply the date typed (as leaving the field does)."""
    st.html(_ENTER_APPLIES_DATES, unsafe_allow_javascript=True, width="content")


def current() -> Filters | None:
    """The filters the sidebar checked in this run (None while nothing is loaded)."""
    return st.session_state.get(_STATE)
