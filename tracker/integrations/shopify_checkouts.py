"""Who was at an order's checkout: the pixel's events of the same checkout token, for the order's webhook.

The webhook and the pixel's checkout_completed race; the first one stored is the order (the
other is a duplicate). When the webhook wins, its purchase should still be the purchase of the
visitor who went through the checkout, or funnels lose their last step. The pixel marks its
checkout events with Shopify's checkout token (props.checkout_token, which the order's
`checkout_token` repeats) and, when the shopper allowed analytics, with the visitor id it keeps
(props.fh_visitor); the webhook's purchase takes that visitor id and the session. Without
consent the pixel keeps no id: then the buyer's IP and User-Agent from the order give the same
cookieless visitor hash as the pixel's events (shopify_orders.py).
"""

from __future__ import annotations

CHECKOUT_STEPS = ("begin_checkout", "add_contact_info", "add_address_info", "add_shipping_info", "add_payment_info")
LOOKBACK_DAYS = 7  # a checkout started longer ago than this is not looked for

SQL = """
SELECT props['fh_visitor'] AS visitor, session_id
FROM events
WHERE site = {site:String} AND ts >= now64(3, 'UTC') - toIntervalDay({days:UInt32})
    AND name IN {steps:Array(String)} AND props['checkout_token'] = {token:String}
ORDER BY ts DESC
LIMIT 1
"""


def shopper_of(client, site: str, checkout_token: str) -> dict[str, str]:
    """The `visitor` and `session` fields for the order's purchase (those the pixel had), or {}."""
    rows = client.query(SQL, parameters={"site": site, "days": LOOKBACK_DAYS, "steps": list(CHECKOUT_STEPS),
                                         "token": checkout_token}).result_rows
    if not rows:
        return {}
    visitor, session = rows[0]
    return {k: v for k, v in (("visitor", visitor), ("session", session)) if v}
