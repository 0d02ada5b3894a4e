-- Orders as the `orders` view counts them (one per transaction id; purchases without one count
-- each), read from the `purchases` table (migration 0090) instead of all events, with the customer
-- they belong to: the order's customer_id, or for orders without one its visitor id.
-- Parameters: site, from, to (exclusive).
CREATE OR REPLACE VIEW customer_orders AS
SELECT
    site,
    if(customer_id != '', customer_id, concat('visitor:', toString(visitor_id))) AS who,
    visitor_id,
    ts,
    transaction_id,
    value,
    currency,
    customer_id
FROM purchases
WHERE site = {site:String} AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
ORDER BY site, ts
LIMIT 1 BY site, if(transaction_id = '', toString(event_id), transaction_id);
