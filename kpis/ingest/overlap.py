"""Events that two tools recorded both: a company that moved from Mixpanel to Amplitude to PostHog and uploads
all three exports. Each tool gives its events its own ids, so nothing de-duplicates them, and every product KPI
would count that activity two or three times.

Two event sets overlap when the same users, on the same days, did the same things about as often: for each
user, day and event (a tool's own events by their plain name, so PostHog's ``$pageview`` meets Mixpanel's
``$mp_web_page_view``), the smaller of the two counts is shared. The overlap of a file with an earlier import
is the shared part as a share of the file's events. The data page says so before and after an import, and the
setting ``event_sources`` (:mod:`kpis.store.settings`) decides which source counts where they overlap. Never imports
streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from kpis.ingest.event_names import TOOL_EVENTS
from kpis.ingest.sources.detect import label_of
from kpis.store.db import first
from kpis.store.derived import day_sql

#: From this share of a file's events matched by another source's import on, the overlap is reported.
REPORTED_SHARE = 0.5
#: Where each source of events comes from, as the messages name it.
TOOLS = {"posthog_events": "PostHog", "amplitude_events": "Amplitude", "mixpanel_events": "Mixpanel",
         "events_csv": "an events CSV"}


@dataclass(frozen=True)
class Overlap:
    """An earlier import from another source that holds much of the same activity."""

    import_id: int
    source: str
    filename: str
    share: float

    @property
    def tool(self) -> str:
        """The tool the other import's events come from: "PostHog"."""
        return TOOLS.get(self.source, label_of(self.source))

    def describe(self) -> str:
        """``these events overlap 97% with import 3 from PostHog (ph.csv)``."""
        return f"these events overlap {self.share:.0%} with import {self.import_id} from {self.tool} ({self.filename})"


def _name_key(column: str) -> str:
    """An event name for matching across tools: a tool's own event by its plain name, others in lower case."""
    return f"coalesce($plain[list_position($tool_events, {column})], lower({column}))"


def overlaps(cur: duckdb.DuckDBPyConnection, fresh: str, source: str, tz: str, *,
             exclude: int | None = None) -> list[Overlap]:
    """The live imports of other sources that share at least :data:`REPORTED_SHARE` of the events of ``fresh``
    (a table expression with ``user_id``, ``event``, ``ts``), largest share first. ``exclude``: an import not
    to compare with (the one that brought ``fresh``; ``fresh`` may name it as ``$exclude``)."""
    params: dict[str, object] = {
        "source": source, "exclude": exclude, "tool_events": list(TOOL_EVENTS),
        "plain": [plain.lower() for plain, _ in TOOL_EVENTS.values()]}
    if tz != "UTC":
        params["tz"] = tz
    others = first(cur.execute("""SELECT count(*) FROM imports WHERE status = 'ok' AND source <> $source
        AND import_id IS DISTINCT FROM $exclude AND kinds = 'events'""", {"source": source, "exclude": exclude}))
    if not others or not others[0]:
        return []
    rows = cur.execute(f"""
        WITH fresh AS (
            SELECT user_id, {day_sql(tz, 'ts')} AS day, {_name_key('event')} AS name, count(*) AS n
            FROM {fresh} f WHERE user_id IS NOT NULL AND event IS NOT NULL AND ts IS NOT NULL GROUP BY ALL),
        span AS (SELECT min(day) - 1 AS lo, max(day) + 2 AS hi FROM fresh),
        theirs AS (
            SELECT import_id, user_id, event, ts FROM events
            UNION ALL SELECT import_id, user_id, event, ts FROM event_claims),
        other AS (
            SELECT t.import_id, t.user_id, {day_sql(tz, 't.ts')} AS day, {_name_key('t.event')} AS name,
                   count(*) AS n
            FROM theirs t JOIN imports i ON i.import_id = t.import_id, span
            WHERE i.status = 'ok' AND i.source <> $source AND t.import_id IS DISTINCT FROM $exclude
              AND t.ts >= span.lo AND t.ts < span.hi
            GROUP BY ALL)
        SELECT o.import_id, any_value(i.source), any_value(i.filename), sum(least(f.n, o.n)) AS shared,
               (SELECT sum(n) FROM fresh) AS total
        FROM fresh f JOIN other o ON o.user_id = f.user_id AND o.day = f.day AND o.name = f.name
        JOIN imports i ON i.import_id = o.import_id
        GROUP BY o.import_id ORDER BY shared DESC, o.import_id""", params).fetchall()
    found = [Overlap(int(i), str(src), str(name), float(shared) / float(total))
             for i, src, name, shared, total in rows if total]
    return [o for o in found if o.share >= REPORTED_SHARE]


def import_overlaps(cur: duckdb.DuckDBPyConnection, import_id: int, source: str, tz: str) -> list[Overlap]:
    """:func:`overlaps` of what import ``import_id`` brought (the events it stored and those it claimed)."""
    fresh = """(SELECT user_id, event, ts FROM events WHERE import_id = $exclude
                UNION ALL SELECT user_id, event, ts FROM event_claims WHERE import_id = $exclude)"""
    return overlaps(cur, fresh, source, tz, exclude=import_id)
