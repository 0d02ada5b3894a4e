-- Keeps kept_sessions (migration 0120) current, and reads it. {{session_gap_s}} is the session gap,
-- filled in by the migration runner from settings.
--
-- The refresh, every minute: the visitors touched since the last completed refresh (all visitors
-- when there is none within a day, or none for this gap) get every session of theirs computed
-- again from all their events (session_bounds over the whole history, for these visitors only),
-- and each of their kept sessions that is gone is overwritten by a deletion. Its version is the
-- refresh's start, or the start of the oldest insert still running then if earlier: such an
-- insert's events may be invisible to this refresh, and its visitors are touched at or after its
-- start, so the next refresh takes them again.
DROP VIEW IF EXISTS kept_sessions_state_refresh;

DROP VIEW IF EXISTS kept_sessions_refresh;

CREATE MATERIALIZED VIEW kept_sessions_refresh
REFRESH EVERY 1 MINUTE APPEND TO kept_sessions AS
WITH
    (SELECT max(snapshot) FROM kept_sessions_state WHERE gap_s = {{session_gap_s}}) AS since,
    since <= now64(3, 'UTC') - toIntervalDay(1) AS rebuild,
    least(now64(3, 'UTC'), ifNull((SELECT minOrNull(now64(3, 'UTC') - toIntervalMillisecond(toUInt64(elapsed * 1000)))
                                   FROM system.processes WHERE query_kind = 'Insert'), now64(3, 'UTC'))) AS new_version,
    touched AS
    (
        SELECT DISTINCT site, visitor_id FROM events WHERE rebuild
        UNION DISTINCT
        SELECT DISTINCT site, visitor_id FROM touched_visitors WHERE NOT rebuild AND inserted_at >= since
    ),
    fresh AS MATERIALIZED
    (
        SELECT site, visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase
        FROM session_bounds(site = '', from = toDateTime64(0, 3, 'UTC'), to = toDateTime64('2200-01-01 00:00:00', 3, 'UTC'),
                            gap_s = {{session_gap_s}})
        WHERE (site, visitor_id) IN (SELECT site, visitor_id FROM touched)
    )
SELECT site, visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase,
    new_version AS version, 0 AS is_deleted
FROM fresh
UNION ALL
SELECT site, visitor_id, started_at, started_at, 0, 0, 0, 0, 0, 0, 0, new_version, 1
FROM kept_sessions FINAL
WHERE (site, visitor_id) IN (SELECT site, visitor_id FROM touched)
    AND (site, visitor_id, started_at) NOT IN (SELECT site, visitor_id, started_at FROM fresh)
SETTINGS enable_materialized_cte = 1;

-- After each refresh: its snapshot (the newest version kept), for the readers and the next refresh.
CREATE MATERIALIZED VIEW kept_sessions_state_refresh
REFRESH EVERY 1 MINUTE DEPENDS ON kept_sessions_refresh APPEND TO kept_sessions_state AS
SELECT max(version) AS snapshot, {{session_gap_s}} AS gap_s, max(duration_s) AS max_duration_s
FROM kept_sessions
HAVING count() > 0;

-- session_bounds' sessions (without session_no) from kept_sessions where it is current, and
-- computed from the events where it may not be. Parameters: site, from, to (exclusive), gap_s.
-- A kept session is read when its whole span lies in [from, to) (in whole seconds, so the same
-- sessions as session_bounds' split of the range) and its visitor was not touched since the
-- snapshot. Computed as session_bounds computes them: the sessions of visitors touched since,
-- or with a kept session that crosses either end of the range (session_bounds cuts those at the
-- range), and every session when no refresh for this gap completed within a day.
CREATE OR REPLACE VIEW kept_session_bounds AS
WITH
    (SELECT max(snapshot) FROM kept_sessions_state WHERE gap_s = {gap_s:UInt32}) AS since,
    (SELECT max(max_duration_s) FROM kept_sessions_state WHERE gap_s = {gap_s:UInt32}) AS longest_s,
    since > now64(3, 'UTC') - toIntervalDay(1) AS current,
    toUnixTimestamp64Milli({from:DateTime64(3)}) AS from_ms,
    toUnixTimestamp64Milli({to:DateTime64(3)}) AS to_ms,
    touched AS
    (
        SELECT DISTINCT visitor_id FROM touched_visitors WHERE inserted_at >= since AND site = {site:String}
    ),
    -- Not read FINAL: a stale row can only add a visitor, whose sessions are then computed.
    crossing AS
    (
        SELECT DISTINCT visitor_id FROM kept_sessions
        WHERE site = {site:String}
            AND started_at >= toDateTime(intDiv(from_ms, 1000) - longest_s - 1, 'UTC') AND toInt64(toUInt32(started_at)) * 1000 < to_ms
            AND NOT (toInt64(toUInt32(started_at)) * 1000 >= from_ms AND (toInt64(toUInt32(ended_at)) + 1) * 1000 <= to_ms)
            AND (toInt64(toUInt32(ended_at)) + 1) * 1000 > from_ms
    )
SELECT site, visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase
FROM kept_sessions FINAL
WHERE current AND site = {site:String}
    AND started_at >= toDateTime(intDiv(from_ms, 1000), 'UTC') AND started_at < toDateTime(intDiv(to_ms, 1000) + 1, 'UTC')
    AND toInt64(toUInt32(started_at)) * 1000 >= from_ms AND (toInt64(toUInt32(ended_at)) + 1) * 1000 <= to_ms
    AND visitor_id NOT IN touched AND visitor_id NOT IN crossing
UNION ALL
SELECT site, visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase
FROM session_bounds(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32})
WHERE NOT current OR visitor_id IN touched OR visitor_id IN crossing;
