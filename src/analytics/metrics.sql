-- The resolution metrics, each defined once. Every mart, `switchboard metrics` and the
-- dashboards compute them through these macros over the `conversations` dataset (one row per
-- conversation, see analytics/resolution.py). Rates count only the conversations whose outcome
-- is decided: a NULL is left out, never counted as a failure.

-- Share of the decided rows for which `flag` holds.
CREATE OR REPLACE MACRO decided_share(flag) AS avg(CAST(flag AS DOUBLE));

-- Conversations an agent resolved on first contact, over those whose FCR is decided.
CREATE OR REPLACE MACRO fcr_rate(fcr) AS decided_share(fcr);

-- Each rate is `decided_share` of a flag per conversation: NULL where the conversation is not
-- counted, true where it meets the figure. The drill-down lists (`behind`, below) select the
-- same flags, so a figure and the conversations listed behind it agree by construction.

-- Reopened, counted over the conversations ever resolved (by an agent or automatically).
CREATE OR REPLACE MACRO reopen_flag(reopened, resolved_by) AS
    CASE WHEN reopened OR resolved_by IS NOT NULL THEN reopened END;

-- Closed by the inactivity window with no agent reply, counted over those closed now.
CREATE OR REPLACE MACRO unanswered_flag(answered, resolved_by) AS
    CASE WHEN resolved_by IS NOT NULL THEN resolved_by = 'auto' AND NOT answered END;

-- Conversations reopened, over the conversations ever resolved (by an agent or automatically).
CREATE OR REPLACE MACRO reopen_rate(reopened, resolved_by) AS
    decided_share(reopen_flag(reopened, resolved_by));

-- Conversations closed by the inactivity window with no agent reply, over those closed now.
CREATE OR REPLACE MACRO unanswered_rate(answered, resolved_by) AS
    decided_share(unanswered_flag(answered, resolved_by));

-- An SLA target met, over the conversations whose outcome for it is decided: `sla_attained`
-- (first response: answered or breached), `next_response_attained` (a next response met or
-- breached), `resolution_attained` (resolved by an agent or breached).
CREATE OR REPLACE MACRO sla_attainment(attained) AS decided_share(attained);

-- Mean CSAT (1-5) over the conversations the customer scored.
CREATE OR REPLACE MACRO csat_mean(score) AS avg(score);

-- Whether a conversation is among those a figure counts: opened since `since` (NULL: ever)
-- on one of `channels` (NULL: any).
CREATE OR REPLACE MACRO opened_in(opened_at, channel, since, channels) AS
    (since IS NULL OR opened_at >= since)
    AND (channels IS NULL OR list_contains(channels, channel));

-- A conversation's group by `grouping_by`: its queue ('unknown': none), its agent (NULL:
-- never assigned) or the disposition it was resolved with.
CREATE OR REPLACE MACRO group_key(grouping_by, queue, agent, disposition) AS
    CASE grouping_by
        WHEN 'queue' THEN coalesce(queue, 'unknown')
        WHEN 'agent' THEN agent
        WHEN 'disposition' THEN disposition
    END;

