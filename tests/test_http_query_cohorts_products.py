"""/cohorts, /products and /products/abandoned over HTTP, with events sent through the app's own
ingest (POST /api/event): hand-computed answers in JSON and CSV, and parameter errors."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import datetime, time as clock, timedelta, timezone

import pytest

from tests.conftest import count_rows, wait_for
from tracker.sites import Site, add_site
from tracker.tokens import create_token

BASE = "/api/v1/sites/shop"
_now = datetime.now(timezone.utc)
WEEK = datetime.combine(_now.date() - timedelta(days=_now.weekday()), clock(), timezone.utc)  # this week's Monday


def weekday(weeks_back: int, day: int, hour: int = 12) -> datetime:
    """`hour`:00 UTC on weekday `day` (0 = Monday) of the week `weeks_back` weeks before this one."""
    return WEEK - timedelta(weeks=weeks_back) + timedelta(days=day, hours=hour)


def purchase(ts: datetime | None, visitor: str, value: float, currency: str, customer: str = "", tx: str = "", items=()) -> dict:
    body = {"name": "purchase", "visitor": visitor, "value": value, "currency": currency, "event_id": str(uuid.uuid4()),
            "items": [{"item_id": i, "item_name": n, "price": p, "quantity": q} for i, n, p, q in items]}
    if ts is not None:
        body["ts"] = int(ts.timestamp() * 1000)
    if customer:
        body["customer_id"] = customer
    if tx:
        body["transaction_id"] = tx
    return body


@pytest.fixture
def api(client, ch):
    add_site(ch, Site("shop"))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    _, token = create_token(ch, "shop")
    client.headers["authorization"] = f"Bearer {token}"
    return client


def send(api, ch, events: list[dict], duplicates: int = 0) -> None:
    """Post the events; `duplicates` repeated orders (same transaction_id) are dropped at ingest."""
    r = api.post("/api/event", json={"site": "shop", "events": events})
    stored = len(events) - duplicates
    assert r.status_code == 202 and r.json()["accepted"] == stored, r.text
    assert r.json()["dropped"] == ({"duplicate": duplicates} if duplicates else {}), r.text
    assert wait_for(lambda: count_rows(ch), stored) == stored
    # The cohorts read the copy of the purchases, which a materialized view writes just after the events.
    purchases = sum(e["name"] == "purchase" for e in events) - duplicates
    assert wait_for(lambda: ch.query("SELECT count() FROM purchases").result_rows[0][0], purchases) == purchases


def fields(response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return {f["path"]: f["reason"] for f in response.json()["error"]["fields"]}


def test_weekly_cohorts_over_http(api, ch):
    send(api, ch, [
        # c-1 buys in the cohort's week and two weeks later; c-2 once (sent twice: the second copy is dropped at ingest)
        # and again now, after the report's end; a guest (no customer_id) twice in the next week.
        purchase(weekday(3, 1, 10), "v1", 40, "EUR", "c-1", "T1"),
        purchase(weekday(1, 2), "v1", 20, "EUR", "c-1", "T2"),
        purchase(weekday(3, 3), "v2", 15, "USD", "c-2", "T3"),
        purchase(weekday(3, 3), "v2", 15, "USD", "c-2", "T3"),
        purchase(None, "v2", 99, "USD", "c-2", "T4"),
        purchase(weekday(2, 4), "v3", 10, "EUR"),
        purchase(weekday(2, 5), "v3", 5, "EUR"),
    ], duplicates=1)
    last_sunday = (WEEK - timedelta(days=1)).date().isoformat()
    r = api.get(f"{BASE}/cohorts", params={"from": weekday(3, 0, 0).date().isoformat(), "to": last_sunday,
                                           "period": "week", "churn_after": "14d"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["period"], body["churn_after"], body["as_of"]) == ("week", "2w", WEEK.isoformat(timespec="milliseconds"))
    assert [(c["cohort"], c["customers"]) for c in body["cohorts"]] == [
        (weekday(3, 0, 0).date().isoformat(), 2), (weekday(2, 0, 0).date().isoformat(), 1),
    ]
    first, second = body["cohorts"]
    # At the end of the third week c-2's only order (Thursday noon) is 17.5 days old: churned;
    # c-1's latest (Wednesday noon) 4.5 days.
    assert [(p["offset"], p["buyers"], p["retention"], p["repeat_customers"], p["churned"]) for p in first["periods"]] == [
        (0, 2, 100.0, 0, 0), (1, 0, 0.0, 0, 0), (2, 1, 50.0, 1, 1),
    ]
    assert [p["ltv"] for p in first["periods"]][2] == [
        {"currency": "EUR", "revenue": 60.0, "per_customer": 30.0}, {"currency": "USD", "revenue": 15.0, "per_customer": 7.5},
    ]
    assert [(p["buyers"], p["repeat_rate"], p["churn_rate"], p["ltv"]) for p in second["periods"]] == [
        (1, 100.0, 0.0, [{"currency": "EUR", "revenue": 15.0, "per_customer": 15.0}]),
        (0, 100.0, 0.0, [{"currency": "EUR", "revenue": 15.0, "per_customer": 15.0}]),
    ]

    table = list(csv.DictReader(io.StringIO(api.get(f"{BASE}/cohorts", params={
        "from": weekday(3, 0, 0).date().isoformat(), "to": last_sunday, "period": "week", "churn_after": "14d", "format": "csv",
    }).text)))
    assert [(row["cohort"], row["offset"], row["buyers"], row["ltv_EUR"], row["revenue_USD"]) for row in table] == [
        (first["cohort"], "0", "2", "20.0", "15.0"), (first["cohort"], "1", "0", "20.0", "15.0"),
        (first["cohort"], "2", "1", "30.0", "15.0"),
        (second["cohort"], "0", "1", "15.0", "0"), (second["cohort"], "1", "0", "15.0", "0"),
    ]


def test_cohorts_default_to_twelve_months(api, ch):
    send(api, ch, [purchase(_now - timedelta(hours=1), "v1", 10, "EUR", "c-1", "T1")])
    body = api.get(f"{BASE}/cohorts").json()
    first_day = datetime.fromisoformat(body["from"]).date()
    assert (first_day.day, body["period"], body["churn_after"]) == (1, "month", "90d")
    assert 334 <= (_now.date() - first_day).days <= 366
    assert [(c["cohort"], c["customers"], len(c["periods"])) for c in body["cohorts"]] == [
        ((_now - timedelta(hours=1)).date().replace(day=1).isoformat(), 1, 1),
    ]


def test_products_and_abandoned_items_over_http(api, ch):
    two_hours_ago = int((time.time() - 7200) * 1000)

    def ev(name: str, visitor: str, items: list[tuple], **extra) -> dict:
        return {"name": name, "visitor": visitor, "ts": two_hours_ago, "currency": "EUR", "event_id": str(uuid.uuid4()),
                "items": [{"item_id": i, "item_name": n, "price": p, "quantity": q} for i, n, p, q in items], **extra}

    send(api, ch, [
        ev("view_item", "v1", [("A", "Apron", 10, 1)]),
        ev("add_to_cart", "v1", [("A", "Apron", 10, 2)]),
        ev("purchase", "v1", [("A", "Apron", 10, 2)], transaction_id="o1", value=20),
        ev("view_item", "v2", [("A", "Apron", 10, 1)]),
        ev("view_item", "v2", [("B", "Bowl", 5, 1)]),
        ev("add_to_cart", "v2", [("B", "Bowl", 5, 1)]),
    ])
    body = api.get(f"{BASE}/products").json()
    assert (body["sort"], body["items_total"]) == ("units", 2)
    assert [(i["item_id"], i["item_name"], i["views"], i["viewers"], i["adds"], i["added_units"], i["orders"], i["units"],
             i["buyers"], i["view_to_purchase"], i["revenue"]) for i in body["items"]] == [
        ("A", "Apron", 2, 2, 1, 2, 1, 2, 1, 50.0, [{"currency": "EUR", "revenue": 20.0}]),
        ("B", "Bowl", 1, 1, 1, 1, 0, 0, 0, 0.0, []),
    ]
    table = list(csv.DictReader(io.StringIO(api.get(f"{BASE}/products", params={"format": "csv"}).text)))
    assert [(r["item_id"], r["units"], r["view_to_purchase"], r["revenue_EUR"]) for r in table] == [("A", "2", "50.0", "20.0"), ("B", "0", "0.0", "0")]

    abandoned = api.get(f"{BASE}/products/abandoned", params={"idle": "1h"}).json()
    assert abandoned["idle"] == "1h" and abandoned["items_total"] == 1
    assert abandoned["items"] == [{"item_id": "B", "item_name": "Bowl", "carts": 1, "units": 1, "value": [{"currency": "EUR", "value": 5.0}]}]
    assert abandoned["totals"] == api.get(f"{BASE}/carts/abandoned", params={"idle": "1h"}).json()["totals"]
    assert api.get(f"{BASE}/products/abandoned", params={"idle": "3h"}).json()["items"] == []  # not idle for 3 hours yet
    table = list(csv.DictReader(io.StringIO(api.get(f"{BASE}/products/abandoned", params={"format": "csv"}).text)))
    assert table == [{"item_id": "B", "item_name": "Bowl", "carts": "1", "units": "1", "value_EUR": "5.0"}]


def test_bad_parameters_are_400_with_every_field(api):
    assert set(fields(api.get(f"{BASE}/cohorts", params={"period": "year", "churn_after": "0d", "from": "soon"}))) == {
        "period", "churn_after", "from",
    }
    assert fields(api.get(f"{BASE}/cohorts", params={"churn_after": "3y"}))["churn_after"].startswith("must be a duration")
    assert fields(api.get(f"{BASE}/cohorts", params={"churn_after": "731d"})) == {"churn_after": "must be from 1d to 730d"}
    assert set(fields(api.get(f"{BASE}/products", params={"sort": "price", "limit": "0", "idle": "1h"}))) == {"sort", "limit", "idle"}
    r = api.get(f"{BASE}/products/abandoned", params={"idle": "10s", "min_value": "-1", "cursor": "x"})
    assert [f["path"] for f in r.json()["error"]["fields"]] == ["cursor", "idle", "min_value"]  # cursor: unknown, once
    assert fields(r)["cursor"].startswith("unknown parameter")
    assert api.get(f"{BASE}/products", headers={"authorization": "Bearer nope"}).status_code == 401
