-- Traffic per site, 15-minute bucket (UTC) and session entry source, for fast dashboards. Buckets of
-- 15 minutes add up to whole days in any time zone (every UTC offset is a multiple of 15 minutes),
-- so each site's days follow its own time zone (view daily_traffic).
-- Filled by the refreshable materialized view traffic_rollup_refresh (schema/views), which recomputes
-- the recent buckets; the newest computation of a key wins (ReplacingMergeTree on computed_at).
-- Sessions, visitors and page views count in the bucket where the session started; orders and
-- revenue (per currency) in the bucket of the order, under the source of the session it belongs to.
CREATE TABLE IF NOT EXISTS traffic_rollup
(
    site           LowCardinality(String),
    bucket         DateTime('UTC'),
    source         LowCardinality(String),
    visitors       AggregateFunction(uniqExact, UInt64),
    sessions       UInt64,
    page_views     UInt64,
    view_item      UInt64,
    add_to_cart    UInt64,
    begin_checkout UInt64,
    purchase       UInt64,
    orders         UInt64,
    revenue        Map(LowCardinality(String), Decimal64(4)),
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(bucket)
ORDER BY (site, bucket, source);
