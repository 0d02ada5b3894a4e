-- Sessions with their entry: where the visit came from (source, medium, UTM campaign, referrer),
-- its landing path and the device, taken from the session's first event.
-- Parameters as session_bounds: site ('' = every site), from, to (exclusive), gap_s.
CREATE OR REPLACE VIEW sessions AS
WITH
    bounds AS
    (
        SELECT * FROM session_bounds(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32})
    ),
    entries AS
    (
        -- Only the events at a session's first second are grouped (the IN set). The set leaves out
        -- site: visitor ids are per-site hashes, and a string in the set key makes it several times slower.
        SELECT
            site, visitor_id, toDateTime(ts, 'UTC') AS started_at,
            argMin((path, source, medium, campaign, utm_term, utm_content, referrer_host, device, browser, os), ts) AS entry
        FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND (visitor_id, started_at) IN (SELECT visitor_id, started_at FROM bounds)
        GROUP BY site, visitor_id, started_at
    )
SELECT
    b.site AS site,
    b.visitor_id AS visitor_id,
    b.session_no AS session_no,
    b.started_at AS started_at,
    b.ended_at AS ended_at,
    b.duration_s AS duration_s,
    b.events AS events,
    b.page_views AS page_views,
    b.view_item AS view_item,
    b.add_to_cart AS add_to_cart,
    b.begin_checkout AS begin_checkout,
    b.purchase AS purchase,
    e.entry.1 AS entry_path,
    e.entry.2 AS source,
    e.entry.3 AS medium,
    e.entry.4 AS campaign,
    e.entry.5 AS utm_term,
    e.entry.6 AS utm_content,
    e.entry.7 AS referrer_host,
    e.entry.8 AS device,
    e.entry.9 AS browser,
    e.entry.10 AS os
FROM bounds AS b
INNER JOIN entries AS e ON b.site = e.site AND b.visitor_id = e.visitor_id AND b.started_at = e.started_at;
