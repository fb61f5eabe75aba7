-- The resolution figures per day the conversations opened, for trends, as
-- analytics/metrics.sql defines them (the Resolution page's per-day chart).
SELECT * FROM resolution_daily(NULL, NULL)
