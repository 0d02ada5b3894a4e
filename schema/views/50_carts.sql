-- Carts: a visitor's cart runs from the first add_to_cart after their previous purchase up to and
-- including the next purchase (which closes it). One row per cart that had at least one add_to_cart,
-- with its current contents (added minus removed quantities per item, at the latest added price),
-- value, currency, last activity, last step reached and the purchase that followed, if any.
-- The source is the entry source of the session (gap_s rule) in which the cart's first event happened.
-- Parameters: site ('' = every site), from, to (exclusive: the events read), gap_s, visitors (the
-- carts of these visitors only, [] = every visitor: the webhook scan asks for the few it needs),
-- active_from: the carts of visitors with a cart event (add_to_cart ... purchase) at or after it
-- only (pass `from` for every visitor's). A list of the carts active in a range reads `from` some
-- days earlier so that older carts are whole; active_from = the range's start then keeps the
-- visitors of those earlier days who did nothing in the range out of the computation.
CREATE OR REPLACE VIEW carts AS
WITH
    -- The events that open, change, advance or close a cart.
    ['add_to_cart', 'remove_from_cart', 'view_cart', 'begin_checkout', 'add_shipping_info', 'add_payment_info', 'purchase'] AS cart_event_names,
    active_visitors AS
    (
        SELECT DISTINCT visitor_id FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {active_from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND (empty({visitors:Array(UInt64)}) OR visitor_id IN {visitors:Array(UInt64)})
            AND name IN cart_event_names
    ),
    (
        SELECT groupUniqArray((source, medium, campaign)) FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND visitor_id IN (SELECT visitor_id FROM active_visitors)
    ) AS entry_values,
    arrayMap(e -> cityHash64(e.1, e.2, e.3), entry_values) AS entry_hashes,
    purchases AS
    (
        SELECT site, visitor_id, arraySort(groupArray(ts)) AS purchase_times
        FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND visitor_id IN (SELECT visitor_id FROM active_visitors)
            AND name = 'purchase'
        GROUP BY site, visitor_id
    ),
    heads AS
    (
        SELECT
            site,
            visitor_id,
            cart_no,
            minIf(ts, name != 'purchase') AS started_at,
            maxIf(ts, name != 'purchase') AS last_activity,
            arraySort(groupArrayIf(ts, name != 'purchase')) AS activity,
            max(multiIf(name = 'add_payment_info', 4, name = 'add_shipping_info', 3, name = 'begin_checkout', 2, name = 'purchase', 0, 1)) AS step_rank,
            argMaxIf(customer_id, ts, customer_id != '') AS cart_customer_id,
            argMaxIf(currency, ts, currency != '' AND name != 'purchase') AS cart_currency,
            countIf(name = 'purchase') > 0 AS purchased,
            minIf(ts, name = 'purchase') AS first_purchase_at,
            argMinIf(transaction_id, ts, name = 'purchase') AS order_transaction_id,
            argMinIf(value, ts, name = 'purchase') AS order_value,
            argMinIf(currency, ts, name = 'purchase') AS order_currency,
            -- Net quantity per item: (sorted item ids, added minus removed).
            sumMapIf((items.item_id, arrayMap(q -> if(name = 'add_to_cart', toInt64(q), -toInt64(q)), items.quantity)),
                name IN ('add_to_cart', 'remove_from_cart')) AS net,
            -- Every added line in time order, to look up each item's latest price and name.
            arrayFlatten(arrayMap(a -> arrayMap((id, price, item_name) -> (id, price, item_name), a.2, a.3, a.4),
                arraySort(a -> a.1, groupArrayIf((ts, items.item_id, items.price, items.item_name), name = 'add_to_cart')))) AS added_lines
        FROM
        (
            -- cart_no = how many purchases the visitor made before this event, so a purchase falls
            -- into the cart it closes and the next add_to_cart opens a new cart.
            SELECT e.site AS site, e.visitor_id AS visitor_id, e.ts AS ts, e.name AS name, e.customer_id AS customer_id,
                e.currency AS currency, e.transaction_id AS transaction_id, e.value AS value,
                e.`items.item_id` AS `items.item_id`, e.`items.item_name` AS `items.item_name`,
                e.`items.price` AS `items.price`, e.`items.quantity` AS `items.quantity`,
                arrayCount(t -> t < e.ts, p.purchase_times) AS cart_no
            FROM events AS e
            LEFT JOIN purchases AS p ON e.site = p.site AND e.visitor_id = p.visitor_id
            WHERE (e.site = {site:String} OR {site:String} = '') AND e.ts >= {from:DateTime64(3)} AND e.ts < {to:DateTime64(3)}
                AND e.visitor_id IN (SELECT visitor_id FROM active_visitors)
                AND e.name IN cart_event_names
        )
        GROUP BY site, visitor_id, cart_no
        HAVING countIf(name = 'add_to_cart') > 0
    ),
    cart_visitors AS
    (
        SELECT DISTINCT visitor_id FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND visitor_id IN (SELECT visitor_id FROM active_visitors)
            AND name = 'add_to_cart'
    ),
    session_entries AS
    (
        -- For visitors who added to a cart: the first second of each session (the gap rule of
        -- session_bounds) and its entry, from all their events. An event travels as one number,
        -- (milliseconds since `from` << 24) | entry code, the code indexing entry_values: a
        -- numeric sort is far cheaper than carrying strings.
        SELECT
            visitor_id,
            arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - toUnixTimestamp64Milli({from:DateTime64(3)})), 24)
                + transform(cityHash64(source, medium, campaign), entry_hashes, arrayEnumerate(entry_hashes), 0))) AS packed,
            arrayMap(p -> toUInt32(intDiv(bitShiftRight(p, 24) + toUnixTimestamp64Milli({from:DateTime64(3)}), 1000)), packed) AS secs,
            arrayMap((sec, prev) -> sec - prev > {gap_s:UInt32}, secs, arraySlice(arrayPushFront(secs, 0), 1, length(secs))) AS is_start,
            arrayFilter((sec, start) -> start, secs, is_start) AS starts,
            arrayFilter((p, start) -> start, arrayMap(p -> bitAnd(p, 16777215), packed), is_start) AS entry_codes
        FROM events
        WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
            AND (empty({visitors:Array(UInt64)}) OR visitor_id IN {visitors:Array(UInt64)})
            AND visitor_id IN (SELECT visitor_id FROM cart_visitors)
        GROUP BY visitor_id
    )
