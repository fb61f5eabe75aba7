-- Per day and provider: archived raw events against the interactions they made. Events beyond
-- one per interaction are status callbacks and follow-ups merged into a stored message;
-- redeliveries of the same event never reach the store (the ingress answers them from Temporal).
WITH events AS (
    SELECT CAST(minute AS DATE) AS day, provider, sum(events) AS events
    FROM raw_event_counts WHERE NOT failed GROUP BY ALL
), made AS (
    SELECT CAST(received_at AS DATE) AS day, provider, count(*) AS interactions
    FROM interactions WHERE direction = 'inbound' OR delivery_status IS NOT NULL GROUP BY ALL
)
SELECT
    events.day,
    events.provider,
    events.events,
    coalesce(made.interactions, 0) AS interactions,
    greatest(events.events - coalesce(made.interactions, 0), 0) / events.events AS merged_rate
FROM events LEFT JOIN made USING (day, provider)
ORDER BY day, provider
