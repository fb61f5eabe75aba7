-- The same outcomes per day the conversation opened, for trends (analytics/metrics.sql).
SELECT
    CAST(opened_at AS DATE) AS day,
    count(*) AS conversations,
    avg(first_response_s) AS first_response_mean_s,
    avg(resolution_s) AS resolution_mean_s,
    fcr_rate(fcr) AS fcr_rate,
    unanswered_rate(answered, resolved_by) AS unanswered_rate,
    sla_attainment(sla_attained) AS sla_attainment,
    sla_attainment(next_response_attained) AS next_response_attainment,
    sla_attainment(resolution_attained) AS resolution_attainment
FROM conversations
GROUP BY ALL
ORDER BY day
