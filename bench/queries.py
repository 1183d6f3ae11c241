"""The hand-written reference queries the benchmarks compare us with (what someone would write by hand)."""

from __future__ import annotations

REFERENCE_SQL = {
    "dau": "SELECT CAST(ts AS DATE) AS day, count(DISTINCT user_id) AS dau FROM events GROUP BY 1 ORDER BY 1",
    # the straightforward rolling MAU: every day joined with its 30-day window
    "mau": """WITH ud AS (SELECT DISTINCT user_id, CAST(ts AS DATE) AS day FROM events),
              days AS (SELECT DISTINCT day FROM ud)
              SELECT days.day, count(DISTINCT ud.user_id) FROM days JOIN ud
              ON ud.day BETWEEN days.day - 29 AND days.day GROUP BY 1 ORDER BY 1""",
    "cohorts": """WITH ud AS (SELECT DISTINCT user_id, date_trunc('month', ts) AS m FROM events),
                  f AS (SELECT user_id, min(m) AS c FROM ud GROUP BY 1)
                  SELECT f.c, datediff('month', f.c, ud.m) AS k, count(*) FROM ud JOIN f USING (user_id)
                  GROUP BY 1, 2 ORDER BY 1, 2""",
    # the lifecycle at month grain: each user's active months, joined with the month before and the month after
    "lifecycle": """WITH a AS (SELECT DISTINCT user_id, CAST(date_trunc('month', ts) AS DATE) AS m FROM events),
                    f AS (SELECT user_id, min(m) AS fm FROM a GROUP BY 1),
                    here AS (SELECT a.m, count(*) FILTER (WHERE f.fm = a.m) AS new,
                                    count(b.user_id) AS back,
                                    count(*) FILTER (WHERE b.user_id IS NULL AND f.fm < a.m) AS resurrected
                             FROM a JOIN f USING (user_id)
                             LEFT JOIN a b ON b.user_id = a.user_id AND b.m = a.m - INTERVAL 1 MONTH GROUP BY 1),
                    gone AS (SELECT CAST(a.m + INTERVAL 1 MONTH AS DATE) AS m, count(*) AS dormant FROM a
                             LEFT JOIN a n ON n.user_id = a.user_id AND n.m = a.m + INTERVAL 1 MONTH
                             WHERE n.user_id IS NULL GROUP BY 1)
                    SELECT m, new, back, resurrected, -coalesce(dormant, 0)
                    FROM here FULL JOIN gone USING (m) ORDER BY m""",
    # a three-step funnel (FUNNEL_STEPS) with a 7-day window: each step the first next event within the window
    "funnel": """WITH s1 AS (SELECT user_id, min(ts) AS t1 FROM events WHERE event = '$pageview' GROUP BY 1),
                 s2 AS (SELECT s1.user_id, s1.t1, min(e.ts) AS t2 FROM s1 JOIN events e
                        ON e.user_id = s1.user_id AND e.event = 'dashboard_viewed' AND e.ts >= s1.t1
                        AND e.ts <= s1.t1 + INTERVAL 7 DAY GROUP BY 1, 2),
                 s3 AS (SELECT s2.user_id, s2.t2, min(e.ts) AS t3 FROM s2 JOIN events e
                        ON e.user_id = s2.user_id AND e.event = 'report_created' AND e.ts >= s2.t2
                        AND e.ts <= s2.t1 + INTERVAL 7 DAY GROUP BY 1, 2)
                 SELECT (SELECT count(*) FROM s1), count(*), (SELECT median(t2 - t1) FROM s2), median(t3 - t2)
                 FROM s3""",
    # MRR alone at week grain: each week's end joined with the subscriptions paying on it
    "mrr": """WITH paid AS (
                  SELECT customer_id, greatest(CAST(started_at AS DATE),
                         coalesce(CAST(trial_end AS DATE), CAST(started_at AS DATE))) AS s,
                         CAST(ended_at AS DATE) AS e,
                         amount * quantity * (CASE "interval" WHEN 'month' THEN 1 WHEN 'year' THEN 1 / 12
                             WHEN 'week' THEN 52 / 12 ELSE 365 / 12 END) / interval_count AS m
                  FROM subscriptions WHERE status NOT IN ('incomplete', 'incomplete_expired')),
              weeks AS (SELECT CAST(d AS DATE) + 6 AS d
                        FROM range(DATE '2023-10-30', DATE '2026-11-30', INTERVAL 7 DAY) t(d))
              SELECT weeks.d, sum(m) FROM weeks JOIN paid ON s <= weeks.d AND (e IS NULL OR weeks.d < e)
              GROUP BY 1 ORDER BY 1""",
}

#: The funnel of the bench: three events of the demo generator, in the order a new user meets them.
FUNNEL_STEPS = "$pageview,dashboard_viewed,report_created"

