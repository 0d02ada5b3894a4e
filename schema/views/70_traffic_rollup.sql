-- Keeps traffic_rollup current. The buckets from window_start on are recomputed from the sessions
-- and orders views (traffic_rollup_computed), reading one more day of events so sessions that began
-- before the window keep their entry. Keys that no longer occur (a late event moved a session's
-- start) are written again as zeros, so FINAL never shows a stale row; the newest computation of a
-- key wins. {{session_gap_s}} is the session gap, filled in by the migration runner from settings.
--
-- Two schedules, because a refresh costs about 2.4 us of CPU per event in its window
-- (bench/clickhouse_cost.md): every 5 minutes the last two days (today's events and the sessions
-- that cross midnight), and every hour the last 31 days (ingest accepts events up to 30 days old;
-- imports and late clients land there). Recomputing all 31 days every 5 minutes cost each event
-- about 8,900 refreshes (21 ms of CPU) over its life; these two about 1,500 (3.5 ms).
DROP VIEW IF EXISTS traffic_rollup_recent;

DROP VIEW IF EXISTS traffic_rollup_refresh;

CREATE OR REPLACE VIEW traffic_rollup_computed AS
WITH
    {window_start:DateTime('UTC')} AS window_start,
    fresh AS
    (
        SELECT
            site, bucket, source,
            uniqExactIfState(visitor_id, is_session) AS visitors,
            countIf(is_session) AS sessions,
            sum(page_views) AS page_views,
            sum(view_item) AS view_item,
            sum(add_to_cart) AS add_to_cart,
            sum(begin_checkout) AS begin_checkout,
            sum(purchase) AS purchase,
            countIf(NOT is_session) AS orders,
            sumMapIf(map(currency, order_value), NOT is_session) AS revenue
        FROM
        (
            SELECT site, toStartOfFifteenMinutes(started_at) AS bucket, source, visitor_id, true AS is_session,
                page_views, view_item, add_to_cart, begin_checkout, purchase, '' AS currency, toDecimal64(0, 4) AS order_value
            FROM sessions(site = '', from = window_start - toIntervalDay(1), to = now64(3, 'UTC') + toIntervalDay(1), gap_s = {{session_gap_s}})
            WHERE started_at >= window_start
            UNION ALL
            SELECT o.site, toStartOfFifteenMinutes(o.ts), s.source, o.visitor_id, false,
                0, 0, 0, 0, 0, o.currency, ifNull(o.value, toDecimal64(0, 4))
            FROM orders(site = '', from = window_start, to = now64(3, 'UTC') + toIntervalDay(1)) AS o
            ASOF LEFT JOIN
            (
                SELECT site, visitor_id, started_at, source
                FROM sessions(site = '', from = window_start - toIntervalDay(1), to = now64(3, 'UTC') + toIntervalDay(1), gap_s = {{session_gap_s}})
            ) AS s ON o.site = s.site AND o.visitor_id = s.visitor_id AND toDateTime(o.ts, 'UTC') >= s.started_at
        )
        GROUP BY site, bucket, source
    ),
    known AS
    (
        SELECT DISTINCT site, bucket, source FROM traffic_rollup WHERE bucket >= window_start
    )
SELECT
    if(f.site != '', f.site, k.site) AS site,
    if(f.site != '', f.bucket, k.bucket) AS bucket,
    if(f.site != '', f.source, k.source) AS source,
    f.visitors AS visitors,
    f.sessions AS sessions,
    f.page_views AS page_views,
    f.view_item AS view_item,
    f.add_to_cart AS add_to_cart,
    f.begin_checkout AS begin_checkout,
    f.purchase AS purchase,
    f.orders AS orders,
    f.revenue AS revenue,
    now64(3, 'UTC') AS computed_at
FROM fresh AS f
FULL OUTER JOIN known AS k ON f.site = k.site AND f.bucket = k.bucket AND f.source = k.source
SETTINGS join_use_nulls = 0;

CREATE MATERIALIZED VIEW traffic_rollup_recent
REFRESH EVERY 5 MINUTE APPEND TO traffic_rollup AS
SELECT * FROM traffic_rollup_computed(window_start = toStartOfDay(now('UTC')) - toIntervalDay(1));

CREATE MATERIALIZED VIEW traffic_rollup_refresh
REFRESH EVERY 1 HOUR APPEND TO traffic_rollup AS
SELECT * FROM traffic_rollup_computed(window_start = toStartOfDay(now('UTC')) - toIntervalDay(31));


-- Daily traffic per site and entry source, days in the given time zone (pass the site's).
-- Parameters: site, from, to (dates, to exclusive), timezone.
CREATE OR REPLACE VIEW daily_traffic AS
SELECT
    site,
    toDate(bucket, {timezone:String}) AS day,
    source,
    uniqExactMerge(visitors) AS visitors,
    sum(sessions) AS sessions,
    sum(page_views) AS page_views,
    sum(view_item) AS view_item,
    sum(add_to_cart) AS add_to_cart,
    sum(begin_checkout) AS begin_checkout,
    sum(purchase) AS purchase,
    sum(orders) AS orders,
    sumMap(revenue) AS revenue
FROM traffic_rollup FINAL
WHERE site = {site:String}
    AND bucket >= toDateTime({from:Date}, {timezone:String}) AND bucket < toDateTime({to:Date}, {timezone:String})
GROUP BY site, day, source;
