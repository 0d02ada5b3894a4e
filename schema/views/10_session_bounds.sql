-- Sessions without their entry attributes (cheap): a visitor's events, in whole seconds, split
-- where more than gap_s seconds pass without an event. One row per session.
-- Parameters: site ('' = every site), from and to (event time, to exclusive), gap_s.
-- Sessions that began before `from` start at the first event on or after `from`.
CREATE OR REPLACE VIEW session_bounds AS
SELECT
    site,
    visitor_id,
    session_no,
    toDateTime(secs[1], 'UTC') AS started_at,
    toDateTime(secs[-1], 'UTC') AS ended_at,
    secs[-1] - secs[1] AS duration_s,
    length(secs) AS events,
    countEqual(codes, 1) AS page_views,
    countEqual(codes, 2) AS view_item,
    countEqual(codes, 3) AS add_to_cart,
    countEqual(codes, 4) AS begin_checkout,
    countEqual(codes, 5) AS purchase
FROM
(
    SELECT
        site,
        visitor_id,
        -- (second << 8) | code packs an event into one number: sorting numbers is much faster than tuples.
        arraySort(groupArray(bitShiftLeft(toUInt64(toUInt32(toDateTime(ts))), 8) + multiIf(
            name = 'page_view', 1, name = 'view_item', 2, name = 'add_to_cart', 3,
            name = 'begin_checkout', 4, name = 'purchase', 5, 0))) AS packed,
        arrayMap(p -> toUInt32(bitShiftRight(p, 8)), packed) AS all_secs,
        arrayMap(p -> toUInt8(bitAnd(p, 255)), packed) AS all_codes,
        arrayMap((s, prev) -> s - prev > {gap_s:UInt32}, all_secs, arrayPushFront(arrayPopBack(all_secs), 0)) AS starts
    FROM events
    WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
    GROUP BY site, visitor_id
)
ARRAY JOIN
    arraySplit((s, start) -> start, all_secs, starts) AS secs,
    arraySplit((c, start) -> start, all_codes, starts) AS codes,
    arrayEnumerate(arraySplit((s, start) -> start, all_secs, starts)) AS session_no;
