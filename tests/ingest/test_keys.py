"""Events from a shop's backend: ingest keys, no per-IP limit, the shopper's IP and User-Agent, one purchase."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tracker.app import create_app
from tracker.ingest.keys import INGEST_KEYS
from tracker.sites import Site, add_site
from tracker.tokens import create_token, revoke_token

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1"
BACKEND_UA = "python-requests/2.32"


@pytest.fixture
def shop(make_settings, ch):
    """The app with the per-IP limit on (1,000 events at once), site `shop`, an ingest key and a query token."""
    # Proxy headers trusted from the test client's peer ("testclient"): a test's browser can have a real address.
    settings = make_settings(rate_limit_ip_per_s=200, rate_limit_ip_burst=1000, trust_proxy_headers=True,
                             trusted_proxies="testclient")
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        add_site(ch, Site("shop"))
        add_site(ch, Site("other"))
        assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
        client.key_id, client.key = create_token(ch, "shop", kind=INGEST_KEYS)
        client.query_token = create_token(ch, "shop")[1]
        yield client


def backend(client, body, key=None):
    return client.post("/api/event", json=body,
                       headers={"authorization": f"Bearer {key or client.key}", "user-agent": BACKEND_UA})


def error(response) -> tuple[int, str, dict[str, str]]:
    body = response.json()["error"]
    return response.status_code, body["code"], {f["path"]: f["reason"] for f in body["fields"]}


def test_a_backend_with_a_key_is_not_held_to_the_per_ip_limit(shop, ch):
    for start in range(0, 2000, 500):
        r = backend(shop, [{"site": "shop", "name": "order_shipped", "props": {"n": i}} for i in range(start, start + 500)])
        assert r.status_code == 202, r.text
        assert r.json()["accepted"] == 500  # its own User-Agent is no shopper's: kept, not dropped as a bot
    # The same 2,000 events from a browser at the same address: the limit holds.
    statuses = [shop.post("/api/event", json=[{"site": "shop", "name": "x"}] * 500).status_code for _ in range(4)]
    assert statuses[:2] == [202, 202] and 429 in statuses[2:]
    assert wait_for(lambda: count_rows(ch, "name = 'order_shipped'"), 2000) == 2000


def test_the_shoppers_ip_and_user_agent_set_the_visitor_and_device(shop, ch):
    r = backend(shop, {"site": "shop", "name": "signup", "client_ip": "shop.example", "user_agent": PHONE_UA})
    assert error(r) == (400, "invalid_events", {"events[0].client_ip": "must be an IPv4 or IPv6 address"})
    r = backend(shop, [
        {"site": "shop", "name": "signup", "client_ip": "203.0.113.50", "user_agent": PHONE_UA},
        {"site": "shop", "name": "signup", "client_ip": "203.0.113.51", "user_agent": PHONE_UA},
        {"site": "shop", "name": "signup"},
        {"site": "shop", "name": "signup", "client_ip": "203.0.113.52", "user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
    ])
    assert r.json() == {"accepted": 3, "dropped": {"bot": 1}, "rejected": []}
    rows = wait_for(lambda: len(ch.query("SELECT 1 FROM events WHERE name = 'signup'").result_rows), 3)
    assert rows == 3
    found = ch.query("SELECT visitor_id, device, browser FROM events WHERE name = 'signup' ORDER BY device").result_rows
    visitors = {v for v, _, _ in found}
    assert len(visitors) == 3  # two shoppers, and the backend's own address for the event without client_ip
    assert sorted((d, b) for _, d, b in found) == [("", ""), ("mobile", "Mobile Safari"), ("mobile", "Mobile Safari")]
    # Neither the shopper's IP nor the User-Agent text is stored.
    stored = repr(ch.query("SELECT * FROM events WHERE name = 'signup'").result_rows)
    assert "203.0.113.50" not in stored and "iPhone" not in stored
    # The same shopper in a later request of the backend: the same visitor.
    backend(shop, {"site": "shop", "name": "checkout_done", "client_ip": "203.0.113.50", "user_agent": PHONE_UA})
    assert wait_for(lambda: count_rows(ch, "name = 'checkout_done'"), 1) == 1
    again = ch.query("SELECT visitor_id FROM events WHERE name = 'checkout_done'").result_rows[0][0]
    assert again in visitors


def test_without_a_key_the_shopper_fields_are_refused(shop, ch):
    r = shop.post("/api/event", json=[{"site": "shop", "name": "x"}, {"site": "shop", "name": "x", "client_ip": "192.0.2.1",
                                                                      "user_agent": PHONE_UA}])
    assert error(r) == (401, "unauthorized", {"events[1].client_ip": "may only be sent with an ingest key (Authorization: Bearer <key>)",
                                              "events[1].user_agent": "may only be sent with an ingest key (Authorization: Bearer <key>)"})
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_bad_revoked_or_other_sites_key_is_refused(shop, ch):
    r = backend(shop, {"site": "shop", "name": "x"}, key="fhk_nope_not-a-key")
    assert error(r) == (401, "unauthorized", {"Authorization": "unknown or revoked ingest key"})
    r = backend(shop, {"site": "shop", "name": "x"}, key=shop.key + "x")
    assert r.status_code == 401
    # A query token is no ingest key: the request is a browser's, so the shopper fields are refused.
    assert backend(shop, {"site": "shop", "name": "x"}, key=shop.query_token).status_code == 202
    assert backend(shop, {"site": "shop", "name": "x", "client_ip": "192.0.2.1"}, key=shop.query_token).status_code == 401
    r = backend(shop, [{"site": "other", "name": "x"}, {"site": "shop", "name": "x"}])
    assert r.json()["rejected"] == [{"index": 0, "fields": [{"path": "events[0].site", "reason": "the ingest key is for another site"}]}]
    revoke_token(ch, shop.key_id, INGEST_KEYS)
    shop.app.state.tracker.intake.ingest_keys.reloads.good_from = float("-inf")  # as if TOKEN_CACHE_S had passed
    assert backend(shop, {"site": "shop", "name": "x"}).status_code == 401


def test_a_key_created_right_after_a_reload_is_accepted_at_once(shop, ch):
    keys = shop.app.state.tracker.intake.ingest_keys
    keys.reloads.gap_s = 2.0  # wider than the steps below take, so the throttle surely holds
    assert backend(shop, {"site": "shop", "name": "x"}, key="fhk_nope_not-a-key").status_code == 401  # reloads now
    loads = keys.reloads.loads
    _, key = create_token(ch, "shop", kind=INGEST_KEYS)
    r = backend(shop, {"site": "shop", "name": "fresh_key"}, key=key)
    assert (r.status_code, r.json()["accepted"]) == (202, 1), r.text
    assert keys.reloads.loads == loads + 1
    assert wait_for(lambda: count_rows(ch, "name = 'fresh_key'"), 1) == 1


def test_a_burst_of_bad_keys_reloads_at_most_once_per_interval(shop):
    keys = shop.app.state.tracker.intake.ingest_keys
    keys.reloads.gap_s = 0.5
    loads, begin = keys.reloads.loads, time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: backend(shop, {"site": "shop", "name": "x"}, key=f"fhk_{i:012x}_bad").status_code,
                                 range(80)))
    elapsed = time.monotonic() - begin
    assert statuses == [401] * 80
    assert 1 <= keys.reloads.loads - loads <= elapsed / 0.5 + 1


@pytest.mark.parametrize("backend_first", [False, True])
def test_a_purchase_from_browser_and_backend_counts_once(shop, ch, backend_first):
    purchase = {"site": "shop", "name": "purchase", "transaction_id": "T-1", "value": 50, "currency": "EUR"}
    # The shopper viewed the item before buying, whichever copy of the purchase arrives first: stamped
    # at arrival, the view could otherwise fall a second after the backend's purchase on a busy machine.
    viewed = {"site": "shop", "name": "view_item", "ts": int(time.time() * 1000) - 5000}
    browser = lambda: shop.post("/api/event", json=[viewed, purchase], headers={"x-forwarded-for": "192.0.2.1"})  # noqa: E731
    server = lambda: backend(shop, {**purchase, "client_ip": "192.0.2.1", "user_agent": BROWSER_UA})  # noqa: E731
    first, second = (server, browser) if backend_first else (browser, server)
    assert first().status_code == 202
    answer = second().json()
    assert answer["dropped"] == {"duplicate": 1}
    assert wait_for(lambda: count_rows(ch), 2) == 2
    days = {"from": (date.today() - timedelta(days=1)).isoformat(), "to": (date.today() + timedelta(days=1)).isoformat()}
    auth = {"authorization": f"Bearer {shop.query_token}"}
    stats = shop.get("/api/v1/sites/shop/stats", params=days, headers=auth)
    assert stats.status_code == 200, stats.text
    totals = stats.json()["totals"]
    assert (totals["orders"], totals["revenue"][0]["revenue"]) == (1, 50.0)
    funnel = shop.get("/api/v1/sites/shop/funnel", params={**days, "step": ["view_item", "purchase"]}, headers=auth).json()
    # The backend sent the shopper's address and agent: one visitor, who viewed and bought once.
    assert [s["count"] for s in funnel["steps"]] == [1, 1]
    assert totals["visitors"] == 1 and totals["conversion_rate"] == 100.0


def test_cli_creates_lists_and_revokes_keys(shop, ch, make_settings):
    settings = make_settings()
    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": settings.clickhouse_url, "TRACKER_DATA_DIR": settings.data_dir}
    run = lambda *a: subprocess.run([sys.executable, "-m", "tracker", "key", *a], capture_output=True, text=True, env=env)  # noqa: E731
    out = run("create", "shop", "--note", "erp")
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert key.startswith("fhk_") and "shown only now" in out.stderr
    key_id = key[4:].split("_", 1)[0]
    assert key_id in run("list").stdout and key not in run("list").stdout
    assert backend(shop, {"site": "shop", "name": "x"}, key=key).status_code == 202
    assert run("revoke", key_id).returncode == 0
    assert run("create", "nope").returncode == 2
