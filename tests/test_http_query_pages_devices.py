"""/pages and /devices over HTTP: a token is needed, parameter errors come together in the one
error shape, JSON and CSV carry the hand-computed figures (tests/test_queries_pages.py and
tests/test_queries_devices.py check the rules in detail)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.conftest import wait_for
from tests.query_support import T0, at, event, insert
from tracker.sites import Site, add_site
from tracker.tokens import create_token

BASE = "/api/v1/sites/shop"
DAYS = {"from": (T0.date() - timedelta(days=1)).isoformat(), "to": (T0.date() + timedelta(days=1)).isoformat()}
PHONE = {"device": "mobile", "browser": "Chrome", "os": "Android"}


@pytest.fixture
def api(client, ch):
    add_site(ch, Site("shop"))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    insert(ch, [
        # v1 on a laptop: / then /shoes, buys (sent from /thanks). v2 on a phone from google: /shoes only.
        event("page_view", at(0), 1, path="/"),
        event("page_view", at(60), 1, path="/shoes"),
        event("purchase", at(120), 1, path="/thanks", transaction_id="o1", value=20, currency="EUR"),
        event("page_view", at(600), 2, path="/shoes", source="google", **PHONE),
    ])
    client.headers["authorization"] = f"Bearer {create_token(ch, 'shop')[1]}"
    return client


def test_a_token_is_needed(api):
    for path in ("pages", "devices"):
        assert api.get(f"{BASE}/{path}", headers={"authorization": ""}).status_code == 401


def test_parameter_errors_come_together(api):
    r = api.get(f"{BASE}/pages", params={"kind": "landing", "limit": "0", "filter": "colour==red"})
    assert r.status_code == 400
    reasons = {f["path"]: f["reason"] for f in r.json()["error"]["fields"]}
    assert set(reasons) == {"kind", "limit", "filter"} and reasons["kind"] == "must be one of top, entry, exit"
    r = api.get(f"{BASE}/devices", params={"by": "source", "limit": "1001", "to": "soon"})
    reasons = {f["path"]: f["reason"] for f in r.json()["error"]["fields"]}
    assert r.status_code == 400 and set(reasons) == {"by", "limit", "to"} and reasons["by"] == "must be one of device, browser, os"


def test_pages_json_and_csv(api):
    body = api.get(f"{BASE}/pages", params={**DAYS, "kind": "entry"}).json()
    assert (body["site"], body["kind"], body["filter"], body["timezone"]) == ("shop", "entry", [], "UTC")
    assert [(p["path"], p["visitors"], p["views"], p["entries"], p["exits"], p["entry_conversion_rate"]) for p in body["pages"]] == [
        ("/shoes", 2, 2, 1, 1, 0.0), ("/", 1, 1, 1, 0, 100.0)]  # one entry each: more visitors first
    assert body["totals"] == {"visitors": 2, "views": 3, "sessions": 2} and body["pages_total"] == 2
    r = api.get(f"{BASE}/pages", params={**DAYS, "kind": "exit", "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["path", "visitors", "views", "entries", "exits", "entry_conversion_rate"],
        ["/shoes", "2", "2", "1", "1", "0.0"], ["/thanks", "0", "0", "0", "1", ""]]
    body = api.get(f"{BASE}/pages", params={**DAYS, "filter": "device==mobile"}).json()
    assert body["filter"] == ["device==mobile"] and [p["path"] for p in body["pages"]] == ["/shoes"]


def test_devices_json_and_csv(api):
    body = api.get(f"{BASE}/devices", params={**DAYS, "by": "os"}).json()
    assert body["by"] == "os" and body["values_total"] == 2
    assert [(v["value"], v["visitors"], v["sessions"], v["orders"], v["conversion_rate"]) for v in body["values"]] == [
        ("Linux", 1, 1, 1, 100.0), ("Android", 1, 1, 0, 0.0)]  # one visitor each: more orders first
    assert body["values"][0]["revenue"] == [{"currency": "EUR", "orders": 1, "revenue": 20.0, "average_order_value": 20.0}]
    stats = api.get(f"{BASE}/stats", params=DAYS).json()["totals"]
    assert {k: body["totals"][k] for k in ("visitors", "sessions", "orders", "revenue", "conversion_rate")} == {
        k: stats[k] for k in ("visitors", "sessions", "orders", "revenue", "conversion_rate")}
    rows = list(csv.reader(io.StringIO(api.get(f"{BASE}/devices", params={**DAYS, "format": "csv"}).text)))
    assert rows == [
        ["scope", "device", "visitors", "sessions", "orders", "conversion_rate", "revenue_EUR", "average_order_value_EUR"],
        ["value", "desktop", "1", "1", "1", "100.0", "20.0", "20.0"],
        ["value", "mobile", "1", "1", "0", "0.0", "0", ""],
        ["total", "", "2", "2", "1", "50.0", "20.0", "20.0"]]
