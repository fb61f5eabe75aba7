-- Receipt → persisted latency percentiles per minute and channel, in milliseconds.
SELECT
    date_trunc('minute', received_at) AS minute,
    channel,
    count(*) AS interactions,
    quantile_cont(latency_ms, 0.50) AS p50_ms,
    quantile_cont(latency_ms, 0.95) AS p95_ms,
    quantile_cont(latency_ms, 0.99) AS p99_ms
FROM interactions
GROUP BY ALL
ORDER BY minute, channel
