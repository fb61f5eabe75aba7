-- Every resolution figure over all conversations, the deliveries' totals with their error
-- rate, today's cost (UTC) with the cost per conversation an agent resolved, and the
-- interactions' processing latency, in one row (`switchboard metrics --json` prints exactly
-- this row). The formulas are in analytics/metrics.sql.
SELECT
    r.* EXCLUDE (key, total),
    d.*,
    c.*,
    l.interactions,
    l.p50_ms AS latency_p50_ms,
    l.p95_ms AS latency_p95_ms,
    l.p99_ms AS latency_p99_ms
FROM resolution(NULL, NULL, NULL) AS r, delivery_totals(NULL) AS d,
    cost_totals(utc_day(now())) AS c, latency(NULL, NULL, false, false) AS l
WHERE r.total AND l.total
