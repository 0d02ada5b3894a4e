"""X-Forwarded-For believed only from trusted proxies, and then its right-most untrusted address is the shopper."""

import pytest
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.proxy_support import visitor_of
from tracker.app import create_app

PEER = "testclient"  # the address Starlette's TestClient connects from


def send(client, name: str, forwarded: str | None) -> None:
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    r = client.post("/api/event", json={"site": "demo", "name": name}, headers=headers)
    assert r.status_code == 202 and r.json()["accepted"] == 1, r.text


def stored_visitors(ch, count: int) -> dict[str, int]:
    assert wait_for(lambda: count_rows(ch), count) == count
    return dict(ch.query("SELECT name, visitor_id FROM events").result_rows)


@pytest.fixture
def served(make_settings):
    def serve(**overrides):
        settings = make_settings(**overrides)
        return settings, TestClient(create_app(settings), headers={"user-agent": BROWSER_UA})
    return serve


def test_behind_a_trusted_proxy_the_visitor_is_the_forwarded_address(served, ch):
    settings, client = served(trust_proxy_headers=True, trusted_proxies=f"{PEER},10.0.0.0/8")
    with client:
        send(client, "a", "198.51.100.7")
        send(client, "b", "198.51.100.7")
        send(client, "c", "198.51.100.8")
        # The shopper wrote an X-Forwarded-For of their own; the proxy appended the address it saw.
        send(client, "d", "6.6.6.6, 198.51.100.7")
        # Two proxies of ours (the edge in 10/8, then the peer): the address before them.
        send(client, "e", "7.7.7.7, 198.51.100.8, 10.1.2.3")
        send(client, "f", None)
    visitors = stored_visitors(ch, 6)
    assert visitors["a"] == visitors["b"] == visitors["d"] == visitor_of(ch, settings, "198.51.100.7")
    assert visitors["c"] == visitors["e"] == visitor_of(ch, settings, "198.51.100.8")
    assert visitors["f"] == visitor_of(ch, settings, PEER)
    assert len(set(visitors.values())) == 3


def test_from_an_untrusted_peer_x_forwarded_for_is_not_believed(served, ch):
    # Trust on, but only loopback is a proxy (the default): the test client is a stranger.
    settings, client = served(trust_proxy_headers=True)
    assert settings.trusted_proxies == "127.0.0.1,::1"
    with client:
        send(client, "a", "198.51.100.7")
        send(client, "b", "198.51.100.8")
    visitors = stored_visitors(ch, 2)
    assert visitors["a"] == visitors["b"] == visitor_of(ch, settings, PEER)


def test_without_trust_x_forwarded_for_is_ignored(served, ch):
    settings, client = served(trusted_proxies="*")  # a list alone trusts nothing: the switch is off
    with client:
        send(client, "a", "198.51.100.7")
    assert stored_visitors(ch, 1)["a"] == visitor_of(ch, settings, PEER)


def test_the_rate_limit_counts_the_forwarded_address(served):
    _, client = served(trust_proxy_headers=True, trusted_proxies=PEER, rate_limit_ip_per_s=0.001, rate_limit_ip_burst=1)
    with client:
        send(client, "a", "198.51.100.7")
        limited = client.post("/api/event", json={"site": "demo", "name": "b"}, headers={"x-forwarded-for": "198.51.100.7"})
        assert limited.status_code == 429
        send(client, "c", "198.51.100.8")  # another shopper behind the same proxy is not held back
