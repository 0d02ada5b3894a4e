-- Which event names each site has sent, kept up to date by a materialized view, so the query API
-- can tell a custom event name from a typo without scanning the events table.
CREATE TABLE IF NOT EXISTS event_names
(
    site      LowCardinality(String),
    name      LowCardinality(String),
    events    SimpleAggregateFunction(sum, UInt64),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (site, name);

CREATE MATERIALIZED VIEW IF NOT EXISTS event_names_mv TO event_names AS
SELECT site, name, count() AS events, max(ts) AS last_seen
FROM events
GROUP BY site, name;

-- Events stored before this migration.
INSERT INTO event_names SELECT site, name, count(), max(ts) FROM events GROUP BY site, name;
