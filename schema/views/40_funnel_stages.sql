-- Stages of the default shop funnel reached by each unit (a session, or a visitor when gap_s = 0):
--   1 awareness (any event) -> 2 interest (view_item or select_item) -> 3 consideration (add_to_cart)
--   -> 4 intent (begin_checkout, add_shipping_info or add_payment_info) -> 5 purchase
--   -> 6 repurchase (the unit's second purchase), as tracker/queries/steps.py SHOP_FUNNEL,
-- each within window_s seconds of the first step, by ClickHouse's windowFunnel (whole seconds).
-- Parameters: site ('' = every site), from, to (exclusive), window_s, gap_s (0 = one unit per visitor).
-- The query API computes the same stages for the default funnel (a test checks they agree).
CREATE OR REPLACE VIEW funnel_stages AS
SELECT
    site,
    visitor_id,
    session_no,
    toDateTime(min(sec), 'UTC') AS first_seen,
    windowFunnel({window_s:UInt64})(
        toDateTime(sec, 'UTC'),
        true,
        code = 2,
        code = 3,
        code = 4,
        code = 5,
        code = 5 AND purchase_rank >= 2) AS stage_level,
    ['none', 'awareness', 'interest', 'consideration', 'intent', 'purchase', 'repurchase'][stage_level + 1] AS stage
FROM
(
    SELECT
        site,
        visitor_id,
        arraySort(groupArray(bitShiftLeft(toUInt64(toUInt32(toDateTime(ts))), 8) + multiIf(
            name IN ('view_item', 'select_item'), 2, name = 'add_to_cart', 3,
            name IN ('begin_checkout', 'add_shipping_info', 'add_payment_info'), 4, name = 'purchase', 5, 1))) AS packed,
        arrayMap(p -> toUInt32(bitShiftRight(p, 8)), packed) AS all_secs,
        arrayMap(p -> toUInt8(bitAnd(p, 255)), packed) AS all_codes,
        arrayMap((s, prev) -> {gap_s:UInt32} > 0 AND s - prev > {gap_s:UInt32}, all_secs, arrayPushFront(arrayPopBack(all_secs), 0)) AS starts,
        arrayCumSum(arrayMap((s, i) -> i = 1 OR s, starts, arrayEnumerate(starts))) AS unit_of_event
    FROM events
    WHERE (site = {site:String} OR {site:String} = '') AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
    GROUP BY site, visitor_id
)
ARRAY JOIN
    all_secs AS sec,
    all_codes AS code,
    unit_of_event AS session_no,
    -- How many purchases the unit made up to and including this event (a running count per unit).
    arrayFlatten(arrayMap(unit -> arrayCumSum(arrayMap(c -> c = 5, unit)), arraySplit((c, s) -> s, all_codes, starts))) AS purchase_rank
GROUP BY site, visitor_id, session_no;