SUBSCRIPTIONS_SQL = """COPY (
    SELECT 's' || i AS subscription_id, 'c' || (i % {customers}) AS customer_id, 'Plan' AS plan,
           CAST(10 + (hash(i) % 50) * 10 AS DOUBLE) AS amount, 1 + (hash(i * 7) % 5) AS quantity,
           'usd' AS currency, (['month', 'month', 'month', 'year', 'week'])[1 + CAST(hash(i * 3) % 5 AS INT)]
               AS "interval",
           1 AS interval_count, 'active' AS status,
           DATE '2023-11-01' + CAST(hash(i * 11) % 1000 AS INT) AS started_at,
           NULL AS trial_end, NULL AS canceled_at,
           CASE WHEN hash(i * 13) % 3 = 0 THEN DATE '2023-11-01' + CAST(1000 + hash(i * 17) % 100 AS INT) END
               AS ended_at
    FROM range({n}) t(i)) TO '{path}' (HEADER)"""

#: The bench's events with an account id: each user of ``{source}`` in one of the customers of
#: :data:`SUBSCRIPTIONS_SQL` (``c0`` .. ``c{customers - 1}``), chosen by a hash of the user id.
ACCOUNT_EVENTS_SQL = """COPY (
    SELECT user_id, event, timestamp, 'c' || (hash(user_id) % {customers}) AS account_id
    FROM read_csv('{source}', all_varchar = true)) TO '{path}' (HEADER)"""

#: The plain tables the account references read: ``events(user_id, account_id, ts)`` and ``subscriptions`` as
#: :data:`SUBSCRIPTIONS_SQL` writes it.
ACCOUNT_TABLES_SQL = """
    CREATE TABLE events AS SELECT user_id, account_id, CAST("timestamp" AS TIMESTAMP) AS ts
        FROM read_csv('{events}', all_varchar = true);
    CREATE TABLE subscriptions AS SELECT * FROM read_csv('{subscriptions}')"""

# The account KPIs written straightforwardly: each user's customer is the account of their latest event; a customer
# pays on day d from its start to its end; its active users on d are the distinct users active in d-27 .. d (before:
# d-55 .. d-28); it is at risk on d when it pays and they fell to 0 from above 0, or by 30% or more from at least 3.
_ACCOUNT_DAYS = """
    ud AS (SELECT DISTINCT user_id, CAST(ts AS DATE) AS day FROM events),
    linked AS (SELECT user_id, arg_max(account_id, ts) AS customer_id FROM events
               WHERE account_id IS NOT NULL GROUP BY 1),
    paid AS (SELECT customer_id, CAST(started_at AS DATE) AS s, CAST(ended_at AS DATE) AS e,
                    amount * quantity * (CASE "interval" WHEN 'month' THEN 1 WHEN 'year' THEN 1 / 12
                        WHEN 'week' THEN 52 / 12 ELSE 365 / 12 END) / interval_count AS m
             FROM subscriptions),
    paying AS (SELECT days.d, customer_id, sum(m) AS mrr FROM days
               JOIN paid ON s <= days.d AND (e IS NULL OR days.d < e) GROUP BY 1, 2),
    active AS (SELECT days.d, linked.customer_id,
                      count(DISTINCT ud.user_id) FILTER (WHERE ud.day > days.d - 28) AS now,
                      count(DISTINCT ud.user_id) FILTER (WHERE ud.day <= days.d - 28) AS before
               FROM days JOIN ud ON ud.day BETWEEN days.d - 55 AND days.d JOIN linked USING (user_id)
               GROUP BY 1, 2),
    counted AS (SELECT d, customer_id, mrr, coalesce(now, 0) AS now, coalesce(before, 0) AS before
                FROM paying LEFT JOIN active USING (d, customer_id)),
    flagged AS (SELECT *, (now = 0 AND before > 0) OR (before >= 3 AND 10 * now <= 7 * before) AS at_risk
                FROM counted)"""

REFERENCE_SQL |= {
    # mrr_at_risk at week grain: from the first event day's week to the last event day (a partial last week)
    "mrr_at_risk": f"""WITH bounds AS (SELECT min(CAST(ts AS DATE)) AS first, max(CAST(ts AS DATE)) AS last
                                       FROM events),
                            days AS (SELECT CAST(w AS DATE) AS w, least(CAST(w AS DATE) + 6, last) AS d
                                     FROM bounds, range(date_trunc('week', first), last + 1, INTERVAL 7 DAY) t(w)),
                            {_ACCOUNT_DAYS}
                       SELECT days.w, coalesce(sum(mrr) FILTER (WHERE at_risk), 0)
                       FROM days LEFT JOIN flagged USING (d) GROUP BY 1 ORDER BY 1""",
    # the accounts on the last event day: the paying customers with a user seen by then, largest MRR first
    "accounts": f"""WITH days AS (SELECT max(CAST(ts AS DATE)) AS d FROM events), {_ACCOUNT_DAYS}
                    SELECT customer_id, mrr, now, before, at_risk FROM flagged
                    WHERE customer_id IN (SELECT customer_id FROM linked) ORDER BY mrr DESC, customer_id""",
}
