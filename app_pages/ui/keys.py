"""Every name that reaches the browser, defined once: the page files (and so their URLs) and the URL's query keys.

The filters, the page choices, the return link after sign-in and the share link all read their keys here.
"""

from __future__ import annotations

from kpis.metrics.retention import MODES

DATA_PAGE = "app_pages/data.py"
OVERVIEW_PAGE = "app_pages/overview.py"
REVENUE_PAGE = "app_pages/revenue.py"
CUSTOMERS_PAGE = "app_pages/customers.py"
ENGAGEMENT_PAGE = "app_pages/engagement.py"
RETENTION_PAGE = "app_pages/retention.py"
TARGETS_PAGE = "app_pages/targets.py"
REVIEW_PAGE = "app_pages/review.py"
ACCOUNTS_PAGE = "app_pages/accounts.py"

#: The shared filters' query keys (bound to the sidebar's widgets, which take the same names as their keys).
GRAIN, START, END, COMPARE, SEGMENT = "grain", "start", "end", "compare", "segment"
FILTER_KEYS = (GRAIN, START, END, COMPARE, SEGMENT)
#: The Retention page's mode (bound to its widget).
RETENTION_MODE = "retention_mode"
#: The Retention page's segment: the sidebar's (``segment`` in the URL), chosen on the page too.
RETENTION_SEGMENT = "retention_segment"
#: Page settings that live in the URL too (bound by their page's widget), with the values they may take.
PAGE_KEYS = {RETENTION_MODE: tuple(MODES)}
#: The Revenue page's period to explain, the Customers page's period of who moved, the Retention page's cohorts.
BRIDGE, MOVED, COHORTS = "bridge", "moved", "cohorts"
#: The Revenue page's breakdown (``?by=plan``, ``?by=country``): none, plan or a customer attribute.
BREAKDOWN = "by"
#: Page choices in the URL that are periods (ISO dates), and how many values each may hold.
PAGE_DATES = {BRIDGE: 1, MOVED: 1, COHORTS: 8}
#: The Engagement page's funnel: its steps (event names, in order) and its conversion window in days.
FUNNEL, FUNNEL_WINDOW = "funnel", "funnel_window"
#: The Accounts page's plan (``?plan=pro``) and the one account looked at (``?account=cus_123``).
ACCOUNT_PLAN, ACCOUNT = "plan", "account"
#: Page choices in the URL that are names or numbers, checked by the page that draws them.
PAGE_CHOICES = (FUNNEL, FUNNEL_WINDOW, ACCOUNT_PLAN, ACCOUNT)
#: The URL value of a page choice left empty on purpose.
NONE = "none"
#: Every query key a link may carry.
QUERY_KEYS = frozenset((*FILTER_KEYS, *PAGE_KEYS, *PAGE_DATES, *PAGE_CHOICES, BREAKDOWN))
