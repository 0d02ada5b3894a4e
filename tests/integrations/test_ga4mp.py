"""The translator: GA4 Measurement Protocol bodies as our validated events, or the issues that stop them."""

from __future__ import annotations

import copy
import time

import pytest

from tests.integrations import ga4mp_payloads as mp
from tracker.ingest.event import Event, Item, MAX_PROPS
from tracker.ingest.payload import Clock
from tracker.integrations.ga4mp import MAX_EVENTS, Issue, event_id, translate

NOW_MS = int(time.time() * 1000)
CLOCK = Clock(NOW_MS, 30 * 86_400_000)


def events(body: dict) -> list[Event]:
    out = translate(body, "shop", CLOCK)
    assert out.issues == []
    return out.events


def issues(body) -> dict[str, tuple[str, str]]:
    out = translate(body, "shop", CLOCK)
    assert out.events == [] or out.issues
    return {i.path: (i.code, i.reason) for i in out.issues}


def test_a_documented_purchase_keeps_its_order_fields_and_the_items_we_store():
    [purchase] = events(mp.PURCHASE)
    assert (purchase.site, purchase.name, purchase.visitor) == ("shop", "purchase", mp.CLIENT_ID)
    assert (purchase.transaction_id, purchase.value, purchase.currency) == ("T_20001", 42.5, "EUR")
    assert (purchase.coupon, purchase.shipping, purchase.tax) == ("WINTER_SALE", 4.9, 3.4)
    # Every item field our items keep; affiliation, index, the item's own coupon, item_list_* and location_id are left out.
    assert purchase.items == [
        Item(item_id="SKU_30012", item_name="Wool Socks", item_category="Apparel", item_category2="Adult",
             item_category3="Socks", item_category4="Wool", item_category5="Hiking", item_brand="Fjellwear",
             item_variant="grey", price=12.5, quantity=3, discount=1.5),
        Item(item_id="SKU_30013", item_name="Gift Wrap", price=5.0, discount=0.0)]
    assert purchase.props == {}  # the order's params all have columns
    assert purchase.ts == NOW_MS  # no timestamp_micros: received now


def test_page_session_and_referrer_params_fill_their_columns():
    [view] = events(mp.VIEW_ITEM_IN_SESSION)
    assert view.url.startswith("https://shop.example/p/wool-socks?utm_source=newsletter")
    assert view.referrer == "https://mail.example/inbox"
    assert view.session == "1790000123"
    assert view.props == {"engagement_time_msec": "1200", "page_title": "Wool Socks"}


def test_request_fields_become_the_shoppers_customer_ip_agent_and_user_properties():
    add, signup = events(mp.WITH_USER_AND_DEVICE)
    for event in (add, signup):
        assert (event.visitor, event.customer_id, event.client_ip) == (mp.CLIENT_ID, "customer-778", "203.0.113.24")
        assert "Pixel 9 Pro" in event.user_agent
        assert event.props["user.customer_tier"] == "gold" and event.props["user.orders_so_far"] == "7"
    assert signup.props["method"] == "footer"
    # user_location, device, consent's ad signals and non_personalized_ads are accepted, not stored.
    assert not any("Mountain View" in v or "GRANTED" in v for v in add.props.values())


def test_timestamps_in_microseconds_on_the_body_or_per_event():
    five_minutes_ago = (NOW_MS - 300_000) * 1000
    assert [e.ts for e in events(mp.at(mp.WITH_USER_AND_DEVICE, five_minutes_ago))] == [NOW_MS - 300_000] * 2
    body = mp.at(mp.at(mp.WITH_USER_AND_DEVICE, five_minutes_ago), five_minutes_ago - 60_000_000, per_event=True)
    assert [e.ts for e in events(body)] == [NOW_MS - 360_000] * 2  # the event's own time wins
    future = mp.at(mp.PURCHASE, (NOW_MS + 3_600_000) * 1000)
    assert events(future)[0].ts == NOW_MS  # no events from the future
    old = mp.at(mp.PURCHASE, (NOW_MS - 31 * 86_400_000) * 1000)
    assert issues(old) == {"timestamp_micros": ("VALUE_OUT_OF_BOUNDS", "is older than the backfill horizon of 30 days")}
    assert issues(mp.at(mp.PURCHASE, "yesterday")) == {"timestamp_micros": ("VALUE_INVALID", "must be a Unix time in microseconds")}


