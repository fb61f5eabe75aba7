-- First response, resolution, first-contact resolution and SLA attainment per queue, over the
-- conversations whose outcome is decided (as `switchboard metrics` defines them).
SELECT
    coalesce(queue, 'unknown') AS queue,
    count(*) AS conversations,
    avg(first_response_s) AS first_response_mean_s,
    median(first_response_s) AS first_response_median_s,
    avg(resolution_s) AS resolution_mean_s,
    avg(resolution_business_s) AS resolution_business_mean_s,
    avg(CAST(fcr AS DOUBLE)) AS fcr_rate,
    avg(CAST(reopened AS DOUBLE)) AS reopen_rate,
    avg(CAST(sla_attained AS DOUBLE)) AS sla_attainment
FROM conversations
GROUP BY ALL
ORDER BY queue
