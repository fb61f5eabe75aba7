-- The resolution figures per agent (the last one assigned; NULL: never assigned), as
-- analytics/metrics.sql defines them.
SELECT key AS agent, * EXCLUDE (key, total) FROM resolution(NULL, NULL, 'agent') WHERE NOT total