def test_numbers_sent_as_strings_and_ids_sent_as_numbers_are_taken_as_ga4_takes_them():
    body = copy.deepcopy(mp.PURCHASE)
    params = body["events"][0]["params"]
    params.update(value="42.50", currency="eur", transaction_id=20001, session_id=1790000123)
    params.update(shipping="4.90", tax="0", coupon=2026)
    params["items"] = [{"item_id": 30012, "price": "12.5", "quantity": "3", "discount": "1.25", "item_variant": 42},
                       {"item_name": "Gift Wrap", "quantity": 1.0}]
    [purchase] = events(body)
    assert (purchase.value, purchase.currency, purchase.transaction_id, purchase.session) == (42.5, "EUR", "20001", "1790000123")
    assert (purchase.shipping, purchase.tax, purchase.coupon) == (4.9, 0.0, "2026")
    assert purchase.items == [Item(item_id="30012", item_variant="42", price=12.5, quantity=3, discount=1.25),
                              Item(item_name="Gift Wrap", price=0.0, discount=0.0)]


def test_consent_denied_for_analytics_keeps_client_and_user_id_out():
    body = copy.deepcopy(mp.WITH_USER_AND_DEVICE)
    body["consent"] = {"analytics_storage": "denied"}
    add, _ = events(body)
    assert (add.visitor, add.customer_id) == ("", "")  # the cookieless daily hash decides the visitor
    assert add.client_ip == "203.0.113.24"


def test_the_event_id_is_the_same_for_a_resend_and_differs_between_events():
    first = [e.event_id for e in events(mp.WITH_USER_AND_DEVICE)]
    reordered = dict(reversed(list(copy.deepcopy(mp.WITH_USER_AND_DEVICE).items())))
    reordered["events"][0]["params"] = dict(reversed(list(reordered["events"][0]["params"].items())))
    assert [e.event_id for e in events(reordered)] == first  # a re-serialised resend: same ids
    assert len(set(first)) == 2
    assert first[0] == event_id("shop", mp.WITH_USER_AND_DEVICE, 0)
    assert events(mp.at(mp.WITH_USER_AND_DEVICE, NOW_MS * 1000))[0].event_id != first[0]  # another time: another event
    assert translate(mp.WITH_USER_AND_DEVICE, "other", CLOCK).events[0].event_id != first[0]  # another site
    twice = {"client_id": "c", "events": [{"name": "add_to_cart", "params": {}}] * 2}
    assert len({e.event_id for e in events(twice)}) == 2  # two alike events of one request stay two


def test_the_validation_guides_bad_name_and_other_name_rules():
    assert issues(mp.BAD_NAME) == {"events[0].name": ("NAME_INVALID", "must start with a letter and hold only letters, "
                                                                      "digits and _ (at most 40 characters)")}
    assert issues({"client_id": "c", "events": [{"name": "a" * 41}]})["events[0].name"][0] == "NAME_INVALID"
    assert issues({"client_id": "c", "events": [{"params": {}}]}) == {"events[0].name": ("VALUE_REQUIRED", "is required")}


def test_request_shape_issues_name_the_field_in_the_mp_body():
    assert issues([]) == {"body": ("VALUE_INVALID", "must be a JSON object with client_id and events")}
    assert issues({"client_id": "c"}) == {"events": ("VALUE_REQUIRED", "is required")}
    assert issues({"client_id": "c", "events": []}) == {"events": ("VALUE_REQUIRED", "must not be empty")}
    many = {"client_id": "c", "events": [{"name": "x"}] * (MAX_EVENTS + 1)}
    assert issues(many) == {"events": ("EXCEEDED_MAX_ENTITIES", "has more than 25 events (GA4's limit per request)")}
    assert issues({"events": [{"name": "x"}]}) == {
        "client_id": ("VALUE_REQUIRED", "is required (the GA4 client id, as in the _ga cookie)")}
    found = issues({"client_id": 5, "user_id": ["u"], "ip_override": "not-an-ip", "consent": {"ad_user_data": "MAYBE", "cookies": "GRANTED"},
                    "non_personalized_ads": "yes", "device": "phone", "app_instance_id": "x", "validation_behavior": "STRICT",
                    "user_properties": {"tier": "gold"}, "events": [{"name": "x", "extra": 1}]})
    assert found == {
        "app_instance_id": ("NAME_INVALID", "unknown field"),
        "client_id": ("VALUE_INVALID", "must be a non-empty string"),
        "user_id": ("VALUE_INVALID", "must be a string"),
        "ip_override": ("VALUE_INVALID", "must be an IPv4 or IPv6 address"),
        "consent.ad_user_data": ("VALUE_INVALID", "must be GRANTED or DENIED"),
        "consent.cookies": ("NAME_INVALID", "unknown field (one of ad_personalization, ad_storage, ad_user_data, analytics_storage)"),
        "non_personalized_ads": ("VALUE_INVALID", "must be true or false"),
        "device": ("VALUE_INVALID", "must be an object"),
        "validation_behavior": ("VALUE_INVALID", "must be RELAXED or ENFORCE_RECOMMENDATIONS"),
        "user_properties.tier": ("VALUE_INVALID", "must be an object {\"value\": ...}"),
        "events[0].extra": ("NAME_INVALID", "unknown field"),
    }


