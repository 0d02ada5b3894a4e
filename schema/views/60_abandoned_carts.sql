-- Carts with their outcome as of the time `at`, from one computation of the carts view: the owner's
-- page lists abandoned and recovered carts of the same range, and the carts are the dearest part of
-- both (tracker/queries/page_carts.py reads this once for the page). Parameters: those of carts,
-- plus idle_s and at.
--   abandoned: items and no purchase for more than idle_s seconds after the last activity.
--   recovered: items, idle for more than idle_s seconds (between two cart events, or between the
--     last one and the purchase), and purchased afterwards. abandoned_at is the cart's last activity
--     before that first long pause; time_to_recover_s runs from there to the purchase. notified_at
--     is when a webhook first delivered the cart's notice (docs/webhooks.md; NULL if none did),
--     matched by site, visitor and the cart's first activity; after_notice is 1 when the purchase
--     came after that delivery.
CREATE OR REPLACE VIEW cart_outcomes AS
SELECT
    c.*,
    {at:DateTime64(3)} AS evaluated_at,
    NOT c.purchased AND c.item_count > 0
        AND toUnixTimestamp64Milli({at:DateTime64(3)}) - toUnixTimestamp64Milli(c.last_activity) > toInt64({idle_s:UInt32}) * 1000 AS abandoned,
    arrayConcat(c.activity, [assumeNotNull(c.purchased_at)]) AS timeline,
    arrayFirstIndex((t, next) -> toUnixTimestamp64Milli(next) - toUnixTimestamp64Milli(t) > toInt64({idle_s:UInt32}) * 1000,
        arrayPopBack(timeline), arrayPopFront(timeline)) AS pause_index,
    c.purchased AND c.item_count > 0 AND pause_index > 0 AS recovered,
    timeline[pause_index] AS abandoned_at,
    (toUnixTimestamp64Milli(assumeNotNull(c.purchased_at)) - toUnixTimestamp64Milli(abandoned_at)) / 1000 AS time_to_recover_s,
    n.notified_at AS notified_at,
    ifNull(n.notified_at < c.purchased_at, 0) AS after_notice
FROM carts(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32}, visitors = {visitors:Array(UInt64)},
           active_from = {active_from:DateTime64(3)}) AS c
LEFT JOIN
(
    SELECT site, visitor_id, cart_started_at, min(toNullable(at)) AS notified_at
    FROM webhook_outbox
    WHERE kind = 'delivered' AND (site = {site:String} OR {site:String} = '')
        AND cart_started_at >= {from:DateTime64(3)} AND cart_started_at < {to:DateTime64(3)}
    GROUP BY site, visitor_id, cart_started_at
) AS n ON c.site = n.site AND c.visitor_id = n.visitor_id AND c.started_at = n.cart_started_at;

-- Abandoned carts (see cart_outcomes): the carts view's columns and evaluated_at.
CREATE OR REPLACE VIEW abandoned_carts AS
SELECT * EXCEPT (abandoned, timeline, pause_index, recovered, abandoned_at, time_to_recover_s, notified_at, after_notice)
FROM cart_outcomes(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32},
                   idle_s = {idle_s:UInt32}, at = {at:DateTime64(3)}, visitors = {visitors:Array(UInt64)}, active_from = {active_from:DateTime64(3)})
WHERE abandoned;

-- Recovered carts (see cart_outcomes): the carts view's columns and the recovery's.
CREATE OR REPLACE VIEW recovered_carts AS
SELECT * EXCEPT (evaluated_at, abandoned, recovered)
FROM cart_outcomes(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32},
                   idle_s = {idle_s:UInt32}, at = {at:DateTime64(3)}, visitors = {visitors:Array(UInt64)}, active_from = {active_from:DateTime64(3)})
WHERE recovered;
