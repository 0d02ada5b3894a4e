-- Purchase events alone, with the columns an order needs, kept by a materialized view: the
-- cohorts read a site's whole order history (a customer's cohort is their first order ever
-- stored), and purchases are a small share of all events. Same partitioning and retention as
-- `events` (tracker/clickhouse/migrate.py set_retention moves both), so the first order stored is
-- the same here as there; a person's deletion removes their rows from both (tracker/queries/privacy.py).
CREATE TABLE IF NOT EXISTS purchases
(
    site           LowCardinality(String),
    ts             DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    event_id       UUID,
    visitor_id     UInt64,
    customer_id    String CODEC(ZSTD(1)),
    transaction_id String CODEC(ZSTD(1)),
    value          Nullable(Decimal64(4)),
    currency       LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site, ts)
TTL toDateTime(ts) + INTERVAL 730 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS purchases_mv TO purchases AS
SELECT site, ts, event_id, visitor_id, customer_id, transaction_id, value, currency
FROM events
WHERE name = 'purchase';

-- Purchases stored before this migration. One inserted meanwhile may be here twice: every reader
-- keeps one row per transaction id (or event id), as the orders view does.
INSERT INTO purchases SELECT site, ts, event_id, visitor_id, customer_id, transaction_id, value, currency
FROM events WHERE name = 'purchase';
