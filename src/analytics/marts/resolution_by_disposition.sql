-- The resolution figures per disposition of the agent's last resolution (NULL: none given,
-- or not resolved by an agent), as analytics/metrics.sql defines them.
SELECT key AS disposition, * EXCLUDE (key, total)
FROM resolution(NULL, NULL, 'disposition')
WHERE NOT total
