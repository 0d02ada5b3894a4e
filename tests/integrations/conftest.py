"""Fixtures of the integration tests: an app with a shop site, its ingest key and query token."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import wait_for
from tracker.app import create_app
from tracker.ingest.keys import INGEST_KEYS
from tracker.sites import Site, add_site
from tracker.tokens import create_token

SENDER_UA = "python-requests/2.32"  # a server's: not a shopper's, and no reason to drop its events


@pytest.fixture
def make_shop(make_settings, ch):
    """The app with site `shop` (an ingest key, a query token) and site `other` (a key too)."""
    clients = []

    def make(**overrides) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)), headers={"user-agent": SENDER_UA})
        client.__enter__()
        clients.append(client)
        add_site(ch, Site("shop"))
        add_site(ch, Site("other"))
        assert wait_for(lambda: client.app.state.tracker.sites.get("other") is not None, True)
        client.key = create_token(ch, "shop", kind=INGEST_KEYS)[1]
        client.other_key = create_token(ch, "other", kind=INGEST_KEYS)[1]
        client.query_token = create_token(ch, "shop")[1]
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def shop(make_shop) -> TestClient:
    return make_shop()
