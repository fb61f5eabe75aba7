-- What the interactions cost per UTC day and channel (analytics/metrics.sql), with how many
-- there were and how many have no cost known yet (a call whose duration is not reported).
SELECT
    utc_day(occurred_at) AS day,
    channel,
    count(*) AS interactions,
    coalesce(sum(cost), 0) AS cost,
    count(*) FILTER (WHERE cost IS NULL) AS unpriced
FROM interactions
GROUP BY ALL
ORDER BY day, channel
