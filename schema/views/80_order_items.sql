-- Order items: one row per item line of an order, for product figures. The orders are those of the
-- `orders` view (30_orders.sql), by the same rule: one purchase per transaction id, the earliest
-- (purchases without one count each); a test checks both views see the same orders. Line revenue
-- is price x quantity in the order's currency (shipping and tax in the order's value are not an
-- item's). Parameters: site ('' = every site), from, to (exclusive).
CREATE OR REPLACE VIEW order_items AS
SELECT
    site,
    visitor_id,
    ts,
    order_key,
    customer_id,
    currency,
    item_id,
    item_name,
    price,
    quantity,
    price * quantity AS revenue
FROM
(
    SELECT site, visitor_id, ts, if(transaction_id = '', toString(event_id), transaction_id) AS order_key, customer_id, currency,
        items.item_id, items.item_name, items.price, items.quantity
    FROM events
    WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
        AND name = 'purchase'
    ORDER BY site, ts
    LIMIT 1 BY site, order_key
)
ARRAY JOIN
    `items.item_id` AS item_id,
    `items.item_name` AS item_name,
    `items.price` AS price,
    `items.quantity` AS quantity;
