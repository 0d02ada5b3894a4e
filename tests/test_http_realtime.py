"""GET /api/v1/sites/{site}/realtime over HTTP: the last 30 minutes' figures and newest events,
exact on seeded events, token rules, parameter errors, CSV, and events sent through ingest showing up."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import wait_for
from tests.query_support import event, insert
from tracker.sites import Site, add_site
from tracker.tokens import create_token

URL = "/api/v1/sites/shop/realtime"


@pytest.fixture
def api(client, ch):
    add_site(ch, Site("shop", "Shop", (), "Europe/Berlin"))
    add_site(ch, Site("other", "Other"))
    sites = client.app.state.tracker.sites
    assert wait_for(lambda: sites.get("shop") is not None and sites.get("other") is not None, True)
    client.headers["authorization"] = f"Bearer {create_token(ch, 'shop')[1]}"
    return client


def minutes_ago(n: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=n)


def seed(ch) -> None:
    """In the window: visitors 1, 2, 3 (1 twice); outside it: visitor 4, 40 minutes ago; another site's visitor."""
    insert(ch, [
        event("page_view", minutes_ago(25), 1, path="/"),
        event("view_item", minutes_ago(20), 1, path="/shoes"),
        event("page_view", minutes_ago(10), 2, path="/bags", source="google"),
        event("purchase", minutes_ago(2), 3, path="/thanks", value=59.9, currency="EUR", transaction_id="T-1", device="mobile"),
        event("page_view", minutes_ago(40), 4, path="/old"),
        event("page_view", minutes_ago(1), 5, site="other"),
    ])


def test_the_last_30_minutes_exactly(api, ch):
    seed(ch)
    r = api.get(URL)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["site"], body["timezone"]) == ("shop", "Europe/Berlin")
    assert (body["visitors"], body["page_views"], body["events"]) == (3, 2, 4)
    assert [(e["name"], e["path"]) for e in body["newest"]] == [
        ("purchase", "/thanks"), ("page_view", "/bags"), ("view_item", "/shoes"), ("page_view", "/"),
    ]
    first = body["newest"][0]
    assert (first["value"], first["currency"], first["device"], first["source"]) == (59.9, "EUR", "mobile", "direct")
    assert body["newest"][1]["value"] is None and "visitor_id" not in first
    since, as_of = datetime.fromisoformat(body["since"]), datetime.fromisoformat(body["as_of"])
    assert as_of - since == timedelta(minutes=30) and since.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert abs(as_of - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert body["flush_interval_s"] == api.app.state.tracker.settings.flush_interval_s
    assert [e["name"] for e in api.get(URL, params={"limit": 1}).json()["newest"]] == ["purchase"]


def test_csv_lists_the_newest_events(api, ch):
    seed(ch)
    r = api.get(URL, params={"format": "csv", "limit": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["ts", "name", "path", "source", "device", "value", "currency"]
    assert [row[1:3] for row in rows[1:]] == [["purchase", "/thanks"], ["page_view", "/bags"]]


def test_tokens_and_parameters(api, ch):
    assert api.get(URL, headers={"authorization": ""}).status_code == 401
    assert api.get("/api/v1/sites/other/realtime").status_code == 403
    assert api.get("/api/v1/sites/nope/realtime").status_code == 404
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}):
        r = api.get(URL, params=bad)
        assert r.status_code == 400
        assert r.json()["error"]["fields"] == [{"path": "limit", "reason": "must be a whole number from 1 to 100"}]
    r = api.get(URL, params={"from": "2024-01-01"})
    assert r.status_code == 400 and r.json()["error"]["fields"][0]["path"] == "from"


def test_an_empty_site_answers_zeros(api):
    body = api.get(URL).json()
    assert (body["visitors"], body["page_views"], body["events"], body["newest"]) == (0, 0, 0, [])


def test_an_event_sent_now_appears_after_the_flush(api):
    r = api.post("/api/event", json={"site": "shop", "name": "page_view", "url": "https://shop.example/live"})
    assert r.status_code == 202 and r.json()["accepted"] == 1
    newest = lambda: [e["path"] for e in api.get(URL).json()["newest"]]  # noqa: E731
    assert wait_for(newest, ["/live"]) == ["/live"]
