"""Measurement Protocol bodies in the shapes Google's reference documents (our own values).

The shapes: the MP reference (body fields, user_properties as {NAME: {value}}, consent, per-event
timestamp_micros, user_location, device, ip_override), the e-commerce events reference (items with
every documented item parameter), the sending-events guide (session_id and engagement_time_msec
for Realtime) and the validation guide (an event name starting with "_").
"""

from __future__ import annotations

import copy

CLIENT_ID = "1234567890.1790000000"

# The e-commerce reference's purchase: event params and an item with every documented item field.
PURCHASE = {
    "client_id": CLIENT_ID,
    "events": [{
        "name": "purchase",
        "params": {
            "transaction_id": "T_20001",
            "value": 42.5,
            "tax": 3.4,
            "shipping": 4.9,
            "currency": "EUR",
            "coupon": "WINTER_SALE",
            "items": [{
                "item_id": "SKU_30012",
                "item_name": "Wool Socks",
                "affiliation": "Example Store",
                "coupon": "WINTER_SALE",
                "discount": 1.5,
                "index": 0,
                "item_brand": "Fjellwear",
                "item_category": "Apparel",
                "item_category2": "Adult",
                "item_category3": "Socks",
                "item_category4": "Wool",
                "item_category5": "Hiking",
                "item_list_id": "related_products",
                "item_list_name": "Related Products",
                "item_variant": "grey",
                "location_id": "ChIJIQBpAG2ahYAR_6128GcTUEo",
                "price": 12.5,
                "quantity": 3,
            }, {
                "item_id": "SKU_30013",
                "item_name": "Gift Wrap",
                "price": 5.0,
                "quantity": 1,
            }],
        },
    }],
}

# The sending-events guide: session_id and engagement_time_msec in every event, a page's location.
VIEW_ITEM_IN_SESSION = {
    "client_id": CLIENT_ID,
    "events": [{
        "name": "view_item",
        "params": {
            "session_id": "1790000123",
            "engagement_time_msec": 1200,
            "page_location": "https://shop.example/p/wool-socks?utm_source=newsletter&utm_medium=email&utm_campaign=winter",
            "page_referrer": "https://mail.example/inbox",
            "page_title": "Wool Socks",
            "currency": "EUR",
            "value": 12.5,
            "items": [{"item_id": "SKU_30012", "item_name": "Wool Socks", "price": 12.5}],
        },
    }],
}

# The reference's request-level fields: user_id, user_properties, consent, user_location, device,
# ip_override, a body timestamp and one event's own timestamp_micros (as a JSON int64 string).
WITH_USER_AND_DEVICE = {
    "client_id": CLIENT_ID,
    "user_id": "customer-778",
    "user_properties": {"customer_tier": {"value": "gold"}, "orders_so_far": {"value": 7}},
    "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
    "non_personalized_ads": True,
    "user_location": {"city": "Mountain View", "region_id": "US-CA", "country_id": "US", "subcontinent_id": "021",
                      "continent_id": "019"},
    "device": {"category": "mobile", "language": "en", "screen_resolution": "1280x2856", "operating_system": "Android",
               "operating_system_version": "14", "model": "Pixel 9 Pro", "brand": "Google", "browser": "Chrome",
               "browser_version": "136.0.7103.60"},
    "ip_override": "203.0.113.24",
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 9 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36",
    "validation_behavior": "ENFORCE_RECOMMENDATIONS",
    "events": [
        {"name": "add_to_cart", "params": {"currency": "EUR", "value": 12.5,
                                           "items": [{"item_id": "SKU_30012", "price": 12.5, "quantity": 1}]}},
        {"name": "newsletter_signup", "params": {"method": "footer"}},
    ],
}

# The validation guide's invalid event: a name that does not start with a letter.
BAD_NAME = {"client_id": CLIENT_ID, "events": [{"name": "_badEventName", "params": {}}]}


def at(body: dict, ts_micros: int, per_event: bool = False) -> dict:
    """A copy of `body` with timestamp_micros on the body, or on each event."""
    body = copy.deepcopy(body)
    if per_event:
        for event in body["events"]:
            event["timestamp_micros"] = str(ts_micros)
    else:
        body["timestamp_micros"] = ts_micros
    return body
