-- Interactions received per minute, by channel.
SELECT
    date_trunc('minute', received_at) AS minute,
    channel,
    count(*) AS interactions
FROM interactions
GROUP BY ALL
ORDER BY minute, channel
