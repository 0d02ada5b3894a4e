"""The Shopify custom pixel (js-snippet/dist/shopify-pixel.js) in Chromium, in a sandbox shaped like Shopify's
(tests/browser/shopify_sandbox.py), fed the documented payload of every standard event."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from tests.browser.conftest import stored, wait_for_rows, wait_until
from tests.conftest import count_rows, wait_for
from tests.browser.shopify_sandbox import STOREFRONT, checkout, install, journey
from tests.integrations.shopify_support import SECRET, order, webhook_headers
from tracker.integrations.shopify_secrets import set_secret
from tracker.tokens import create_token

DEMO = "site = 'demo'"
FUNNEL = ["page_view", "view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"]


@pytest.fixture
def storefront(shop):
    install(shop, "demo")
    return shop


def open_storefront(tab, shop, consent: bool = True):
    tab.page.goto(shop.url + ("/storefront" if consent else "/storefront-no-consent"))
    frame = next(f for f in tab.page.frames if "/pixel-sandbox" in f.url)
    frame.wait_for_function("window.pixelLoaded === true")
    return frame


def publish(frame, name: str, data: dict, href: str, referrer: str = "") -> None:
    frame.evaluate("([name, data, page]) => publish(name, data, page)", [name, data, {"href": href, "referrer": referrer}])


def walk(tab, shop, pages, consent: bool = True, referrer: str = "https://mail.example.net/") -> None:
    """Each page a new load of the storefront, so a new pixel; what it queued leaves as the page goes."""
    for href, events in pages:
        frame = open_storefront(tab, shop, consent)
        for name, data in events:
            publish(frame, name, data, href, referrer)
        referrer = href


def funnel(tracker, ch) -> list[tuple[str, int]]:
    _, token = create_token(ch, "demo")
    today = date.today()
    params = [("from", (today - timedelta(days=1)).isoformat()), ("to", (today + timedelta(days=1)).isoformat())]
    r = httpx.get(f"{tracker.url}/api/v1/sites/demo/funnel", params=params + [("step", s) for s in FUNNEL],
                  headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return [(s["label"], s["count"]) for s in r.json()["steps"]]


def test_the_sandbox_is_shaped_like_shopifys(open_tab, storefront):
    frame = open_storefront(open_tab(), storefront)
    # No way to the shop's page or to storage of its own: only the API objects.
    assert frame.evaluate("() => { try { return parent.document.title } catch { return 'blocked' } }") == "blocked"
    assert frame.evaluate("() => { try { localStorage.length; return 'open' } catch { return 'blocked' } }") == "blocked"
    assert frame.evaluate("() => origin") == "null"


def test_a_journey_through_checkout_is_stored_with_one_visitor_and_one_session(open_tab, storefront, tracker, ch):
    tab = open_tab()
    walk(tab, storefront, journey("5678901234567"))
    assert wait_for_rows(ch, 19, DEMO) == 19
    assert not tab.errors
    names = [r[0] for r in stored(ch, "name", DEMO)]
    assert names == [
        "page_view", "page_view", "view_item_list", "page_view", "search", "page_view", "view_item", "add_to_cart",
        "add_to_cart", "remove_from_cart", "page_view", "view_cart", "begin_checkout", "add_contact_info",
        "add_address_info", "add_shipping_info", "add_payment_info", "page_view", "purchase"]
    # The storefront's pages, never the sandbox's own URL; the source from the first page's UTM tags.
    paths = {r[0] for r in stored(ch, "path", DEMO)}
    assert paths == {"/", "/collections/kitchen", "/search", "/products/linen-apron", "/cart",
                     "/checkouts/cn/4a1b2c3d/information", "/checkouts/cn/4a1b2c3d/thank-you"}
    [(source, medium, campaign, referrer_host)] = stored(ch, "source, medium, campaign, referrer_host", DEMO + " AND path = '/'")
    assert (source, medium, campaign) == ("newsletter", "email", "spring") and referrer_host == "mail.example.net"
    # Consent given: visitor and session kept in the top frame's storage across the seven page loads.
    [(visitors, sessions)] = ch.query(f"SELECT uniqExact(visitor_id), groupUniqArray(session_id) FROM events WHERE {DEMO}").result_rows
    assert visitors == 1 and len(sessions) == 1 and re.fullmatch(r"[0-9a-f-]{36}", sessions[0])
    assert tab.page.evaluate("() => sessionStorage.getItem('fh_sid')") == sessions[0]

    [purchase] = stored(ch, "transaction_id, toFloat64(value), currency, items.item_id, items.item_name, items.quantity, "
                            "arrayMap(p -> toFloat64(p), items.price), items.item_category, props, coupon, toFloat64(shipping), "
                            "toFloat64(tax), items.item_brand, items.item_variant, arrayMap(d -> toFloat64(d), items.discount)",
                        DEMO + " AND name = 'purchase'")
    assert purchase == ("5678901234567", 59.9, "EUR", ["8123456789", "8123456790"], ["Linen apron", "Tea towel"], [2, 1],
                        [19.95, 20.0], ["Aprons", "Kitchen"],
                        {"checkout_token": "4a1b2c3d4e5f60718293a4b5c6d7e8f9",
                         "fh_visitor": tab.page.evaluate("() => localStorage.getItem('fh_vid')")},
                        # The order's coupon, shipping and tax in their columns; the vendor is the brand, a variant's
                        # title the variant ("Default Title" names none), the line's discount per unit.
                        "SPRING10", 5.0, 9.56, ["Funnel Linen", "Funnel Linen"], ["Sand", ""], [2.5, 0.0])
    [added] = stored(ch, "toFloat64(value), items.item_id, items.quantity, items.item_brand, items.item_variant",
                     DEMO + " AND name = 'add_to_cart' AND value < 40")
    assert added == (39.9, ["8123456789"], [2], ["Funnel Linen"], ["Sand"])
    [listed] = stored(ch, "items.item_id, props", DEMO + " AND name = 'view_item_list'")
    assert listed == (["8123456789", "8123456790"], {"item_list_id": "424242", "item_list_name": "Kitchen"})
    [searched] = stored(ch, "items.item_name, props", DEMO + " AND name = 'search'")
    assert searched == (["Linen apron"], {"search_term": "apron"})
    [(cart_value, cart_quantities)] = stored(ch, "toFloat64(value), items.quantity", DEMO + " AND name = 'view_cart'")
    assert (cart_value, cart_quantities) == (59.9, [2, 1])

    assert funnel(tracker, ch) == [(step, 1) for step in FUNNEL]


def test_without_consent_events_are_cookieless_until_consent_is_collected(open_tab, storefront, ch):
    tab = open_tab()
    href = f"{STOREFRONT}/products/linen-apron"
    walk(tab, storefront, [(href, [("page_viewed", {})]), (href, [("page_viewed", {})])], consent=False)
    assert wait_for_rows(ch, 2, DEMO) == 2
    assert stored(ch, "session_id", DEMO) == [("",), ("",)]
    assert tab.page.evaluate("() => Object.keys(localStorage).concat(Object.keys(sessionStorage))") == []
    # The shopper accepts the banner on this page: from then on the visitor is kept.
    frame = open_storefront(tab, storefront, consent=False)
    frame.evaluate("() => collectConsent(true)")
    assert wait_until(lambda: tab.page.evaluate("() => localStorage.getItem('fh_vid')"))
    publish(frame, "product_viewed", {"productVariant": {"id": "1", "title": "x", "price": {"amount": 1, "currencyCode": "EUR"}}}, href)
    assert wait_for_rows(ch, 1, DEMO + " AND name = 'view_item' AND session_id != ''") == 1
    # And withdraws it: the kept ids are removed.
    frame.evaluate("() => collectConsent(false)")
    assert wait_until(lambda: tab.page.evaluate("() => localStorage.getItem('fh_vid') === null && sessionStorage.getItem('fh_sid') === null"))


def test_a_failed_send_is_retried_and_stored_once(open_tab, storefront, ch):
    tab = open_tab()
    failed = []

    def fail_first(route):
        if not failed:
            failed.append(route.request.post_data)
            return route.fulfill(status=503, body='{"error": {"code": "spool_full"}}', headers={"access-control-allow-origin": "*"})
        route.continue_()

    tab.context.route(f"{storefront.tracker_url}/api/event", fail_first)
    frame = open_storefront(tab, storefront)
    publish(frame, "page_viewed", {}, f"{STOREFRONT}/")
    # Playwright runs route handlers only during its own calls: each poll makes one (tab.sent).
    assert wait_for(lambda: len(tab.sent) and count_rows(ch, DEMO), 1) == 1
    assert failed and '"page_view"' in failed[0]
    assert len([r for r in tab.sent if r.method == "POST"]) == 2


def test_the_webhook_and_the_pixel_count_one_order(open_tab, storefront, tracker, ch):
    set_secret(ch, "demo", SECRET)
    tab = open_tab()
    # The order's id as a GraphQL id in the pixel, the number in the webhook: one transaction.
    walk(tab, storefront, journey("gid://shopify/Order/5678901234567"))
    assert wait_for_rows(ch, 1, DEMO + " AND name = 'purchase'") == 1
    body = httpx.Request("POST", "/", json=order()).content
    r = httpx.post(f"{tracker.url}/integrations/shopify/demo/orders", content=body, headers=webhook_headers(body))
    assert r.status_code == 200 and r.json()["dropped"] == {"duplicate": 1}
    # A checkout the pixel never saw complete (tab closed on the payment page): only the webhook has it.
    other = httpx.Request("POST", "/", json=order(order_id=99)).content
    assert httpx.post(f"{tracker.url}/integrations/shopify/demo/orders", content=other,
                      headers=webhook_headers(other)).json()["accepted"] == 1
    assert wait_for_rows(ch, 2, DEMO + " AND name = 'purchase'") == 2
    assert sorted(stored(ch, "transaction_id", DEMO + " AND name = 'purchase'")) == [("5678901234567",), ("99",)]
    assert funnel(tracker, ch)[-1] == ("purchase", 1)
    assert checkout()["order"] is None  # the steps before completion carry no order


@pytest.mark.parametrize("consent", [True, False])
def test_a_webhook_ahead_of_the_thank_you_page_is_the_purchase_of_the_checkouts_visitor(open_tab, storefront, tracker, ch, consent):
    set_secret(ch, "demo", SECRET)
    tab = open_tab()
    *before, thank_you = journey("5678901234567")
    walk(tab, storefront, before, consent=consent)
    assert wait_for_rows(ch, 17, DEMO) == 17  # the checkout's steps are stored before the order is paid
    # With consent the webhook finds the pixel's kept visitor by the checkout token; without, the
    # buyer's IP and User-Agent (client_details, as Shopify saw this browser) give the same cookieless hash.
    user_agent = tab.page.evaluate("() => navigator.userAgent")
    paid = datetime.now(timezone.utc).isoformat(timespec="seconds")  # Shopify's order time: just after the payment step
    data = order(client_details={"browser_ip": "127.0.0.1", "user_agent": user_agent, "accept_language": "de-DE"},
                 created_at=paid, processed_at=paid)
    body = httpx.Request("POST", "/", json=data).content
    r = httpx.post(f"{tracker.url}/integrations/shopify/demo/orders", content=body, headers=webhook_headers(body))
    assert r.status_code == 200 and r.json()["accepted"] == 1
    walk(tab, storefront, [thank_you], consent=consent, referrer=before[-1][0])
    assert wait_for_rows(ch, 18, DEMO) == 18  # the thank-you page's page_view; its purchase is the webhook's
    [(via, session)] = stored(ch, "props['via'], session_id", DEMO + " AND name = 'purchase'")
    assert via == "shopify_webhook"
    [(visitors, sessions)] = ch.query(f"SELECT uniqExact(visitor_id), uniqExact(session_id) FROM events WHERE {DEMO}").result_rows
    assert (visitors, sessions) == (1, 1) and (session != "") == consent
    assert funnel(tracker, ch) == [(step, 1) for step in FUNNEL]


def test_with_consent_events_that_failed_are_sent_from_the_next_page(open_tab, storefront, ch):
    tab = open_tab()
    down = lambda route: route.fulfill(status=503, body="{}", headers={"access-control-allow-origin": "*"})  # noqa: E731
    tab.context.route(f"{storefront.tracker_url}/api/event", down)
    frame = open_storefront(tab, storefront)
    publish(frame, "product_viewed", {"productVariant": {"id": "1", "title": "x", "price": {"amount": 1, "currencyCode": "EUR"}}},
            f"{STOREFRONT}/products/x")
    # The failed batch is kept in the shop's localStorage (through browser.localStorage).
    assert wait_until(lambda: '"view_item"' in (tab.page.evaluate("() => localStorage.getItem('fh_q')") or ""))
    tab.context.unroute(f"{storefront.tracker_url}/api/event")
    open_storefront(tab, storefront)
    assert wait_for_rows(ch, 1, DEMO + " AND name = 'view_item'") == 1
    assert wait_until(lambda: tab.page.evaluate("() => localStorage.getItem('fh_q')") == "[]")
