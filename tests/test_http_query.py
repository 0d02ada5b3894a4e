"""The query API over HTTP: tokens (401/403/404), parameter errors in the one error shape, JSON and
CSV answers, and the site's time zone."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.conftest import wait_for
from tests.query_support import T0, at, event, insert
from tracker.sites import Site, add_site
from tracker.tokens import create_token

BASE = "/api/v1/sites"


@pytest.fixture
def api(client, ch):
    """The app with sites `shop` (Europe/Berlin) and `other`, and a token for `shop`."""
    add_site(ch, Site("shop", "Shop", (), "Europe/Berlin"))
    add_site(ch, Site("other", "Other"))
    sites = client.app.state.tracker.sites
    assert wait_for(lambda: sites.get("shop") is not None and sites.get("other") is not None, True)
    _, token = create_token(ch, "shop")
    client.headers["authorization"] = f"Bearer {token}"
    return client


def span(**extra) -> dict:
    days = {"from": (T0.date() - timedelta(days=1)).isoformat(), "to": (T0.date() + timedelta(days=1)).isoformat()}
    return {**days, **extra}


def fields(response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return {f["path"]: f["reason"] for f in body["error"]["fields"]}


def test_no_token_or_a_wrong_one_is_401(client, ch):
    add_site(ch, Site("shop"))
    r = client.get(f"{BASE}/shop/funnel")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"]["code"] == "unauthorized"
    r = client.get(f"{BASE}/shop/funnel", headers={"authorization": "Bearer fh_abc_not-a-token"})
    assert r.status_code == 401
    _, token = create_token(ch, "shop")
    r = client.get(f"{BASE}/shop/funnel", headers={"authorization": f"Bearer {token}x"})
    assert r.status_code == 401


def test_token_of_another_site_is_403_and_unknown_site_404(api, ch):
    assert api.get(f"{BASE}/other/funnel").status_code == 403
    r = api.get(f"{BASE}/nope/funnel")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_site"


def test_tokens_are_stored_hashed(api, ch):
    token = api.headers["authorization"].split(" ", 1)[1]
    stored = ch.query("SELECT token_id, site, sha256 FROM api_tokens").result_rows
    assert len(stored) == 1 and stored[0][1] == "shop"
    secret = token.split("_", 2)[2]  # the secret itself may contain "_": split off the prefix and id only
    assert token not in str(stored) and secret not in str(stored)


def test_bad_parameters_are_400_with_every_field(api):
    r = api.get(f"{BASE}/shop/funnel", params={
        "from": "2024-13-01", "to": "yesterday", "window": "91d", "order": "sideways", "unit": "household",
        "breakdown": "city", "step": ["view_item", "page_view;colour=red"], "steps": "x",
    })
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameters"
    assert set(fields(r)) == {"from", "to", "window", "order", "unit", "breakdown", "step[1]", "steps"}
    assert fields(api.get(f"{BASE}/shop/funnel", params={"window": "0s"})) == {"window": "must be from 1s to 90d"}
    assert "must be a duration" in fields(api.get(f"{BASE}/shop/funnel", params={"window": "soon"}))["window"]
    assert set(fields(api.get(f"{BASE}/shop/funnel", params=span(**{"from": "2024-05-02", "to": "2024-05-01"})))) == {"from"}


def test_unknown_step_names_are_400_but_custom_events_the_site_sent_are_fine(api, ch):
    insert(ch, [event("newsletter_signup", at(0), 1)])
    r = api.get(f"{BASE}/shop/funnel", params=span(step=["page_view", "newsletter_signup", "view_itme"]))
    assert r.status_code == 400
    assert list(fields(r)) == ["step[2]"] and "view_itme" in fields(r)["step[2]"]


def test_funnel_json_over_http(api, ch):
    insert(ch, [
        event("view_item", at(0), 1), event("add_to_cart", at(30), 1),
        event("view_item", at(0), 2),
    ])
    r = api.get(f"{BASE}/shop/funnel", params=span(step=["view_item", "add_to_cart"], window="1h"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["site"], body["window"], body["order"], body["unit"], body["timezone"]) == ("shop", "1h", "ordered", "visitor", "Europe/Berlin")
    assert body["from"].endswith("+01:00") and body["from"].startswith((T0.date() - timedelta(days=1)).isoformat())
    assert [(s["label"], s["count"], s["dropped"], s["median_time_s"]) for s in body["steps"]] == [
        ("view_item", 2, 0, None), ("add_to_cart", 1, 1, 30.0),
    ]
    assert body["overall_conversion"] == 50.0


def test_default_is_the_shop_funnel(api, ch):
    insert(ch, [event("page_view", at(0), 1)])
    body = api.get(f"{BASE}/shop/funnel", params=span()).json()
    assert [s["label"] for s in body["steps"]] == ["awareness", "interest", "consideration", "intent", "purchase", "repurchase"]
    assert [s["count"] for s in body["steps"]] == [1, 0, 0, 0, 0, 0] and body["window"] == "1w"


def test_csv_by_accept_header_or_format(api, ch):
    insert(ch, [event("view_item", at(0), 1, source="google"), event("add_to_cart", at(30), 1)])
    params = span(step=["view_item", "add_to_cart"], breakdown="source")
    by_header = api.get(f"{BASE}/shop/funnel", params=params, headers={"accept": "text/csv"})
    by_param = api.get(f"{BASE}/shop/funnel", params={**params, "format": "csv"})
    assert by_header.headers["content-type"].startswith("text/csv") and by_header.text == by_param.text
    table = list(csv.DictReader(io.StringIO(by_header.text)))
    assert [(r["scope"], r["breakdown_value"], r["step"], r["count"]) for r in table] == [
        ("all", "", "1", "1"), ("all", "", "2", "1"), ("group", "google", "1", "1"), ("group", "google", "2", "1"),
    ]


def test_trends_carts_and_stats_answer(api, ch):
    insert(ch, [
        event("page_view", at(0), 1),
        event("add_to_cart", at(10), 1, items=[("A", 12, 2, "Apron")], currency="EUR"),
        event("purchase", at(7200), 1, transaction_id="o1", value=24, currency="EUR"),
        event("add_to_cart", at(100), 2, items=[("B", 5, 1)], currency="EUR"),
    ])
    trends = api.get(f"{BASE}/shop/funnel/trends", params=span(step=["page_view", "add_to_cart"], interval="week"))
    assert trends.status_code == 200, trends.text
    assert [(p["entered"], p["completed"]) for p in trends.json()["series"]] == [(1, 1)]
    abandoned = api.get(f"{BASE}/shop/carts/abandoned", params=span(idle="1h")).json()
    assert [(c["visitor_id"], c["value"]) for c in abandoned["carts"]] == [("2", 5.0)] and abandoned["idle"] == "1h"
    recovered = api.get(f"{BASE}/shop/carts/recovered", params=span())
    assert [(c["visitor_id"], c["time_to_recover_s"]) for c in recovered.json()["carts"]] == [("1", 7190.0)]
    table = list(csv.DictReader(io.StringIO(api.get(f"{BASE}/shop/carts/recovered", params=span(format="csv")).text)))
    assert table[0]["items"] == "A x 2 @ 12.0" and table[0]["transaction_id"] == "o1"
    stats = api.get(f"{BASE}/shop/stats", params=span()).json()
    assert (stats["totals"]["visitors"], stats["totals"]["orders"]) == (2, 1)
    assert [p["period"] for p in stats["series"]] == [(T0.date() + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]
    rows = list(csv.DictReader(io.StringIO(api.get(f"{BASE}/shop/stats", params=span(format="csv")).text)))
    assert rows[-1]["period"] == "total" and rows[-1]["revenue_EUR"] == "24.0"


def test_cart_parameters_are_checked(api):
    r = api.get(f"{BASE}/shop/carts/abandoned", params={"idle": "5s", "min_value": "-1", "limit": "0", "cursor": "garbage"})
    assert set(fields(r)) == {"idle", "min_value", "limit", "cursor"}
    assert set(fields(api.get(f"{BASE}/shop/stats", params={"interval": "hour"}))) == {"interval"}
