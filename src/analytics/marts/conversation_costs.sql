-- What each conversation cost (the `cost` of the `conversations` dataset: the sum over its
-- interactions, analytics/costs.py), with when it opened, its queue, channel, agent and outcome
-- for breaking it down (the Resolution page's cost by queue), and how many interactions it had.
SELECT
    c.conversation_id,
    c.opened_at,
    c.queue,
    c.channel,
    c.agent,
    c.resolved_by,
    count(i.interaction_id) AS interactions,
    any_value(c.cost) AS cost
FROM conversations AS c LEFT JOIN interactions AS i USING (conversation_id)
GROUP BY c.conversation_id, c.opened_at, c.queue, c.channel, c.agent, c.resolved_by
ORDER BY c.conversation_id
