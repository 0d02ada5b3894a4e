"""Saved funnels over HTTP: create, list, read, edit, remove, run with ?funnel=ID, the default
funnel `shop` edited and reset, validation errors with field paths, tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import wait_for
from tests.query_support import T0, at, event, insert
from tracker.sites import Site, add_site
from tracker.tokens import create_token

BASE = "/api/v1/sites/shop"
SPAN = {"from": (T0.date() - timedelta(days=1)).isoformat(), "to": (T0.date() + timedelta(days=1)).isoformat()}
SHOP_LABELS = ["awareness", "interest", "consideration", "intent", "purchase", "repurchase"]


@pytest.fixture
def api(client, ch):
    add_site(ch, Site("shop", "Shop"))
    add_site(ch, Site("other", "Other"))
    sites = client.app.state.tracker.sites
    assert wait_for(lambda: sites.get("shop") is not None and sites.get("other") is not None, True)
    client.headers["authorization"] = f"Bearer {create_token(ch, 'shop')[1]}"
    return client


def fields(response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return {f["path"]: f["reason"] for f in body["error"]["fields"]}


def test_the_default_funnel_is_listed_and_built_in(api):
    body = api.get(f"{BASE}/funnels").json()
    assert body["site"] == "shop" and [f["funnel_id"] for f in body["funnels"]] == ["shop"]
    shop = body["funnels"][0]
    assert (shop["name"], shop["default"], shop["builtin"], shop["window"], shop["order"], shop["unit"], shop["updated_at"]) == (
        "Shop funnel", True, True, "1w", "ordered", "visitor", None)
    assert [(s["label"], s["step"]) for s in shop["steps"]] == [
        ("awareness", "*"), ("interest", "view_item|select_item"), ("consideration", "add_to_cart"),
        ("intent", "begin_checkout|add_shipping_info|add_payment_info"), ("purchase", "purchase"), ("repurchase", "purchase"),
    ]
    assert api.get(f"{BASE}/funnels/shop").json() == shop


def test_create_read_run_edit_and_remove(api, ch):
    insert(ch, [
        event("page_view", at(0), 1, props={"page": "/pricing"}), event("view_item", at(10), 1), event("add_to_cart", at(20), 1),
        event("page_view", at(0), 2), event("view_item", at(10), 2),
        event("page_view", at(0), 3, props={"page": "/pricing"}),
    ])
    definition = {"name": "Pricing to cart", "steps": [{"step": "page_view;props.page=/pricing", "label": "Pricing"},
                                                       "view_item|select_item", {"step": "add_to_cart|newsletter_signup"}],
                  "window": "1h", "order": "ordered", "unit": "session"}
    r = api.post(f"{BASE}/funnels", json=definition)
    assert r.status_code == 201, r.text
    saved = r.json()
    funnel_id = saved["funnel_id"]
    assert (saved["name"], saved["default"], saved["builtin"], saved["window"], saved["unit"]) == ("Pricing to cart", False, False, "1h", "session")
    assert [(s["label"], s["never_sent"]) for s in saved["steps"]] == [
        ("Pricing", []), ("view_item|select_item", ["select_item"]), ("add_to_cart|newsletter_signup", ["newsletter_signup"]),
    ]
    assert saved["updated_at"] is not None
    assert [f["funnel_id"] for f in api.get(f"{BASE}/funnels").json()["funnels"]] == ["shop", funnel_id]
    assert api.get(f"{BASE}/funnels/{funnel_id}").json() == saved

    # Running it: its steps, window, order and unit; a never-sent name is no 400 but missing_events.
    run = api.get(f"{BASE}/funnel", params={**SPAN, "funnel": funnel_id})
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["funnel"] == {"funnel_id": funnel_id, "name": "Pricing to cart"}
    assert (body["window"], body["unit"]) == ("1h", "session")
    assert [(s["label"], s["count"], s["missing_events"]) for s in body["steps"]] == [
        ("Pricing", 2, []), ("view_item|select_item", 1, ["select_item"]), ("add_to_cart|newsletter_signup", 1, ["newsletter_signup"]),
    ]
    # window, order and unit given in the request take precedence
    body = api.get(f"{BASE}/funnel", params={**SPAN, "funnel": funnel_id, "unit": "visitor", "window": "5s"}).json()
    assert (body["window"], body["unit"], [s["count"] for s in body["steps"]]) == ("5s", "visitor", [2, 0, 0])
    trends = api.get(f"{BASE}/funnel/trends", params={**SPAN, "funnel": funnel_id}).json()
    assert trends["funnel"]["funnel_id"] == funnel_id and trends["steps"] == ["Pricing", "view_item|select_item", "add_to_cart|newsletter_signup"]

    edited = api.put(f"{BASE}/funnels/{funnel_id}", json={"name": "Views to carts", "steps": ["view_item", "add_to_cart"]})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["window"], edited.json()["unit"]) == ("Views to carts", "1w", "visitor")
    body = api.get(f"{BASE}/funnel", params={**SPAN, "funnel": funnel_id}).json()
    assert [(s["label"], s["count"]) for s in body["steps"]] == [("view_item", 2), ("add_to_cart", 1)]

    r = api.delete(f"{BASE}/funnels/{funnel_id}")
    assert r.status_code == 200 and r.json() == {"site": "shop", "funnel_id": funnel_id, "status": "deleted"}
    assert api.get(f"{BASE}/funnels/{funnel_id}").status_code == 404
    assert api.delete(f"{BASE}/funnels/{funnel_id}").json()["error"]["code"] == "unknown_funnel"
    assert fields(api.get(f"{BASE}/funnel", params={**SPAN, "funnel": funnel_id})) == {"funnel": f"this site has no saved funnel {funnel_id!r}"}
    assert [f["funnel_id"] for f in api.get(f"{BASE}/funnels").json()["funnels"]] == ["shop"]


def test_the_default_funnel_can_be_edited_and_reset(api, ch):
    insert(ch, [event("page_view", at(0), 1), event("view_item", at(5), 1), event("page_view", at(0), 2)])
    r = api.put(f"{BASE}/funnels/shop", json={"name": "Our funnel", "steps": [{"step": "*", "label": "visit"}, {"step": "view_item", "label": "product"}],
                                             "window": "1d"})
    assert r.status_code == 200, r.text
    assert (r.json()["default"], r.json()["builtin"], r.json()["name"]) == (True, False, "Our funnel")
    body = api.get(f"{BASE}/funnel", params=SPAN).json()  # no step: the site's default funnel, as edited
    assert body["funnel"] == {"funnel_id": "shop", "name": "Our funnel"} and body["window"] == "1d"
    assert [(s["label"], s["count"]) for s in body["steps"]] == [("visit", 2), ("product", 1)]
    assert [f["name"] for f in api.get(f"{BASE}/funnels").json()["funnels"]] == ["Our funnel"]

    r = api.delete(f"{BASE}/funnels/shop")
    assert r.json() == {"site": "shop", "funnel_id": "shop", "status": "reset"}
    body = api.get(f"{BASE}/funnel", params=SPAN).json()
    assert [s["label"] for s in body["steps"]] == SHOP_LABELS and body["funnel"]["name"] == "Shop funnel"
    assert api.get(f"{BASE}/funnels/shop").json()["builtin"] is True
    # steps given as `step`: no saved funnel
    assert api.get(f"{BASE}/funnel", params={**SPAN, "step": "page_view"}).json()["funnel"] is None


def test_definitions_that_cannot_be_saved_say_where_and_why(api):
    r = api.post(f"{BASE}/funnels", json={
        "name": " ", "steps": ["view_item", {"step": "page_view;colour=red"}, {"label": "x"}, 7, {"step": "purchase", "note": "n"}],
        "window": "91d", "order": "sideways", "unit": "household", "colour": "red",
    })
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_funnel"
    assert fields(r) == {
        "colour": "unknown field; a funnel has name, steps, window, order, unit",
        "name": "is required",
        "steps[1].step": "cannot filter on 'colour': use props.<name> or one of path, hostname, url, referrer_host, source, medium, "
                         "campaign, device, browser, os, currency, transaction_id",
        "steps[2].step": "is required",
        "steps[3]": 'must be a step like "view_item|select_item" or {"step": ..., "label": ...}',
        "steps[4].note": "unknown field; a step has step and label",
        "window": "must be from 1s to 90d",
        "order": "must be one of ordered, strict, any",
        "unit": "must be one of visitor, session",
    }
    assert fields(api.post(f"{BASE}/funnels", json={"name": "a", "steps": []})) == {"steps": "must be a list of 1 to 20 steps"}
    assert fields(api.post(f"{BASE}/funnels", json={"name": "a", "steps": ["*"] * 21})) == {"steps": "at most 20 steps"}
    assert fields(api.post(f"{BASE}/funnels", json={"name": "a" * 101, "steps": ["*"], "window": "soon"})) == {
        "name": "must be at most 100 characters", "window": "must be a duration like 90s, 30m, 1h30m, 7d or 2w"}
    assert fields(api.post(f"{BASE}/funnels", json=["view_item"])) == {"": "must be a JSON object with name, steps, and optionally window, order, unit"}
    r = api.post(f"{BASE}/funnels", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert api.post(f"{BASE}/funnels", content=b" " * 70_000).status_code == 413
    assert api.post(f"{BASE}/funnels", json={"name": "Carts", "steps": ["add_to_cart"]}).status_code == 201
    assert fields(api.post(f"{BASE}/funnels", json={"name": " carts ", "steps": ["view_cart"]})) == {
        "name": "another funnel of this site is called 'carts'"}
    assert fields(api.put(f"{BASE}/funnels/shop", json={"name": "CARTS", "steps": ["*"]})) == {
        "name": "another funnel of this site is called 'CARTS'"}
    assert api.put(f"{BASE}/funnels/nope", json={"name": "x", "steps": ["*"]}).status_code == 404
    assert fields(api.get(f"{BASE}/funnels", params={"limit": "5"})) == {"limit": "unknown parameter; this endpoint takes none"}
    r = api.get(f"{BASE}/funnel", params={"funnel": "shop", "step": "view_item"})
    assert fields(r) == {"funnel": "give either a saved funnel or steps, not both"}
    assert fields(api.get(f"{BASE}/funnel", params={"funnel": "Not an id!"})) == {"funnel": "must be a saved funnel's id (letters a-z and digits)"}


def test_saved_funnels_need_a_token_of_the_site(api, ch):
    token = api.headers.pop("authorization")
    assert api.get(f"{BASE}/funnels").status_code == 401
    assert api.post(f"{BASE}/funnels", json={"name": "x", "steps": ["*"]}).status_code == 401
    api.headers["authorization"] = token
    assert api.get("/api/v1/sites/other/funnels").status_code == 403
    assert api.delete("/api/v1/sites/other/funnels/shop").status_code == 403
    assert api.get("/api/v1/sites/nope/funnels").status_code == 404
    assert ch.query("SELECT count() FROM saved_funnels").result_rows[0][0] == 0
