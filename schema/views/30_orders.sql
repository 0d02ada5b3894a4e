-- Orders: purchase events, one per transaction id (a resent purchase with the same transaction id
-- counts once; purchases without one count each). Value and currency stay per order: revenue is
-- only ever summed per currency.
-- Parameters: site ('' = every site), from, to (exclusive).
CREATE OR REPLACE VIEW orders AS
SELECT
    site,
    visitor_id,
    ts,
    transaction_id,
    value,
    currency,
    customer_id,
    length(items.item_id) AS item_lines
FROM events
WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
    AND name = 'purchase'
ORDER BY site, ts
LIMIT 1 BY site, if(transaction_id = '', toString(event_id), transaction_id);
