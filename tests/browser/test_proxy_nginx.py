"""First-party serving through Debian's nginx with the configuration of docs/integrations/proxy.md.

nginx runs the doc's block (only the ports and the shop's own part changed) in front of a
tracker configured with the doc's settings; the shop's pages come through the same nginx. Every
request here comes from the loopback network, so its addresses stand in for the internet: nginx
sees shoppers connect from 127.0.0.2 and 127.0.0.3 (sockets bound to them), and reaches the
tracker from 127.0.0.1, its trusted proxy address. Chromium can only connect from 127.0.0.1,
itself trusted: its shopper address comes in an X-Forwarded-For it sends, as from a CDN in front.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import DESKTOP_CHROME, wait_for_rows
from tests.conftest import BROWSER_UA
from tests.processes import free_port
from tests.proxy_support import PROXY_ADDRESS, doc_block, doc_settings, documented_server, post_event, start_nginx, visitor_of, visitors
SHOPPER = "198.51.100.20"


@pytest.fixture
def tracker_settings():
    return doc_settings()


@pytest.fixture
def nginx(tracker, shop):
    port = free_port()
    block = documented_server(tracker.url.removeprefix("http://"), f"127.0.0.1:{port}",
                              shop.url.replace("http://localhost", "127.0.0.1").removeprefix("http://"))
    server = start_nginx(block, port)
    yield server
    server.stop()


def test_the_doc_settings_are_the_first_party_aliases():
    settings = doc_settings()
    assert settings["snippet_paths"].split(",")[-1] == "/a/s.js" and settings["ingest_paths"].split(",")[-1] == "/a/e"
    assert settings["trust_proxy_headers"] is True
    assert re.search(r'src="/a/s\.js"', doc_block("html"))


def test_chromium_loads_the_tag_through_nginx_and_its_events_land_as_the_shopper(browser, shop, nginx, tracker, ch, make_settings):
    tag_src = re.search(r'src="([^"]+)"', doc_block("html")).group(1)
    shop.page("/product/merino-socks", src=tag_src, before=(
        "fh('view_item', {currency: 'EUR', value: 14.5, items: [{item_id: 'SKU-2002', item_name: 'Merino Socks', price: 14.5}]})"
    ))
    context = browser.new_context(user_agent=DESKTOP_CHROME, extra_http_headers={"X-Forwarded-For": SHOPPER})
    requested: list[tuple[str, str]] = []
    context.on("requestfinished", lambda r: requested.append((r.method, r.url)))
    try:
        page = context.new_page()
        page.goto(nginx.url + "/product/merino-socks")
        assert wait_for_rows(ch, 2) == 2, nginx.log()
        page.wait_for_timeout(0)  # deliver the browser's request events
    finally:
        context.close()
    rows = ch.query("SELECT name, path, visitor_id, value, items.item_id FROM events ORDER BY name").result_rows
    assert [(name, path, value, list(items)) for name, path, _, value, items in rows] == [
        ("page_view", "/product/merino-socks", None, []),
        ("view_item", "/product/merino-socks", 14.5, ["SKU-2002"]),
    ]
    # The shopper's address, not nginx's.
    assert {row[2] for row in rows} == {visitor_of(ch, make_settings(), SHOPPER, DESKTOP_CHROME)}
    assert rows[0][2] != visitor_of(ch, make_settings(), PROXY_ADDRESS, DESKTOP_CHROME)
    # Everything came from the shop's origin: the tag from the alias, its events to the paired one.
    assert ("GET", nginx.url + "/a/s.js") in requested and ("POST", nginx.url + "/a/e") in requested
    assert not [url for _, url in requested if not url.startswith(nginx.url)]
    assert "POST /a/e HTTP/1.1\" 202" in nginx.log()


def test_through_nginx_each_shopper_address_is_one_visitor_and_a_forged_header_changes_nothing(nginx, tracker, ch, make_settings):
    post_event(nginx.url, "/a/e", "first", source="127.0.0.2")
    post_event(nginx.url, "/a/e", "again", source="127.0.0.2")
    post_event(nginx.url, "/a/e", "other", source="127.0.0.3")
    # A shopper writing their own X-Forwarded-For: nginx appends the address it saw, which wins.
    post_event(nginx.url, "/a/e", "forged", source="127.0.0.2", forwarded="203.0.113.5")
    seen = visitors(ch, ["first", "again", "other", "forged"])
    assert seen["first"] == seen["again"] == seen["forged"] == visitor_of(ch, make_settings(), "127.0.0.2", BROWSER_UA)
    assert seen["other"] == visitor_of(ch, make_settings(), "127.0.0.3", BROWSER_UA)
    assert seen["first"] != seen["other"]
    assert visitor_of(ch, make_settings(), PROXY_ADDRESS, BROWSER_UA) not in seen.values()


def test_straight_to_the_tracker_a_forwarded_header_from_a_stranger_is_not_believed(nginx, tracker, ch, make_settings):
    post_event(tracker.url, "/a/e", "direct", source="127.0.0.2", forwarded="203.0.113.5")
    post_event(tracker.url, "/api/event", "direct-default", source="127.0.0.2", forwarded="203.0.113.6")
    seen = visitors(ch, ["direct", "direct-default"])
    assert seen["direct"] == seen["direct-default"] == visitor_of(ch, make_settings(), "127.0.0.2", BROWSER_UA)
