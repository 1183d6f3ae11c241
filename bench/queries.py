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
