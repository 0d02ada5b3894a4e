from tracker.ingest.event import Event, Item
from tracker.ingest.payload import Clock, parse_event

NOW = 1_790_000_000_000
CLOCK = Clock(now_ms=NOW, horizon_ms=30 * 86_400_000)


def errors_of(raw, clock=CLOCK):
    result = parse_event(raw, clock, "events[0]")
    assert not isinstance(result, Event), result
    return {e.path: e.reason for e in result}


def test_minimal_event_gets_receive_time_and_an_event_id():
    event = parse_event({"site": "demo", "name": "page_view"}, CLOCK)
    assert isinstance(event, Event)
    assert event.ts == NOW
    assert len(str(event.event_id)) == 36


def test_each_bad_field_is_named_with_its_path():
    errors = errors_of(
        {
            "site": 5,
            "name": "",
            "url": "ftp://x",
            "value": "12",
            "currency": "eur",
            "items": [{"item_id": "a", "price": -1}, {"colour": "red"}],
            "props": {"ok": 1, "bad": [1]},
            "event_id": "not-a-uuid",
            "nonsense": 1,
        }
    )
    assert errors == {
        "events[0].site": "must be a string",
        "events[0].name": "must not be empty",
        "events[0].url": "must be an http(s) URL",
        "events[0].value": "must be a number",
        "events[0].currency": "must be a 3-letter ISO 4217 code in capitals, like EUR",
        "events[0].items[0].price": "must be between 0 and 1e+12",
        "events[0].items[1].colour": "unknown field",
        "events[0].items[1].item_id": "item_id or item_name is required",
        "events[0].props.bad": "must be a string, number or boolean",
        "events[0].event_id": "must be a UUID string",
        "events[0].nonsense": "unknown field",
    }


def test_value_needs_a_currency():
    assert errors_of({"site": "s", "name": "purchase", "value": 10}) == {
        "events[0].currency": "is required when value or item prices are given"
    }


def test_nan_and_infinity_are_not_numbers():
    assert errors_of({"site": "s", "name": "purchase", "value": float("inf"), "currency": "EUR"}) == {
        "events[0].value": "must be a number"
    }


def test_client_clock_skew_is_corrected_with_sent_at():
    # The client's clock is 1 hour behind: it sent at NOW-1h by its clock, the event happened 5 s before that.
    clock = Clock(NOW, CLOCK.horizon_ms, sent_at_ms=NOW - 3_600_000)
    event = parse_event({"site": "s", "name": "x", "ts": NOW - 3_600_000 - 5_000}, clock)
    assert event.ts == NOW - 5_000


def test_future_events_are_clamped_to_receive_time():
    event = parse_event({"site": "s", "name": "x", "ts": NOW + 86_400_000}, CLOCK)
    assert event.ts == NOW


def test_events_older_than_the_horizon_are_rejected():
    assert errors_of({"site": "s", "name": "x", "ts": NOW - 31 * 86_400_000}) == {
        "events[0].ts": "is older than the backfill horizon of 30 days"
    }


def test_iso_timestamps_are_accepted():
    event = parse_event({"site": "s", "name": "x", "ts": "2026-09-21T14:13:20Z"}, CLOCK)
    assert event.ts == 1_790_000_000_000


def test_items_are_normalised():
    event = parse_event(
        {"site": "s", "name": "add_to_cart", "currency": "EUR", "value": 30,
         "items": [{"item_id": "sku-1", "item_name": "Shoe", "price": 15, "quantity": 2}]},
        CLOCK,
    )
    assert event.items == [Item(item_id="sku-1", item_name="Shoe", price=15.0, quantity=2, discount=0.0)]
    assert event.value == 30.0


def test_ga4_item_and_purchase_fields_are_kept():
    event = parse_event(
        {"site": "s", "name": "purchase", "currency": "EUR", "value": 27.4, "transaction_id": "T-9", "coupon": "SUMMER",
         "shipping": 4.9, "tax": 3.5,
         "items": [{"item_id": "sku-1", "item_category": "Apparel", "item_category2": "Adult", "item_category3": "Socks",
                    "item_category4": "Wool", "item_category5": "Hiking", "item_brand": "Woolly", "item_variant": "grey",
                    "price": 12.5, "discount": 1.25, "quantity": 2}]},
        CLOCK,
    )
    assert (event.coupon, event.shipping, event.tax) == ("SUMMER", 4.9, 3.5)
    assert event.items == [Item(item_id="sku-1", item_category="Apparel", item_category2="Adult", item_category3="Socks",
                                item_category4="Wool", item_category5="Hiking", item_brand="Woolly", item_variant="grey",
                                price=12.5, quantity=2, discount=1.25)]


def test_bad_ga4_item_and_purchase_fields_are_named():
    errors = parse_event(
        {"site": "s", "name": "purchase", "currency": "EUR", "coupon": 5, "shipping": "4.90", "tax": 1e13,
         "items": [{"item_id": "a", "item_brand": ["x"], "item_variant": "v" * 257, "item_category5": None,
                    "discount": -1}]},
        CLOCK,
    )
    assert {e.path: e.reason for e in errors} == {
        "coupon": "must be a string",
        "shipping": "must be a number",
        "tax": "must be between -1e+12 and 1e+12",
        "items[0].item_brand": "must be a string",
        "items[0].item_variant": "is longer than 256 characters",
        "items[0].discount": "must be between 0 and 1e+12",
    }


def test_shipping_tax_or_a_discount_need_a_currency():
    for fields in ({"shipping": 4.9}, {"tax": 0}, {"items": [{"item_id": "a", "discount": 2}]}):
        errors = parse_event({"site": "s", "name": "purchase", **fields}, CLOCK)
        assert [(e.path, e.reason) for e in errors] == [("currency", "is required when shipping, tax or item discounts are given")]
