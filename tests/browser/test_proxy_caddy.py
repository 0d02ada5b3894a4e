"""First-party serving through Caddy with the Caddyfile of docs/integrations/proxy.md.

As tests/browser/test_proxy_nginx.py does for nginx, without a browser: Caddy runs the doc's
block (only the addresses and the shop's own part changed) in front of a tracker with the doc's
settings; shoppers connect from 127.0.0.2 and 127.0.0.3, Caddy reaches the tracker from 127.0.0.1.
"""

from __future__ import annotations

import urllib.request

import pytest

from tests.conftest import BROWSER_UA
from tests.processes import free_port
from tests.proxy_support import PROXY_ADDRESS, doc_settings, documented_caddy_site, post_event, start_caddy, visitor_of, visitors


@pytest.fixture
def tracker_settings():
    return doc_settings()


@pytest.fixture
def caddy(tracker, shop):
    port = free_port()
    site = documented_caddy_site(tracker.url.removeprefix("http://"), f"127.0.0.1:{port}",
                                 shop.url.replace("http://localhost", "127.0.0.1").removeprefix("http://"))
    server = start_caddy(site, port)
    yield server
    server.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"user-agent": BROWSER_UA}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_caddy_serves_the_aliased_tag_and_leaves_the_rest_to_the_shop(caddy, shop):
    shop.page("/product/merino-socks", src="/a/s.js")
    status, tag = get(caddy.url + "/a/s.js")
    assert status == 200 and 'new URL("/a/e",' in tag
    status, page = get(caddy.url + "/product/merino-socks")
    assert status == 200 and '<script defer src="/a/s.js" data-site="demo">' in page
    assert get(caddy.url + "/js/t.js")[0] == 404  # only the two paths reach the tracker: this one is the shop's


def test_through_caddy_each_shopper_address_is_one_visitor_and_a_forged_header_changes_nothing(caddy, tracker, ch, make_settings):
    post_event(caddy.url, "/a/e", "first", source="127.0.0.2")
    post_event(caddy.url, "/a/e", "again", source="127.0.0.2")
    post_event(caddy.url, "/a/e", "other", source="127.0.0.3")
    post_event(caddy.url, "/a/e", "forged", source="127.0.0.2", forwarded="203.0.113.5")
    seen = visitors(ch, ["first", "again", "other", "forged"])
    assert seen["first"] == seen["again"] == seen["forged"] == visitor_of(ch, make_settings(), "127.0.0.2", BROWSER_UA)
    assert seen["other"] == visitor_of(ch, make_settings(), "127.0.0.3", BROWSER_UA)
    assert visitor_of(ch, make_settings(), PROXY_ADDRESS, BROWSER_UA) not in seen.values()
