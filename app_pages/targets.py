"""Targets: actuals against the plan (coming next)."""

from __future__ import annotations

from app_pages import components

components.coming_next("Targets", "Coming next: each target from your targets file against the actual value, with "
                       "attainment and status (on track, at risk, off track; projected for a period still running).")
