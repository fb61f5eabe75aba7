-- Raw events per minute and provider, and how many failed to process (archived with a reason).
SELECT
    minute,
    provider,
    sum(events) AS events,
    coalesce(sum(events) FILTER (WHERE failed), 0) AS failed,
    coalesce(sum(events) FILTER (WHERE failed), 0) / sum(events) AS error_rate
FROM raw_event_counts
GROUP BY ALL
ORDER BY minute, provider
