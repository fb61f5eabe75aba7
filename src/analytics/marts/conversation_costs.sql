-- What each conversation cost: the sum over its interactions (analytics/metrics.sql), with its
-- queue, channel, agent and outcome for breaking it down.
SELECT
    c.conversation_id,
    c.queue,
    c.channel,
    c.agent,
    c.resolved_by,
    count(i.interaction_id) AS interactions,
    coalesce(sum(i.cost), 0) AS cost
FROM conversations AS c LEFT JOIN interactions AS i USING (conversation_id)
GROUP BY ALL
ORDER BY c.conversation_id
