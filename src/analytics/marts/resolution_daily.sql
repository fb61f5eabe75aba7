-- The same outcomes per day the conversation opened, for trends.
SELECT
    CAST(opened_at AS DATE) AS day,
    count(*) AS conversations,
    avg(first_response_s) AS first_response_mean_s,
    avg(resolution_s) AS resolution_mean_s,
    avg(CAST(fcr AS DOUBLE)) AS fcr_rate,
    avg(CAST(sla_attained AS DOUBLE)) AS sla_attainment
FROM conversations
GROUP BY ALL
ORDER BY day
