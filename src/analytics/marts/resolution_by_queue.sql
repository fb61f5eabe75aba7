-- The resolution figures per queue (the queue a conversation is in now), as
-- analytics/metrics.sql defines them.
SELECT key AS queue, * EXCLUDE (key, total) FROM resolution(NULL, NULL, 'queue') WHERE NOT total
