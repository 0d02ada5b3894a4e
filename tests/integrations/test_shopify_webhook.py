"""POST /integrations/shopify/{site}/orders: Shopify's orders/paid webhook, as Shopify sends it, against a real ClickHouse."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.integrations.shopify_support import SECRET, order, sign, webhook_headers
from tracker.integrations.shopify_orders import customer_hash, signature_valid
from tracker.integrations.shopify_secrets import load_one, set_secret
from tracker.sites import Site, add_site
from tracker.tokens import create_token

URL = "/integrations/shopify/shop/orders"
PURCHASES = "site = 'shop' AND name = 'purchase'"


@pytest.fixture
def shop(client, ch):
    """The app with site `shop`, its Shopify secret set, and a query token in client.headers."""
    add_site(ch, Site("shop", "Funnel Linen"))
    add_site(ch, Site("other"))
    set_secret(ch, "shop", SECRET)
    set_secret(ch, "other", "shpss_another_shops_secret")
    sites = client.app.state.tracker.sites
    assert wait_for(lambda: sites.get("shop") is not None and sites.get("other") is not None, True)
    _, token = create_token(ch, "shop")
    client.headers["authorization"] = f"Bearer {token}"
    return client


def post(client, data, **header_changes):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(URL, content=body, headers=webhook_headers(body, **header_changes))


def error_fields(response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return {f["path"]: f["reason"] for f in body["error"]["fields"]}


def stats(client) -> dict:
    r = client.get("/api/v1/sites/shop/stats")
    assert r.status_code == 200, r.text
    return r.json()["totals"]


def test_a_signed_order_is_stored_as_one_purchase_with_its_revenue_and_items(shop, ch):
    r = post(shop, order())
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "dropped": {}, "rejected": []}
    assert wait_for(lambda: count_rows(ch, PURCHASES), 1) == 1
    [row] = ch.query(
        "SELECT transaction_id, toFloat64(value), currency, items.item_id, items.item_name, arrayMap(p -> toFloat64(p), items.price),"
        " items.quantity, customer_id, props, browser, device, source, medium, campaign, event_id, coupon, toFloat64(shipping),"
        " toFloat64(tax), items.item_brand, items.item_variant, arrayMap(d -> toFloat64(d), items.discount)"
        f" FROM events WHERE {PURCHASES}").result_rows
    (transaction, value, currency, ids, names, prices, quantities, customer, props, browser, device, source, medium,
     campaign, event_id, coupon, shipping, tax, brands, variants, discounts) = row
    assert (transaction, value, currency) == ("5678901234567", 59.9, "EUR")
    assert (ids, names, prices, quantities) == (["8123456789", "8123456790"], ["Linen apron", "Tea towel"], [19.95, 20.0], [2, 1])
    # The first discount code, shipping and tax in their columns; vendor, variant title and the line's discount per unit.
    assert (coupon, shipping, tax) == ("SPRING10", 5.0, 9.56)
    assert (brands, variants, discounts) == (["Funnel Linen", "Funnel Linen"], ["Sand", ""], [2.5, 0.0])
    # The customer: a keyed hash, neither Shopify's id nor the email.
    key = load_one(ch, "shop").customer_key
    assert customer == customer_hash(key, 7012345678901) and "7012345678901" not in customer and len(customer) == 32
    assert props == {"via": "shopify_webhook", "order_name": "#1042", "source_name": "web",
                     "checkout_token": "4a1b2c3d4e5f60718293a4b5c6d7e8f9"}
    # The buyer's browser from client_details, the source from the landing page's UTM tags.
    assert (browser, device) == ("Chrome", "desktop")
    assert (source, medium, campaign) == ("newsletter", "email", "spring")
    assert event_id == uuid.uuid5(uuid.UUID("5d3c2a8e-6f1b-4c1e-9a57-2f0e8b6d4c31"), "shop/5678901234567")
    totals = stats(shop)
    assert totals["orders"] == 1 and totals["revenue"] == [
        {"currency": "EUR", "orders": 1, "revenue": 59.9, "average_order_value": 59.9}]


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body():
    # Computed with: printf '{"id":1}' | openssl dgst -sha256 -hmac hush -binary | base64
    assert signature_valid(b'{"id":1}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=", "hush")
    assert signature_valid(b'{"id":1}', " VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=\n", "hush")
    assert not signature_valid(b'{"id": 1}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=", "hush")
    assert not signature_valid(b'{"id":1}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=", "hushh")
    assert not signature_valid(b'{"id":1}', "\u00e9t\u00e9", "hush")


def test_a_bad_or_missing_signature_is_401_and_stores_nothing(shop, ch):
    data = order(order_id=1001)
    body = json.dumps(data).encode()
    wrong = webhook_headers(body, secret="shpss_not_the_secret")
    for headers in (wrong, {**wrong, "x-shopify-hmac-sha256": sign(body + b" ", SECRET)},
                    {k: v for k, v in wrong.items() if k != "x-shopify-hmac-sha256"}):
        r = shop.post(URL, content=body, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthorized"
        assert set(error_fields(r)) == {"X-Shopify-Hmac-Sha256"}
    # Signed with another site's secret: not this site's order.
    assert post(shop, data, secret="shpss_another_shops_secret").status_code == 401
    # A site without a secret cannot take webhooks at all.
    unknown = shop.post("/integrations/shopify/nosuch/orders", content=body, headers=webhook_headers(body))
    assert unknown.status_code == 401 and "no Shopify secret" in error_fields(unknown)["X-Shopify-Hmac-Sha256"]
    # A good one afterwards is stored; once it is, the refused ones are known to be absent.
    assert post(shop, order(order_id=1002)).status_code == 200
    assert wait_for(lambda: count_rows(ch, PURCHASES), 1) == 1
    assert ch.query(f"SELECT transaction_id FROM events WHERE {PURCHASES}").result_rows == [("1002",)]


def test_shopify_retries_and_the_same_order_again_are_stored_once(shop, ch):
    data = order()
    first = post(shop, data)
    assert first.json()["accepted"] == 1
    # A retry is the same body and webhook id; orders/create for the same order is another webhook.
    again = post(shop, data)
    assert again.status_code == 200 and again.json() == {"accepted": 0, "dropped": {"duplicate": 1}, "rejected": []}
    other_topic = post(shop, data, webhook_id=str(uuid.uuid4()), topic="orders/create")
    assert other_topic.json()["dropped"] == {"duplicate": 1}
    # Only admin_graphql_api_id (a gid): the same order id.
    gid_only = {k: v for k, v in data.items() if k != "id"}
    assert post(shop, gid_only, webhook_id=str(uuid.uuid4())).json()["dropped"] == {"duplicate": 1}
    assert post(shop, order(order_id=777)).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES), 2) == 2
    assert stats(shop)["orders"] == 2


@pytest.mark.parametrize("webhook_first", [True, False])
def test_the_pixels_checkout_completed_and_the_webhook_count_once(shop, ch, webhook_first):
    # What the pixel sends for checkout_completed (js-snippet/src/shopify/events.js): the order id
    # without its gid:// prefix as transaction_id.
    pixel = {"site": "shop", "name": "purchase", "transaction_id": "5678901234567", "value": 59.9, "currency": "EUR",
             "event_id": str(uuid.uuid4()), "url": "https://funnel-linen.example/checkouts/cn/abc/thank-you",
             "items": [{"item_id": "8123456789", "item_name": "Linen apron", "price": 19.95, "quantity": 2}]}
    send_pixel = lambda: shop.post("/api/event", json=pixel, headers={"user-agent": BROWSER_UA})  # noqa: E731
    if webhook_first:
        assert post(shop, order()).json()["accepted"] == 1
        assert send_pixel().json()["dropped"] == {"duplicate": 1}
    else:
        assert send_pixel().json()["accepted"] == 1
        assert post(shop, order()).json() == {"accepted": 0, "dropped": {"duplicate": 1}, "rejected": []}
    assert post(shop, order(order_id=42)).json()["accepted"] == 1  # a sentinel: once stored, the flush is done
    assert wait_for(lambda: count_rows(ch, PURCHASES + " AND transaction_id = '42'"), 1) == 1
    assert count_rows(ch, PURCHASES) == 2
    totals = stats(shop)
    assert totals["orders"] == 2 and totals["revenue"][0]["revenue"] == pytest.approx(119.8)


def test_orders_that_cannot_be_purchases_are_400_naming_shopifys_fields(shop, ch):
    r = post(shop, order(id="not-a-number", admin_graphql_api_id=None, total_price="lots", currency="euro"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_order"
    assert set(error_fields(r)) == {"id", "total_price", "currency"}
    not_json = post(shop, b"{not json")
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    assert post(shop, [1, 2]).json()["error"]["code"] == "invalid_order"


def test_other_topics_are_acknowledged_and_store_nothing(shop, ch):
    r = post(shop, order(order_id=9), topic="orders/cancelled")
    assert r.status_code == 200 and r.json()["accepted"] == 0 and "no purchase" in r.json()["ignored"]
    assert post(shop, order(order_id=10)).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES), 1) == 1
    assert ch.query(f"SELECT transaction_id FROM events WHERE {PURCHASES}").result_rows == [("10",)]


def test_a_changed_secret_works_within_a_second_and_keeps_customer_ids(shop, ch):
    assert post(shop, order(order_id=1)).status_code == 200  # the worker now holds the old secret
    key = load_one(ch, "shop").customer_key
    set_secret(ch, "shop", "shpss_rotated_secret")
    assert load_one(ch, "shop").customer_key == key
    # A signature that fails reloads the secrets, at most once a second (a 401 stores nothing: Shopify retries).
    assert wait_for(lambda: post(shop, order(order_id=2), secret="shpss_rotated_secret").status_code, 200, timeout=5) == 200
    assert post(shop, order(order_id=3), secret=SECRET).status_code == 401
    assert wait_for(lambda: count_rows(ch, PURCHASES), 2) == 2
    assert {r[0] for r in ch.query(f"SELECT DISTINCT customer_id FROM events WHERE {PURCHASES}").result_rows} == {
        customer_hash(key, 7012345678901)}


def test_an_order_paid_long_after_it_was_placed_is_stored_at_receive_time(shop, ch):
    old = order(order_id=55, created_at="2020-01-01T10:00:00+01:00", processed_at="2020-01-01T10:00:00+01:00")
    assert post(shop, old).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES + " AND ts > now() - INTERVAL 1 HOUR"), 1) == 1


def test_an_order_without_client_details_or_customer_is_kept(shop, ch):
    bare = order(order_id=66, client_details=None, customer=None, landing_site=None, referring_site=None, line_items=[])
    assert post(shop, bare).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES + " AND customer_id = '' AND browser = ''"), 1) == 1


def test_the_cli_sets_the_secret_from_stdin_without_printing_it(ch, clickhouse, database, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_DATA_DIR": str(tmp_path),
           "TRACKER_DEMO_SITE": "0"}
    run = lambda *argv, stdin="": subprocess.run([sys.executable, "-m", "tracker", *argv], env=env, input=stdin,  # noqa: E731
                                                 capture_output=True, text=True, timeout=120)
    assert run("site", "add", "shop").returncode == 0
    missing = run("shopify", "secret", "nosuch", stdin=SECRET + "\n")
    assert missing.returncode == 2 and "there is no site 'nosuch'" in missing.stderr
    empty = run("shopify", "secret", "shop", stdin="\n")
    assert empty.returncode == 2 and "the secret must be" in empty.stderr
    saved = run("shopify", "secret", "shop", stdin=SECRET + "\n")
    assert saved.returncode == 0, saved.stderr
    assert "/integrations/shopify/shop/orders" in saved.stdout and SECRET not in saved.stdout + saved.stderr
    assert load_one(ch, "shop").webhook_secret == SECRET
    customer = run("shopify", "customer", "shop", "7012345678901")
    assert customer.returncode == 0 and customer.stdout.strip() == customer_hash(load_one(ch, "shop").customer_key, 7012345678901)
    assert run("shopify", "customer", "nosuch", "1").returncode == 2


def test_a_multi_currency_order_is_stored_in_the_buyers_currency_like_the_pixel_sees_it(shop, ch):
    # Shop currency EUR, the buyer paid in CHF: the pixel's checkout.totalPrice is in CHF.
    data = order(order_id=88, presentment_currency="CHF",
                 total_price_set={"shop_money": {"amount": "59.90", "currency_code": "EUR"},
                                  "presentment_money": {"amount": "57.40", "currency_code": "CHF"}})
    data["line_items"][0]["price_set"] = {"shop_money": {"amount": "19.95", "currency_code": "EUR"},
                                          "presentment_money": {"amount": "19.10", "currency_code": "CHF"}}
    del data["line_items"][1]["price_set"]
    assert post(shop, data).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES), 1) == 1
    [row] = ch.query(f"SELECT toFloat64(value), currency, arrayMap(p -> toFloat64(p), items.price) FROM events WHERE {PURCHASES}").result_rows
    # The second line's price is in EUR only: no price rather than one in the wrong currency.
    assert row == (57.4, "CHF", [19.1, 0.0])


def test_orders_without_a_browser_are_the_customers_or_their_own_visitor(shop, ch):
    pos = lambda order_id, customer: order(order_id=order_id, client_details=None, customer=customer, source_name="pos")  # noqa: E731
    for order_id, customer in ((201, {"id": 1}), (202, {"id": 1}), (203, None), (204, None)):
        assert post(shop, pos(order_id, customer)).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES), 4) == 4
    visitors = dict(ch.query(f"SELECT transaction_id, visitor_id FROM events WHERE {PURCHASES}").result_rows)
    assert visitors["201"] == visitors["202"] and len({visitors["201"], visitors["203"], visitors["204"]}) == 3


def test_a_large_order_keeps_its_total_and_the_first_200_lines(shop, ch):
    big = order(order_id=300)
    line = big["line_items"][0]
    big["line_items"] = [{**line, "id": i, "product_id": 9_000 + i, "quantity": 1} for i in range(250)]
    body = json.dumps(big).encode()
    assert 100_000 < len(body) < 4 * 1024 * 1024
    assert post(shop, body).json()["accepted"] == 1
    assert wait_for(lambda: count_rows(ch, PURCHASES), 1) == 1
    assert ch.query(f"SELECT length(items.item_id), toFloat64(value) FROM events WHERE {PURCHASES}").result_rows == [(200, 59.9)]
    too_big = b'{"id": 1, "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    r = post(shop, too_big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
