-- Processing latency (receipt → persisted) per minute received: the interactions and their
-- p50/p95/p99 in milliseconds, as analytics/metrics.sql defines them (the Overview's chart).
SELECT minute, interactions, p50_ms, p95_ms, p99_ms
FROM latency(NULL, NULL, true, false)
WHERE NOT total
