-- Keeps kept_sessions (migration 0120) current, and reads it. {{session_gap_s}} is the session gap,
-- filled in by the migration runner from settings.
--
-- The refresh, every minute: the visitors touched since the last completed refresh (all visitors
-- when there is none within a day, or none for this gap) get every session of theirs computed
-- again from all their events (the sessions view over the whole history, for these visitors
-- only), and each of their kept sessions that is gone is overwritten by a deletion. Its version is
-- the refresh's start, or the start of the oldest insert still running then if earlier: such an
-- insert's events may be invisible to this refresh, and its visitors are touched at or after its
-- start, so the next refresh takes them again. Created EMPTY: the first run is at the next minute,
-- not at every start of the tracker (which creates the views again).
DROP VIEW IF EXISTS kept_sessions_state_refresh;

DROP VIEW IF EXISTS kept_sessions_refresh;

CREATE MATERIALIZED VIEW kept_sessions_refresh
REFRESH EVERY 1 MINUTE APPEND TO kept_sessions EMPTY AS
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
        SELECT * EXCEPT (session_no, entry)
        FROM sessions_of_visitors(site = '', from = toDateTime64(0, 3, 'UTC'), to = toDateTime64('2200-01-01 00:00:00', 3, 'UTC'),
                                  gap_s = {{session_gap_s}},
                                  visitors = if(rebuild, CAST([] AS Array(UInt64)), (SELECT groupArray(visitor_id) FROM touched)))
        WHERE (site, visitor_id) IN (SELECT site, visitor_id FROM touched)
    )
SELECT *, new_version AS version, 0 AS is_deleted
FROM fresh
UNION ALL
SELECT site, visitor_id, started_at, started_at, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '', '', '', '', '', '', '', new_version, 1
FROM kept_sessions FINAL
WHERE (site, visitor_id) IN (SELECT site, visitor_id FROM touched)
    AND (site, visitor_id, started_at) NOT IN (SELECT site, visitor_id, started_at FROM fresh)
SETTINGS enable_materialized_cte = 1;

-- After each refresh: its snapshot (the newest version kept), for the readers and the next refresh.
CREATE MATERIALIZED VIEW kept_sessions_state_refresh
REFRESH EVERY 1 MINUTE DEPENDS ON kept_sessions_refresh APPEND TO kept_sessions_state EMPTY AS
SELECT max(version) AS snapshot, {{session_gap_s}} AS gap_s, max(duration_s) AS max_duration_s
FROM kept_sessions
HAVING count() > 0;

-- Whether kept_sessions can be read for the session gap gap_s: one row, with the snapshot and the
-- longest kept session. `current` is false when no refresh for this gap completed within a day;
-- the readers below then compute every session from the events.
CREATE OR REPLACE VIEW kept_sessions_status AS
SELECT
    max(snapshot) AS since,
    max(max_duration_s) AS longest_s,
    since > now64(3, 'UTC') - toIntervalDay(1) AS current
FROM kept_sessions_state
WHERE gap_s = {gap_s:UInt32};

-- The visitors whose sessions in [from, to) must be computed from the events, not read from the
-- table: touched since the snapshot, or with a kept session crossing either end of the range (the
-- sessions views cut those at the range). Parameters: site, from, to (exclusive), gap_s.
CREATE OR REPLACE VIEW kept_sessions_recomputed AS
WITH
    (SELECT since FROM kept_sessions_status(gap_s = {gap_s:UInt32})) AS since,
    (SELECT longest_s FROM kept_sessions_status(gap_s = {gap_s:UInt32})) AS longest_s,
    toUnixTimestamp64Milli({from:DateTime64(3)}) AS from_ms,
    toUnixTimestamp64Milli({to:DateTime64(3)}) AS to_ms
SELECT visitor_id FROM touched_visitors WHERE inserted_at >= since AND site = {site:String}
UNION DISTINCT
-- Not read FINAL: a stale row can only add a visitor, whose sessions are then computed.
SELECT visitor_id FROM kept_sessions
WHERE site = {site:String}
    AND started_at >= toDateTime(intDiv(from_ms, 1000) - longest_s - 1, 'UTC') AND toInt64(toUInt32(started_at)) * 1000 < to_ms
    AND NOT (toInt64(toUInt32(started_at)) * 1000 >= from_ms AND (toInt64(toUInt32(ended_at)) + 1) * 1000 <= to_ms)
    AND (toInt64(toUInt32(ended_at)) + 1) * 1000 > from_ms;

-- The kept sessions that are the range's as they are: wholly inside [from, to) in whole seconds
-- (so the sessions views split the range's events into the same), of visitors not recomputed.
-- Empty when the table is not current. Parameters: site, from, to (exclusive), gap_s.
CREATE OR REPLACE VIEW kept_sessions_inside AS
WITH
    toUnixTimestamp64Milli({from:DateTime64(3)}) AS from_ms,
    toUnixTimestamp64Milli({to:DateTime64(3)}) AS to_ms
SELECT * EXCEPT (version, is_deleted)
FROM kept_sessions FINAL
WHERE (SELECT current FROM kept_sessions_status(gap_s = {gap_s:UInt32})) AND site = {site:String}
    AND started_at >= toDateTime(intDiv(from_ms, 1000), 'UTC') AND started_at < toDateTime(intDiv(to_ms, 1000) + 1, 'UTC')
    AND toInt64(toUInt32(started_at)) * 1000 >= from_ms AND (toInt64(toUInt32(ended_at)) + 1) * 1000 <= to_ms
    AND visitor_id NOT IN (SELECT visitor_id FROM kept_sessions_recomputed(site = {site:String}, from = {from:DateTime64(3)},
                                                                         to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32}));

-- session_bounds' sessions of the range (without session_no): the kept ones inside it, and the
-- others computed from the events (all of them when the table is not current).
CREATE OR REPLACE VIEW kept_session_bounds AS
SELECT site, visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase
FROM kept_sessions_inside(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32})
UNION ALL
SELECT site, visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase
FROM session_bounds(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32})
WHERE NOT (SELECT current FROM kept_sessions_status(gap_s = {gap_s:UInt32}))
    OR visitor_id IN (SELECT visitor_id FROM kept_sessions_recomputed(site = {site:String}, from = {from:DateTime64(3)},
                                                                    to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32}));

-- The sessions view's sessions of the range (without session_no and entry), the same way. Its
-- readers that have a cheaper computation of their own use it only when the table is current.
CREATE OR REPLACE VIEW kept_session_entries AS
WITH
    (SELECT current FROM kept_sessions_status(gap_s = {gap_s:UInt32})) AS current,
    (SELECT groupArray(visitor_id) FROM kept_sessions_recomputed(site = {site:String}, from = {from:DateTime64(3)},
                                                                 to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32})) AS recomputed
SELECT *
FROM kept_sessions_inside(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32})
UNION ALL
SELECT * EXCEPT (session_no, entry)
FROM sessions_of_visitors(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32},
                          -- [] would be every visitor: when none is recomputed, an id no visitor has (0) stands in.
                          visitors = if(current, arrayPushBack(recomputed, 0), CAST([] AS Array(UInt64))))
WHERE NOT current OR has(recomputed, visitor_id);
