-- Every resolution figure over all conversations, in one row (`switchboard metrics --json`
-- prints exactly this row). The formulas are in analytics/metrics.sql.
SELECT * EXCLUDE (key, total) FROM resolution(NULL, NULL, NULL) WHERE total