SELECT
    site,
    visitor_id,
    cart_no,
    started_at,
    last_activity,
    activity,
    ['', 'cart', 'checkout', 'shipping', 'payment'][step_rank + 1] AS last_step,
    cart_customer_id AS customer_id,
    arrayFilter((id, q) -> q > 0, net.1, net.2) AS item_ids,
    arrayMap(id -> arrayLast(l -> l.1 = id, added_lines).3, item_ids) AS item_names,
    arrayFilter(q -> q > 0, net.2) AS quantities,
    arrayMap(id -> arrayLast(l -> l.1 = id, added_lines).2, item_ids) AS prices,
    length(item_ids) AS item_lines,
    arraySum(quantities) AS item_count,
    arraySum((q, p) -> toDecimal64(q, 4) * p, quantities, prices) AS value,
    cart_currency AS currency,
    entry.1 AS source,
    entry.2 AS medium,
    entry.3 AS campaign,
    purchased,
    if(purchased, first_purchase_at, NULL) AS purchased_at,
    order_transaction_id AS transaction_id,
    order_value,
    order_currency
FROM
(
    -- The cart's session is the last one that started at or before the cart's first activity.
    SELECT h.*, entry_values[s.entry_codes[arrayLastIndex(x -> x <= toUInt32(toDateTime(h.started_at)), s.starts)]] AS entry
    FROM heads AS h
    LEFT JOIN session_entries AS s ON h.visitor_id = s.visitor_id
);
