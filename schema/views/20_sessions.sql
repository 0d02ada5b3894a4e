-- Sessions with their entry: where the visit came from (source, medium, UTM campaign, term and
-- content, referrer), its landing path and the device, taken from the session's first event, and
-- its exit path, the last event's. Of events in the same millisecond, the first is the one with
-- the smallest entry values (in the order of the columns below) and the last the largest.
-- Split like session_bounds (more than gap_s seconds without an event); one row per session.
-- Parameters: site ('' = every site), from, to (exclusive), gap_s; sessions_of_visitors also
-- visitors (the sessions of these visitors only, [] = every visitor: what `sessions` gives).
CREATE OR REPLACE VIEW sessions_of_visitors AS
WITH
    -- Every distinct entry a session could have in the range. Each event then carries only a small
    -- code into this list next to its time, so one numeric sort per visitor finds every session's
    -- first event (carrying the strings themselves through the sort is several times slower).
    -- Sorted, so that codes sort as the values do.
    (
        SELECT arraySort(groupUniqArray((path, source, medium, campaign, utm_term, utm_content, referrer_host, device, browser, os)))
        FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND (empty({visitors:Array(UInt64)}) OR visitor_id IN {visitors:Array(UInt64)})
    ) AS entry_values,
    arrayMap(e -> cityHash64(e), entry_values) AS entry_hashes
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
    countEqual(codes, 5) AS purchase,
    entry_values[bitAnd(first_event, 16777215)] AS entry,
    entry.1 AS entry_path,
    entry.2 AS source,
    entry.3 AS medium,
    entry.4 AS campaign,
    entry.5 AS utm_term,
    entry.6 AS utm_content,
    entry.7 AS referrer_host,
    entry.8 AS device,
    entry.9 AS browser,
    entry.10 AS os,
    entry_values[bitAnd(last_event, 16777215)].1 AS exit_path
FROM
(
    SELECT
        site,
        visitor_id,
        -- As in session_bounds: (second << 8) | event code, sorted.
        arraySort(groupArray(bitShiftLeft(toUInt64(toUInt32(toDateTime(ts))), 8) + multiIf(
            name = 'page_view', 1, name = 'view_item', 2, name = 'add_to_cart', 3,
            name = 'begin_checkout', 4, name = 'purchase', 5, 0))) AS packed,
        -- (milliseconds since `from` << 24) | entry code, sorted: each session's first event.
        arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - toUnixTimestamp64Milli({from:DateTime64(3)})), 24)
            + transform(cityHash64((path, source, medium, campaign, utm_term, utm_content, referrer_host, device, browser, os)),
                entry_hashes, arrayEnumerate(entry_hashes), 0))) AS by_time,
        arrayMap(p -> toUInt32(bitShiftRight(p, 8)), packed) AS all_secs,
        arrayMap(p -> toUInt8(bitAnd(p, 255)), packed) AS all_codes,
        arrayMap((s, prev) -> s - prev > {gap_s:UInt32}, all_secs, arrayPushFront(arrayPopBack(all_secs), 0)) AS starts
    FROM events
    WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
        AND (empty({visitors:Array(UInt64)}) OR visitor_id IN {visitors:Array(UInt64)})
    GROUP BY site, visitor_id
)
ARRAY JOIN
    arraySplit((s, start) -> start, all_secs, starts) AS secs,
    arraySplit((c, start) -> start, all_codes, starts) AS codes,
    -- Sorting by millisecond or by second puts the same events in each second, and sessions split
    -- only between seconds, so the n-th session starts (and ends) at the same index in both arrays.
    arrayFilter((p, start) -> start, by_time, starts) AS first_event,
    arrayFilter((p, next_starts) -> next_starts, by_time, arrayPushBack(arrayPopFront(starts), 1)) AS last_event,
    arrayEnumerate(arraySplit((s, start) -> start, all_secs, starts)) AS session_no;

CREATE OR REPLACE VIEW sessions AS
SELECT *
FROM sessions_of_visitors(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32},
                          visitors = CAST([] AS Array(UInt64)));
