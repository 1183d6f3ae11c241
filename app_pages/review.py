"""Review: the periodic business review (coming next)."""

from __future__ import annotations

from app_pages import components

components.coming_next("Review", "Coming next: a one-page review of the last complete period (what moved, why, "
                       "and against which target), ready to share with the leadership team.")
