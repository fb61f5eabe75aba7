-- Every resolution figure over all conversations, the deliveries' totals with their error
-- rate, and today's cost (UTC) with the cost per conversation an agent resolved, in one row
-- (`switchboard metrics --json` prints exactly this row). The formulas are in
-- analytics/metrics.sql.
SELECT r.* EXCLUDE (key, total), d.*, c.*
FROM resolution(NULL, NULL, NULL) AS r, delivery_totals(NULL) AS d,
    cost_totals(utc_day(now())) AS c
WHERE r.total
