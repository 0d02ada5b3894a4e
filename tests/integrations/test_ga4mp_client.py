"""A GA4 Measurement Protocol client no one here wrote (the `ga4mp` package) sends a shop's hits to a tracker."""

from __future__ import annotations

import urllib.error
from datetime import date, datetime, timedelta

import httpx
import pytest
from ga4mp import GtagMP

from tests.conftest import count_rows, wait_for
from tests.processes import start_tracker_process
from tracker.ingest.keys import INGEST_KEYS
from tracker.sites import Site, add_site
from tracker.tokens import create_token

SOCKS = {"item_id": "SKU_30012", "item_name": "Wool Socks", "item_category": "Apparel", "price": 12.5}


@pytest.fixture
def tracker(tmp_path, clickhouse, database, ch):
    """`python -m tracker serve` on a free port, with site `shop`."""
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_FLUSH_INTERVAL_S": "0.2"}
    process = start_tracker_process(tmp_path / "data", env)
    add_site(ch, Site("shop"))
    try:
        yield process
    finally:
        process.process.terminate()
        process.process.wait(30)


def sender(base_url: str, api_secret: str, client_id: str | None = None) -> GtagMP:
    ga = GtagMP(api_secret=api_secret, measurement_id="shop", client_id="")
    ga.client_id = client_id or ga.random_client_id()
    # The package posts to Google's hosts; these attributes are where it sends (ga4mp/ga4mp.py).
    ga._base_domain = f"{base_url}/mp/collect"
    ga._validation_domain = f"{base_url}/debug/mp/collect"
    return ga


def ecommerce_event(ga: GtagMP, name: str, quantity: int, **params):
    event = ga.create_new_event(name)
    event.set_event_param("page_location", "https://shop.example/p/wool-socks?utm_source=partner&utm_medium=referral")
    event.set_event_param("currency", "EUR")
    event.set_event_param("value", SOCKS["price"] * quantity)
    for key, value in params.items():
        event.set_event_param(key, value)
    item = event.create_new_item(item_id=SOCKS["item_id"], item_name=SOCKS["item_name"])
    item.set_parameter("item_category", SOCKS["item_category"])
    item.set_parameter("price", SOCKS["price"])
    item.set_parameter("quantity", quantity)
    item.set_parameter("item_brand", "Fjellwear")
    item.set_parameter("item_variant", "grey")
    event.add_item_to_event(item)
    return event


def test_ga4mp_sends_a_shop_funnel_that_shows_one_visitor_and_the_revenue(tracker, ch):
    key = create_token(ch, "shop", kind=INGEST_KEYS)[1]
    query_token = create_token(ch, "shop")[1]
    ga = sender(tracker.base_url, key)
    ga.store.set_user_property("user_id", "customer-778")  # ga4mp sends user_id at the top of the body
    ga.store.set_user_property("customer_tier", "gold")  # and others as user_properties
    now = datetime.now()
    # Validation first, as Google advises: the debug endpoint answers 200 (the package raises on anything else).
    ga.send([ecommerce_event(ga, "view_item", 1)], validation_hit=True)
    # Backdated hits carry timestamp_micros (the package's `date`); the purchase is sent as it happens.
    ga.send([ecommerce_event(ga, "view_item", 1)], date=now - timedelta(minutes=3))
    ga.send([ecommerce_event(ga, "add_to_cart", 2)], date=now - timedelta(minutes=2))
    ga.send([ecommerce_event(ga, "purchase", 2, transaction_id="T_20001", shipping=4.9, tax=3.4)])
    assert wait_for(lambda: count_rows(ch), 3) == 3
    rows = ch.query("SELECT name, visitor_id, session_id, customer_id, source, props['user.customer_tier'], "
                    "items.item_id, items.quantity, items.item_brand, items.item_variant FROM events ORDER BY ts").result_rows
    assert [r[0] for r in rows] == ["view_item", "add_to_cart", "purchase"]
    assert len({r[1] for r in rows}) == 1 and len({r[2] for r in rows}) == 1  # one visitor, one session
    assert {r[3:6] for r in rows} == {("customer-778", "partner", "gold")}
    assert [r[6:] for r in rows] == [(["SKU_30012"], [q], ["Fjellwear"], ["grey"]) for q in (1, 2, 2)]
    order = ch.query("SELECT toFloat64(shipping), toFloat64(tax) FROM events WHERE name = 'purchase'").result_rows
    assert order == [(4.9, 3.4)]

    days = {"from": (date.today() - timedelta(days=1)).isoformat(), "to": (date.today() + timedelta(days=1)).isoformat()}
    auth = {"authorization": f"Bearer {query_token}"}
    funnel = httpx.get(f"{tracker.base_url}/api/v1/sites/shop/funnel", headers=auth,
                       params={**days, "step": ["view_item", "add_to_cart", "purchase"]})
    assert funnel.status_code == 200, funnel.text
    assert [s["count"] for s in funnel.json()["steps"]] == [1, 1, 1]
    stats = httpx.get(f"{tracker.base_url}/api/v1/sites/shop/stats", headers=auth, params=days)
    assert stats.status_code == 200, stats.text
    totals = stats.json()["totals"]
    assert (totals["visitors"], totals["orders"]) == (1, 1)
    assert [(r["currency"], r["revenue"]) for r in totals["revenue"]] == [("EUR", 25.0)]


def test_ga4mp_with_a_wrong_secret_gets_401_and_nothing_is_stored(tracker, ch):
    good = sender(tracker.base_url, create_token(ch, "shop", kind=INGEST_KEYS)[1])
    ga = sender(tracker.base_url, "fhk_not_a_real_key")
    with pytest.raises(urllib.error.HTTPError) as refused:
        ga.send([ecommerce_event(ga, "purchase", 1, transaction_id="T_1")])
    assert refused.value.code == 401
    assert b'"unauthorized"' in refused.value.read()
    good.send([ecommerce_event(good, "view_item", 1)])
    assert wait_for(lambda: count_rows(ch), 1) == 1
    assert count_rows(ch, "name = 'purchase'") == 0
