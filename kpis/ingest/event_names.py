"""What an event name stands for: one of the product's features, an analytics tool's own event (a page view, an
autocaptured click) shown under a plain name, or housekeeping that is no one's activity (a feature flag checked,
a user identified).

Adoption lists the features and the tool's events apart and leaves housekeeping out; the Data page offers to
add the housekeeping events found in the data to the ``inactive_events`` setting, whose default stays empty (no
number changes without the user's word). Never imports streamlit.

>>> [kind(e) for e in ("report_created", "$pageview", "[Amplitude] Page Viewed", "$feature_flag_called")]
['feature', 'tool', 'tool', 'housekeeping']
>>> plain_name("$pageview"), plain_name("$autocapture"), plain_name("report_created")
('Page viewed', 'Clicked or typed (autocapture)', 'report_created')
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["feature", "tool", "housekeeping"]

#: A tool's own events that are a person's activity, by the name the tool gives them: (plain name, tool).
TOOL_EVENTS: dict[str, tuple[str, str]] = {
    "$pageview": ("Page viewed", "PostHog"),
    "$screen": ("Screen viewed", "PostHog"),
    "$autocapture": ("Clicked or typed (autocapture)", "PostHog"),
    "$rageclick": ("Clicked repeatedly in frustration", "PostHog"),
    "$exception": ("Saw an error", "PostHog"),
    "$mp_web_page_view": ("Page viewed", "Mixpanel"),
    "$mp_click": ("Clicked (autocapture)", "Mixpanel"),
    "[Amplitude] Page Viewed": ("Page viewed", "Amplitude"),
    "[Amplitude] Element Clicked": ("Clicked (autocapture)", "Amplitude"),
    "[Amplitude] Element Changed": ("Typed or changed a field (autocapture)", "Amplitude"),
    "[Amplitude] Form Started": ("Started a form", "Amplitude"),
    "[Amplitude] Form Submitted": ("Submitted a form", "Amplitude"),
    "[Amplitude] File Downloaded": ("Downloaded a file", "Amplitude"),
}

#: Events a tool sends about itself, a session or who a user is: housekeeping, not a person's activity.
HOUSEKEEPING: dict[str, str] = {
    "$feature_flag_called": "Feature flag checked",
    "$pageleave": "Page left",
    "$identify": "User identified",
    "$set": "Person properties set",
    "$set_once": "Person properties set",
    "$groupidentify": "Group identified",
    "$create_alias": "User alias created",
    "$merge_dangerously": "Users merged",
    "$web_vitals": "Page speed measured",
    "$opt_in": "Tracking consent given",
    "$snapshot": "Session recording data",
    "session_start": "Session started",
    "session_end": "Session ended",
    "[Amplitude] Start Session": "Session started",
    "[Amplitude] End Session": "Session ended",
}

#: An event named by a tool for itself: ``$something`` (PostHog, Mixpanel) or ``[Tool] Something`` (Amplitude).
_TOOL_PREFIX = re.compile(r"^(\$|\[[A-Za-z ]+\] )")


def kind(event: str) -> Kind:
    """Whether ``event`` is one of the product's features, a tool's own event, or housekeeping."""
    if event in HOUSEKEEPING:
        return "housekeeping"
    if event in TOOL_EVENTS or _TOOL_PREFIX.match(event):
        return "tool"
    return "feature"


def plain_name(event: str) -> str:
    """The name people read: a tool's event in plain words, a feature as the product names it.

    >>> plain_name("$mp_web_page_view"), plain_name("$heatmap_click"), plain_name("[Amplitude] Cart Opened")
    ('Page viewed', 'Heatmap click', 'Cart Opened')
    """
    if event in TOOL_EVENTS:
        return TOOL_EVENTS[event][0]
    if event in HOUSEKEEPING:
        return HOUSEKEEPING[event]
    found = _TOOL_PREFIX.match(event)
    if not found or len(event) == found.end():
        return event
    rest = event[found.end():]
    if found.group(1) == "$":
        rest = rest.replace("_", " ").strip()
        return rest[:1].upper() + rest[1:]
    return rest


def tool_of(event: str) -> str | None:
    """The tool that names an event this way, when it is known (``$pageview`` -> PostHog)."""
    if event in TOOL_EVENTS:
        return TOOL_EVENTS[event][1]
    found = _TOOL_PREFIX.match(event)
    return found.group(1)[1:-2] if found and found.group(1) != "$" else None


def shown_names(events: list[str]) -> dict[str, str]:
    """``{event: name shown}`` where two events would read the same ("Page viewed" from PostHog and Mixpanel),
    each gets its tool, else its own name, in brackets.

    >>> shown_names(["$pageview", "$mp_web_page_view", "$autocapture"])
    {'$pageview': 'Page viewed (PostHog)', '$mp_web_page_view': 'Page viewed (Mixpanel)', \
'$autocapture': 'Clicked or typed (autocapture)'}
    """
    names = {e: plain_name(e) for e in events}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {e: (f"{n} ({tool_of(e) or e})" if counts[n] > 1 else n) for e, n in names.items()}
