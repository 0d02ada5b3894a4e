"""Data-subject requests through the API: export and delete a person's events, token required."""

from tests.conftest import count_rows, wait_for
from tracker.sites import Site, add_site
from tracker.tokens import create_token


def seed(client, ch):
    events = [
        {"name": "page_view", "visitor": "alice-device", "url": "https://shop.example/"},
        {"name": "purchase", "visitor": "alice-device", "customer_id": "c-1", "transaction_id": "T1", "value": 30, "currency": "EUR"},
        {"name": "page_view", "visitor": "bob-device", "url": "https://shop.example/"},
    ]
    assert client.post("/api/event", json={"site": "demo", "events": events}).json()["accepted"] == 3
    assert wait_for(lambda: count_rows(ch), 3) == 3


def auth(ch, site="demo"):
    return {"authorization": f"Bearer {create_token(ch, site)[1]}"}


def test_export_then_delete_a_customer_and_their_anonymous_events(client, ch):
    seed(client, ch)
    headers = auth(ch)
    exported = client.get("/api/v1/sites/demo/customers/c-1/export", headers=headers)
    assert exported.status_code == 200
    body = exported.json()
    assert [e["name"] for e in body["events"]] == ["page_view", "purchase"]  # the page view before login is theirs too
    assert body["events"][1]["value"] == 30.0 and body["events"][1]["currency"] == "EUR"

    deleted = client.delete("/api/v1/sites/demo/customers/c-1", headers=headers)
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "deleted" and deleted.json()["deleted_events"] == 2
    assert count_rows(ch) == 1  # bob's page view is all that is left, at once
    assert client.get("/api/v1/sites/demo/customers/c-1/export", headers=headers).json()["events"] == []


def test_delete_by_visitor_id(client, ch):
    seed(client, ch)
    headers = auth(ch)
    bob = ch.query("SELECT visitor_id FROM events WHERE customer_id = '' GROUP BY visitor_id HAVING count() = 1").result_rows[0][0]
    export = client.get(f"/api/v1/sites/demo/visitors/{bob}/export", headers=headers).json()
    assert len(export["events"]) == 1 and export["visitor_ids"] == [str(bob)]
    assert client.delete(f"/api/v1/sites/demo/visitors/{bob}", headers=headers).json()["deleted_events"] == 1
    assert count_rows(ch) == 2


def test_privacy_endpoints_need_the_sites_token(client, ch):
    add_site(ch, Site("other"))
    assert client.delete("/api/v1/sites/demo/visitors/1").status_code == 401
    assert client.delete("/api/v1/sites/demo/visitors/1", headers={"authorization": "Bearer nope"}).status_code == 401
    other = auth(ch, "other")
    wait_for(lambda: client.get("/api/v1/sites/other/visitors/1/export", headers=other).status_code, 200)  # site list reloaded
    assert client.delete("/api/v1/sites/demo/visitors/1", headers=other).status_code == 403


def test_bad_ids_are_400_with_the_field(client, ch):
    r = client.get("/api/v1/sites/demo/visitors/12ab/export", headers=auth(ch))
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == [{"path": "visitor_id", "reason": "must be a whole number below 2^64"}]


def test_injection_attempts_in_ids_are_plain_values(client, ch):
    seed(client, ch)
    r = client.delete("/api/v1/sites/demo/customers/x' OR 1=1 --", headers=auth(ch))
    assert r.status_code == 200 and r.json()["deleted_events"] == 0
    assert count_rows(ch) == 3