-- Every figure of the conversations opened since `since` (NULL: all) on `channels` (NULL:
-- all), grouped by `grouping_by` ('queue', 'agent', 'disposition' or NULL), plus one row for
-- all of them (`total`), even when there are none.
CREATE OR REPLACE MACRO resolution(since, channels, grouping_by) AS TABLE
SELECT
    group_key(grouping_by, queue, agent, disposition) AS key,
    grouping(key) = 1 AS total,
    count(*) AS conversations,
    count(*) FILTER (WHERE answered) AS answered,
    count(*) FILTER (WHERE resolved_by = 'agent') AS resolved_by_agent,
    count(*) FILTER (WHERE resolved_by = 'auto') AS resolved_auto,
    count(*) FILTER (WHERE resolved_by = 'auto' AND NOT answered) AS unanswered,
    avg(first_response_s) AS first_response_mean_s,
    median(first_response_s) AS first_response_median_s,
    avg(resolution_s) AS resolution_mean_s,
    median(resolution_s) AS resolution_median_s,
    avg(resolution_business_s) AS resolution_business_mean_s,
    fcr_rate(fcr) AS fcr_rate,
    reopen_rate(reopened, resolved_by) AS reopen_rate,
    unanswered_rate(answered, resolved_by) AS unanswered_rate,
    sla_attainment(sla_attained) AS sla_attainment,
    sla_attainment(next_response_attained) AS next_response_attainment,
    sla_attainment(resolution_attained) AS resolution_attainment,
    avg(time_in_queue_s) AS time_in_queue_mean_s,
    avg(handle_time_s) AS handle_time_mean_s,
    CAST(coalesce(sum(transfers), 0) AS BIGINT) AS transfers,
    count(csat_score) AS csat_responses,
    csat_mean(csat_score) AS csat_mean
FROM conversations
WHERE opened_in(opened_at, channel, since, channels)
GROUP BY GROUPING SETS ((key), ())
ORDER BY total, key NULLS LAST;

-- The conversations behind one figure of `resolution(since, channels, grouping_by)`: in the
-- group `key` (when grouping; a NULL key is the group of no agent), those the figure counts,
-- `met` saying whether each meets it. `figure` is a column of `resolution`: `conversations`
-- (all of them, `met` true), `fcr_rate`, `reopen_rate`, `unanswered_rate`, `sla_attainment`,
-- `next_response_attainment`, `resolution_attainment`. So `count(*)` is the figure's
-- denominator and `avg(met)` the figure.
CREATE OR REPLACE MACRO behind(since, channels, grouping_by, key, figure) AS TABLE
SELECT * FROM (
    SELECT *,
        CASE figure
            WHEN 'conversations' THEN true
            WHEN 'fcr_rate' THEN fcr
            WHEN 'reopen_rate' THEN reopen_flag(reopened, resolved_by)
            WHEN 'unanswered_rate' THEN unanswered_flag(answered, resolved_by)
            WHEN 'sla_attainment' THEN sla_attained
            WHEN 'next_response_attainment' THEN next_response_attained
            WHEN 'resolution_attainment' THEN resolution_attained
        END AS met
    FROM conversations
    WHERE opened_in(opened_at, channel, since, channels)
        AND (grouping_by IS NULL OR group_key(grouping_by, queue, agent, disposition) IS NOT DISTINCT FROM key)
)
WHERE met IS NOT NULL
ORDER BY opened_at DESC, conversation_id;

-- The same figures per day the conversations opened since `since` (NULL: ever) on `channels`
-- (NULL: any), for trends.
CREATE OR REPLACE MACRO resolution_daily(since, channels) AS TABLE
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
WHERE opened_in(opened_at, channel, since, channels)
GROUP BY ALL
ORDER BY day;

-- Processing latency: receipt → persisted, the time from the ingress accepting a webhook to
-- the store committing its interaction. Per interaction it is the `latency_ms` column of the
-- `interactions` dataset (`persisted_at` - `received_at`, written by the export:
-- analytics/export/staging.py); its figures are these percentiles (interpolated), over the
-- interactions received since `since` (NULL: ever) on `channels` (NULL: any).

-- Whether an interaction is among those a latency figure counts.
CREATE OR REPLACE MACRO received_in(received_at, channel, since, channels) AS
    opened_in(received_at, channel, since, channels);

-- The interactions, their p50, p95 and p99 latency in milliseconds, per minute received
-- (`per_minute`) and/or channel (`per_channel`), plus one row for all of them (`total`), even
-- when there are none.
CREATE OR REPLACE MACRO latency(since, channels, per_minute, per_channel) AS TABLE
SELECT
    minute,
    channel,
    grouping(minute) = 1 AS total,
    count(*) AS interactions,
    quantile_cont(latency_ms, 0.50) AS p50_ms,
    quantile_cont(latency_ms, 0.95) AS p95_ms,
    quantile_cont(latency_ms, 0.99) AS p99_ms
