"""Analytics: metric definitions over the store's data (exports and dashboards build on them)."""
