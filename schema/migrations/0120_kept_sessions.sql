-- Sessions kept in a table, so the panels that count sessions read one row per session instead of
-- splitting every visitor's events again at each request (schema/views/25_kept_sessions.sql keeps
-- them current and reads them; docs/queries.md, "Kept sessions").
--
-- touched_visitors: which visitors an insert brought events for, and when. A materialized view
-- writes one row per (site, visitor) of every block inserted into events; inserted_at is the time
-- the insert ran (not the events' time: a late or imported event touches an old session).
-- ORDER BY inserted_at: "who was touched since T" reads the newest rows only. Three days are kept:
-- the readers trust the kept sessions only while they were refreshed within the last day.
CREATE TABLE IF NOT EXISTS touched_visitors
(
    site        LowCardinality(String),
    visitor_id  UInt64,
    inserted_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toDate(inserted_at)
ORDER BY (inserted_at, site, visitor_id)
TTL toDateTime(inserted_at) + INTERVAL 3 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS touched_visitors_mv TO touched_visitors AS
SELECT DISTINCT site, visitor_id, now64(3, 'UTC') AS inserted_at
FROM events;

-- kept_sessions: a visitor's whole sessions, one row each, with the columns of the sessions view
-- (split as it and session_bounds split them), as of `version` (the refresh that wrote it). A refresh rewrites every session of the
-- visitors touched since the previous one, and writes is_deleted = 1 over a session that no
-- longer exists (a late event joined two, or moved a start); the newest version of a key wins.
CREATE TABLE IF NOT EXISTS kept_sessions
(
    site           LowCardinality(String),
    visitor_id     UInt64,
    started_at     DateTime('UTC'),
    ended_at       DateTime('UTC'),
    duration_s     UInt32,
    events         UInt32,
    page_views     UInt32,
    view_item      UInt32,
    add_to_cart    UInt32,
    begin_checkout UInt32,
    purchase       UInt32,
    entry_path     String CODEC(ZSTD(1)),
    source         String CODEC(ZSTD(1)),
    medium         String CODEC(ZSTD(1)),
    campaign       String CODEC(ZSTD(1)),
    utm_term       String CODEC(ZSTD(1)),
    utm_content    String CODEC(ZSTD(1)),
    referrer_host  String CODEC(ZSTD(1)),
    device         String CODEC(ZSTD(1)),
    browser        String CODEC(ZSTD(1)),
    os             String CODEC(ZSTD(1)),
    exit_path      String CODEC(ZSTD(1)),
    version        DateTime64(3, 'UTC'),
    is_deleted     UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(started_at)
ORDER BY (site, toDate(started_at), visitor_id, started_at)
TTL started_at + INTERVAL 730 DAY;

-- kept_sessions_state: one row per completed refresh. snapshot: every event inserted before it is
-- in kept_sessions; gap_s: the session gap the sessions were split with; max_duration_s: the
-- longest kept session, which bounds how far before a range a session crossing its start began.
CREATE TABLE IF NOT EXISTS kept_sessions_state
(
    snapshot       DateTime64(3, 'UTC'),
    gap_s          UInt32,
    max_duration_s UInt32
)
ENGINE = MergeTree
ORDER BY snapshot
TTL toDateTime(snapshot) + INTERVAL 3 DAY;
