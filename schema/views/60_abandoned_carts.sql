-- Abandoned carts: carts with items and no purchase for more than idle_s seconds after their last
-- activity, as of the time `at`. Parameters: those of carts, plus idle_s and at.
CREATE OR REPLACE VIEW abandoned_carts AS
SELECT *, {at:DateTime64(3)} AS evaluated_at
FROM carts(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32}, visitors = {visitors:Array(UInt64)})
WHERE NOT purchased
    AND item_count > 0
    AND toUnixTimestamp64Milli({at:DateTime64(3)}) - toUnixTimestamp64Milli(last_activity) > toInt64({idle_s:UInt32}) * 1000;

-- Recovered carts: carts with items that sat idle for more than idle_s seconds (between two cart
-- events, or between the last one and the purchase) and were purchased afterwards.
-- abandoned_at is the cart's last activity before that first long pause; time_to_recover_s runs
-- from there to the purchase. notified_at is when a webhook first delivered the cart's notice
-- (docs/webhooks.md; NULL if none did), matched by site, visitor and the cart's first activity;
-- after_notice is 1 when the purchase came after that delivery. Parameters: those of carts, plus idle_s.
CREATE OR REPLACE VIEW recovered_carts AS
SELECT
    c.*,
    arrayConcat(c.activity, [assumeNotNull(c.purchased_at)]) AS timeline,
    arrayFirstIndex((t, next) -> toUnixTimestamp64Milli(next) - toUnixTimestamp64Milli(t) > toInt64({idle_s:UInt32}) * 1000,
        arrayPopBack(timeline), arrayPopFront(timeline)) AS pause_index,
    timeline[pause_index] AS abandoned_at,
    (toUnixTimestamp64Milli(assumeNotNull(c.purchased_at)) - toUnixTimestamp64Milli(abandoned_at)) / 1000 AS time_to_recover_s,
    n.notified_at AS notified_at,
    ifNull(n.notified_at < c.purchased_at, 0) AS after_notice
FROM carts(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = {gap_s:UInt32}, visitors = {visitors:Array(UInt64)}) AS c
LEFT JOIN
(
    SELECT site, visitor_id, cart_started_at, min(toNullable(at)) AS notified_at
    FROM webhook_outbox
    WHERE kind = 'delivered' AND (site = {site:String} OR {site:String} = '')
        AND cart_started_at >= {from:DateTime64(3)} AND cart_started_at < {to:DateTime64(3)}
    GROUP BY site, visitor_id, cart_started_at
) AS n ON c.site = n.site AND c.visitor_id = n.visitor_id AND c.started_at = n.cart_started_at
WHERE c.purchased AND c.item_count > 0 AND pause_index > 0;
