-- One row per accepted event. Columns mirror tracker/events.py COLUMNS (a test checks).
-- Order key: per-site time ranges first, then per-visitor sequences inside a day, which is
-- what funnels (windowFunnel per visitor) and site dashboards read.
CREATE TABLE IF NOT EXISTS events
(
    site            LowCardinality(String),
    ts              DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at     DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    event_id        UUID,
    name            LowCardinality(String),
    visitor_id      UInt64,
    session_id      String CODEC(ZSTD(1)),
    customer_id     String CODEC(ZSTD(1)),
    url             String CODEC(ZSTD(1)),
    hostname        LowCardinality(String),
    path            String CODEC(ZSTD(1)),
    referrer        String CODEC(ZSTD(1)),
    referrer_host   LowCardinality(String),
    source          LowCardinality(String),
    medium          LowCardinality(String),
    campaign        String CODEC(ZSTD(1)),
    utm_term        String CODEC(ZSTD(1)),
    utm_content     String CODEC(ZSTD(1)),
    browser         LowCardinality(String),
    browser_version LowCardinality(String),
    os              LowCardinality(String),
    device          LowCardinality(String),
    props           Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    transaction_id  String CODEC(ZSTD(1)),
    value           Nullable(Decimal64(4)),
    currency        LowCardinality(String),
    items Nested
    (
        item_id       String,
        item_name     String,
        item_category String,
        price         Decimal64(4),
        quantity      UInt32
    )
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site, toDate(ts), visitor_id, ts)
TTL toDateTime(ts) + INTERVAL 730 DAY
-- Lets a retried insert with the same insert_deduplication_token (one per spool segment) be a no-op.
SETTINGS non_replicated_deduplication_window = 100000;
