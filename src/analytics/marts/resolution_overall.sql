-- Every resolution figure over all conversations, and the deliveries' totals with their error
-- rate, in one row (`switchboard metrics --json` prints exactly this row). The formulas are in
-- analytics/metrics.sql.
SELECT r.* EXCLUDE (key, total), d.*
FROM resolution(NULL, NULL, NULL) AS r, delivery_totals(NULL) AS d
WHERE r.total
