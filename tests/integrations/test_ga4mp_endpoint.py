"""POST /mp/collect and /debug/mp/collect against a test tracker: stored once, refused whole, GA4's answers."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.integrations import ga4mp_payloads as mp
from tests.integrations.support import error, mark_and_wait, send


def test_a_documented_purchase_is_answered_204_without_a_body_and_stored(shop, ch):
    r = send(shop, mp.PURCHASE)
    assert (r.status_code, r.content) == (204, b"")
    assert wait_for(lambda: count_rows(ch, "name = 'purchase'"), 1) == 1
    row = ch.query("SELECT site, transaction_id, toFloat64(value), currency, items.item_id, items.quantity, props, "
                   "coupon, toFloat64(shipping), toFloat64(tax), items.item_brand, items.item_variant, items.item_category2, "
                   "items.item_category5, arrayMap(d -> toFloat64(d), items.discount) FROM events WHERE name = 'purchase'").result_rows[0]
    assert row == ("shop", "T_20001", 42.5, "EUR", ["SKU_30012", "SKU_30013"], [3, 1], {}, "WINTER_SALE", 4.9, 3.4,
                   ["Fjellwear", ""], ["grey", ""], ["Adult", ""], ["Hiking", ""], [1.5, 0.0])


def test_client_id_is_the_visitor_hashed_like_a_shop_visitor_id_and_the_page_sets_the_source(shop, ch):
    assert send(shop, mp.VIEW_ITEM_IN_SESSION).status_code == 204
    r = shop.post("/api/event", json={"site": "shop", "name": "page_view", "visitor": mp.CLIENT_ID},
                  headers={"authorization": f"Bearer {shop.key}"})
    assert r.json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch), 2) == 2
    rows = ch.query("SELECT name, visitor_id, session_id, path, source, medium, campaign, referrer_host "
                    "FROM events ORDER BY name").result_rows
    (_, web_visitor, *_), (_, mp_visitor, session, path, source, medium, campaign, referrer_host) = rows
    assert mp_visitor == web_visitor  # the same shopper whether the shop sent /api/event or an MP hit
    assert (session, path, source, medium, campaign, referrer_host) == (
        "1790000123", "/p/wool-socks", "newsletter", "email", "winter", "mail.example")


def test_the_shoppers_ip_and_user_agent_set_the_device_and_a_bots_hit_is_dropped(shop, ch):
    assert send(shop, mp.WITH_USER_AND_DEVICE).status_code == 204
    assert wait_for(lambda: count_rows(ch), 2) == 2
    rows = ch.query("SELECT name, device, os, customer_id, props['user.customer_tier'] FROM events ORDER BY name").result_rows
    assert rows == [("add_to_cart", "mobile", "Android", "customer-778", "gold"),
                    ("newsletter_signup", "mobile", "Android", "customer-778", "gold")]
    stored = repr(ch.query("SELECT * FROM events").result_rows)
    assert "203.0.113.24" not in stored and "Pixel" not in stored and "Mountain View" not in stored
    bot = copy.deepcopy(mp.WITH_USER_AND_DEVICE)
    bot["user_agent"] = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    bot["client_id"] = "crawler"
    assert send(shop, bot).status_code == 204  # as GA4 would answer; dropped as a bot
    mark_and_wait(shop, ch)
    assert count_rows(ch, "name = 'add_to_cart'") == 1


def test_the_same_request_sent_twice_is_stored_once(shop, ch):
    body = copy.deepcopy(mp.WITH_USER_AND_DEVICE)
    for _ in range(2):
        assert send(shop, body).status_code == 204
    # Re-serialised by another sender, with its keys in another order: still the same request.
    assert send(shop, dict(reversed(list(body.items())))).status_code == 204
    mark_and_wait(shop, ch)
    assert count_rows(ch, "name != 'marker'") == 2


@pytest.mark.parametrize("mp_first", [False, True])
def test_a_purchase_via_api_event_and_mp_collect_counts_once(shop, ch, mp_first):
    order = {"site": "shop", "name": "purchase", "transaction_id": "T_20001", "value": 42.5, "currency": "EUR",
             "visitor": mp.CLIENT_ID}
    backend = lambda: shop.post("/api/event", json=order, headers={"authorization": f"Bearer {shop.key}"})  # noqa: E731
    measurement = lambda: send(shop, mp.PURCHASE)  # noqa: E731
    first, second = (measurement, backend) if mp_first else (backend, measurement)
    assert first().status_code in (202, 204)
    answer = second()
    if mp_first:
        assert answer.json()["dropped"] == {"duplicate": 1}
    else:
        assert answer.status_code == 204
    mark_and_wait(shop, ch)
    assert count_rows(ch, "name = 'purchase'") == 1
    days = {"from": (date.today() - timedelta(days=1)).isoformat(), "to": (date.today() + timedelta(days=1)).isoformat()}
    stats = shop.get("/api/v1/sites/shop/stats", params=days, headers={"authorization": f"Bearer {shop.query_token}"})
    totals = stats.json()["totals"]
    assert (totals["orders"], totals["revenue"][0]["revenue"]) == (1, 42.5)


def test_a_bad_missing_or_other_sites_secret_is_401_and_stores_nothing(shop, ch):
    cases = [
        (dict(secret=""), {"api_secret": "is required: an ingest key of the site (python -m tracker key create SITE)"}),
        (dict(secret="fhk_nope_not-a-key"), {"api_secret": "is not a valid ingest key (unknown or revoked; create one "
                                                           "with: python -m tracker key create SITE)"}),
        (dict(secret="G-SECRET-FROM-GA4"), None),
        (dict(secret=None, site="other"), {"measurement_id": "is not the site of this api_secret"}),
        (dict(secret=None, site=""), {"measurement_id": "is required: the site id of the api_secret's key"}),
    ]
    for kwargs, fields in cases:
        if kwargs.get("secret") is None:
            kwargs["secret"] = shop.key
        r = send(shop, mp.PURCHASE, **kwargs)
        status, code, found = error(r)
        assert (status, code) == (401, "unauthorized"), r.text
        if fields is not None:
            assert found == fields
    assert error(send(shop, mp.PURCHASE, secret=shop.query_token))[0] == 401  # a query token is no ingest key
    assert error(send(shop, mp.PURCHASE, secret=shop.other_key))[2] == {"measurement_id": "is not the site of this api_secret"}
    mark_and_wait(shop, ch)
    assert count_rows(ch) == 1  # the marker only


def test_malformed_requests_are_4xx_in_our_error_shape_and_store_nothing(shop, ch):
    r = shop.post("/mp/collect", params={"measurement_id": "shop", "api_secret": shop.key}, content=b"{not json",
                  headers={"content-type": "application/json"})
    assert error(r)[:2] == (400, "invalid_json")
    r = shop.post("/mp/collect", params={"measurement_id": "shop", "api_secret": shop.key}, content=b"<xml/>",
                  headers={"content-type": "application/xml"})
    assert error(r)[:2] == (415, "unsupported_media_type")
    r = shop.post("/mp/collect", params={"measurement_id": "shop", "api_secret": shop.key}, content=b"x" * (300 * 1024),
                  headers={"content-type": "application/json"})
    assert error(r)[:2] == (413, "payload_too_large")
    # One bad event of two: the request is refused whole (a 2xx has no body to say which was not stored).
    body = copy.deepcopy(mp.WITH_USER_AND_DEVICE)
    del body["events"][0]["params"]["currency"]
    assert error(send(shop, body)) == (400, "invalid_events", {
        "events[0].params.currency": "is required when value or item prices are given"})
    assert error(send(shop, mp.BAD_NAME))[2] == {
        "events[0].name": "must start with a letter and hold only letters, digits and _ (at most 40 characters)"}
    assert shop.get("/mp/collect").status_code == 405
    mark_and_wait(shop, ch)
    assert count_rows(ch) == 1


def test_the_per_site_rate_limit_applies_to_mp_hits(make_shop, ch):
    shop = make_shop(rate_limit_site_per_s=0.01, rate_limit_site_burst=2)
    assert send(shop, mp.WITH_USER_AND_DEVICE).status_code == 204  # two events: the burst
    r = send(shop, mp.PURCHASE)
    assert error(r)[:2] == (429, "rate_limited") and int(r.headers["retry-after"]) >= 1
    assert wait_for(lambda: count_rows(ch), 2) == 2


def test_debug_validates_without_storing_in_ga4s_shape(shop, ch):
    for body in (mp.PURCHASE, mp.VIEW_ITEM_IN_SESSION, mp.WITH_USER_AND_DEVICE):
        r = send(shop, body, path="/debug/mp/collect")
        assert (r.status_code, r.json()) == (200, {"validationMessages": []})
    r = send(shop, mp.BAD_NAME, path="/debug/mp/collect")
    assert r.json() == {"validationMessages": [{
        "fieldPath": "events[0].name",
        "description": "events[0].name: must start with a letter and hold only letters, digits and _ (at most 40 characters)",
        "validationCode": "NAME_INVALID"}]}
    body = copy.deepcopy(mp.PURCHASE)
    body["events"][0]["params"].pop("currency")
    body["events"].append({"name": "add_to_cart", "params": {"items": [{"price": 3, "quantity": 1}]}})
    r = send(shop, body, secret="fhk_wrong_secret", path="/debug/mp/collect")
    assert [(m["fieldPath"], m["validationCode"]) for m in r.json()["validationMessages"]] == [
        ("api_secret", "VALUE_INVALID"),
        ("events[0].params.currency", "VALUE_REQUIRED"),
        ("events[1].params.items[0].item_id", "VALUE_REQUIRED"),
    ]
    r = shop.post("/debug/mp/collect", params={"measurement_id": "shop", "api_secret": shop.key}, content=b"[1,",
                  headers={"content-type": "application/json"})
    [message] = r.json()["validationMessages"]
    assert (message["fieldPath"], message["validationCode"]) == ("body", "VALUE_INVALID")
    mark_and_wait(shop, ch)
    assert count_rows(ch) == 1


def test_the_index_lists_the_endpoint(shop):
    assert shop.get("/", headers={"user-agent": BROWSER_UA}).json()["endpoints"]["GA4 Measurement Protocol"].startswith(
        "POST /mp/collect")


def test_mp_requests_and_events_are_counted_in_the_metrics(shop, ch):
    samples = ('tracker_http_requests_total{route="/mp/collect",status="204"}',
               'tracker_http_requests_total{route="/mp/collect",status="400"}',
               "tracker_events_accepted_total", 'tracker_events_rejected_total{reason="invalid"}')

    def values() -> tuple[float, ...]:  # the registry is the test process's: compare before and after
        lines = dict(line.rsplit(" ", 1) for line in shop.get("/metrics").text.splitlines() if not line.startswith("#"))
        return tuple(float(lines.get(name, 0)) for name in samples)

    before = values()
    assert send(shop, mp.WITH_USER_AND_DEVICE).status_code == 204
    assert send(shop, mp.BAD_NAME).status_code == 400
    expected = tuple(b + d for b, d in zip(before, (1, 1, 2, 1)))
    assert wait_for(values, expected) == expected