FROM (
    SELECT
        CASE WHEN per_minute THEN date_trunc('minute', received_at) END AS minute,
        CASE WHEN per_channel THEN channel END AS channel,
        latency_ms
    FROM interactions
    WHERE received_in(received_at, channel, since, channels)
)
GROUP BY GROUPING SETS ((minute, channel), ())
ORDER BY total, minute, channel;

-- Deliveries: the webhook requests providers sent. `raw_event_counts` counts the accepted ones
-- (one per event: a SendGrid batch is one per event in it) and those of them that failed to
-- process; `refused_deliveries` the ones the ingress answered with an error (signature, stale,
-- too large, malformed, auth, unavailable...). Received = accepted + refused.

-- Deliveries that came to nothing, refused at the door or failed after acceptance, over every
-- delivery received.
CREATE OR REPLACE MACRO error_rate(failed, refused, received) AS
    (failed + refused) / nullif(received, 0);

-- Per minute and provider since `since` (NULL: all): deliveries received, accepted, failed,
-- refused, and their error rate.
CREATE OR REPLACE MACRO deliveries(since) AS TABLE
WITH a AS (
    SELECT minute, provider, sum(events) AS accepted,
        coalesce(sum(events) FILTER (WHERE failed), 0) AS failed
    FROM raw_event_counts
    WHERE since IS NULL OR minute >= since
    GROUP BY ALL
), r AS (
    SELECT minute, provider, sum(refused) AS refused
    FROM refused_deliveries
    WHERE since IS NULL OR minute >= since
    GROUP BY ALL
), counted AS (
    SELECT minute, provider, coalesce(accepted, 0) AS accepted, coalesce(failed, 0) AS failed,
        coalesce(refused, 0) AS refused
    FROM a FULL JOIN r USING (minute, provider)
)
SELECT minute, provider, accepted + refused AS received, accepted, failed, refused,
    error_rate(failed, refused, accepted + refused) AS error_rate
FROM counted
ORDER BY minute, provider;

-- The same over the whole range since `since`, in one row (zeros when nothing came).
CREATE OR REPLACE MACRO delivery_totals(since) AS TABLE
SELECT
    CAST(coalesce(sum(received), 0) AS BIGINT) AS received,
    CAST(coalesce(sum(accepted), 0) AS BIGINT) AS accepted,
    CAST(coalesce(sum(failed), 0) AS BIGINT) AS failed,
    CAST(coalesce(sum(refused), 0) AS BIGINT) AS refused,
    error_rate(coalesce(sum(failed), 0), coalesce(sum(refused), 0), coalesce(sum(received), 0))
        AS error_rate
FROM deliveries(since);

-- Cost: what interactions cost (the `cost` of the `interactions` dataset: the provider's price
-- when it reported one, else the routing rules' rate card; see switchboard/costs.py).

-- The UTC day of a timestamp: the day costs are counted on.
CREATE OR REPLACE MACRO utc_day(ts) AS CAST(timezone('UTC', ts) AS DATE);

-- In one row: the cost of the interactions of the UTC day `day`, and the cost of the
-- conversations an agent resolved (all their interactions) over how many they are.
CREATE OR REPLACE MACRO cost_totals(day) AS TABLE
SELECT
    (SELECT coalesce(sum(cost), 0) FROM interactions WHERE utc_day(occurred_at) = day)
        AS cost_today,
    (
        SELECT coalesce(sum(i.cost), 0)
        FROM interactions AS i JOIN conversations AS c USING (conversation_id)
        WHERE c.resolved_by = 'agent'
    ) / nullif((SELECT count(*) FROM conversations WHERE resolved_by = 'agent'), 0)
        AS cost_per_resolved_conversation;