def test_our_validators_reasons_come_back_at_the_params_they_came_from():
    body = {"client_id": "c", "events": [
        {"name": "view_item", "params": {"value": 3, "items": [{"price": 1}, {"item_id": "a", "quantity": -1}]}},
        {"name": "page_view", "params": {"page_location": "shop.example/x", "session_id": True, "colours": ["red"]}},
        {"name": "purchase", "params": {"currency": "EURO", "value": "lots", "transaction_id": "t" * 129}},
    ]}
    assert issues(body) == {
        "events[0].params.items[0].item_id": ("VALUE_REQUIRED", "item_id or item_name is required"),
        "events[0].params.items[1].quantity": ("VALUE_OUT_OF_BOUNDS", "must be a whole number from 0 to 1000000"),
        "events[0].params.currency": ("VALUE_REQUIRED", "is required when value or item prices are given"),
        "events[1].params.page_location": ("VALUE_INVALID", "must be an http(s) URL"),
        "events[1].params.session_id": ("VALUE_INVALID", "must be a string or a number"),
        "events[1].params.colours": ("VALUE_INVALID", "must be a string, number or boolean (only items is an array)"),
        "events[2].params.currency": ("VALUE_OUT_OF_BOUNDS", "is longer than 3 characters"),
        "events[2].params.value": ("VALUE_INVALID", "must be a number"),
        "events[2].params.transaction_id": ("VALUE_OUT_OF_BOUNDS", "is longer than 128 characters"),
    }
    out = translate(body, "shop", CLOCK)
    assert (out.received, out.events) == (3, [])
    long_key = {"client_id": "c", "events": [{"name": "x", "params": {"k" * 70: 1}}]}
    assert issues(long_key) == {f"events[0].params.{'k' * 64}": ("NAME_INVALID", "keys must be 1-64 characters")}


def test_props_limits_hold_and_user_properties_fill_only_the_room_left():
    params = {f"p{i}": i for i in range(MAX_PROPS)}
    body = {"client_id": "c", "user_properties": {"tier": {"value": "gold"}}, "events": [{"name": "x", "params": params}]}
    [event] = events(body)
    assert len(event.props) == MAX_PROPS and "user.tier" not in event.props  # the event's own params first
    body["events"][0]["params"] = {**params, "one_more": 1}
    assert issues(body) == {"events[0].params": ("EXCEEDED_MAX_ENTITIES", f"has more than {MAX_PROPS} keys")}
    long = {"client_id": "c", "events": [{"name": "x", "params": {"note": "n" * 513}}]}
    assert issues(long) == {"events[0].params.note": ("VALUE_OUT_OF_BOUNDS", "is longer than 512 characters")}
    assert events({"client_id": "c", "events": [{"name": "x", "params": {"gone": None}}]})[0].props == {}


def test_validation_messages_are_in_ga4s_shape():
    issue = Issue("events[0].name", "is required", "VALUE_REQUIRED")
    assert issue.validation_message() == {"fieldPath": "events[0].name", "description": "events[0].name: is required",
                                          "validationCode": "VALUE_REQUIRED"}


@pytest.mark.parametrize("body", [mp.PURCHASE, mp.VIEW_ITEM_IN_SESSION, mp.WITH_USER_AND_DEVICE])
def test_every_documented_example_translates_without_issues(body):
    out = translate(body, "shop", CLOCK)
    assert out.issues == [] and len(out.events) == len(body["events"]) == out.received


def test_bad_order_and_item_fields_are_named_by_their_mp_paths():
    body = copy.deepcopy(mp.PURCHASE)
    params = body["events"][0]["params"]
    params["shipping"] = "free"
    params["items"][0].update(discount=-2, item_brand={"name": "Fjellwear"})
    assert issues(body) == {
        "events[0].params.shipping": ("VALUE_INVALID", "must be a number"),
        "events[0].params.items[0].item_brand": ("VALUE_INVALID", "must be a string"),
        "events[0].params.items[0].discount": ("VALUE_OUT_OF_BOUNDS", "must be between 0 and 1e+12"),
    }
