"""The choices and defaults the command line and the pages offer for the KPI functions' parameters.

They live here, below the modules that compute with them, so that offering them (``python -m kpis --help``, a
command's arguments) never loads the computation itself.
"""

from __future__ import annotations

#: How a user counts as retained in period k of the cohort, by the mode's name (in the CLI and the page's URL).
RETENTION_MODES = {"n-day": "returned in the period", "unbounded": "returned in the period or later"}
#: The retention mode shown when none is asked for.
DEFAULT_RETENTION_MODE = "n-day"
#: A funnel's conversion window when none is chosen, in days.
DEFAULT_WINDOW_DAYS = 7
#: The fewest eligible new users an event must have in their first week to be listed by the feature impact.
IMPACT_MIN_USERS = 20
#: The longest annotation, in characters (after stripping spaces): a line on a chart, not an essay.
MAX_NOTE_TEXT = 500
