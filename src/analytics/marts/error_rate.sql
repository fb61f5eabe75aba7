-- Deliveries per minute and provider: received, accepted, failed after acceptance, refused by
-- the ingress, and the error rate (failed + refused) / received (analytics/metrics.sql).
SELECT * FROM deliveries(NULL)
