"""Saved funnels on the owner's pages over HTTP: the picker, the forms to create, edit and delete,
errors next to their fields, forms from other sites refused. tests/browser/test_app_funnels.py
does the same in Chromium."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from tests.query_support import at, event, insert
from tests.test_http_app_pages import DAYS, shop, sign_in  # noqa: F401 - shop is a fixture


def options(page: str) -> list[tuple[str, str, bool]]:
    picker = re.search(r'<select id="funnel-pick" name="funnel">(.*?)</select>', page, re.S).group(1)
    return [(v, unescape(n), bool(sel)) for v, sel, n in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', picker)]


def step_counts(page: str) -> list[tuple[str, int]]:
    return [(unescape(label), int(count.replace(",", ""))) for label, count in
            re.findall(r'<li data-step="([^"]*)">.*?data-value="count">([\d,]+)<', page, re.S)]


def api_funnel(client, token: str, **params) -> dict:
    r = client.get("/api/v1/sites/shop/funnel", params={**DAYS, **params}, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def form(**fields) -> dict:
    return {**DAYS, "window": "", "order": "ordered", "unit": "visitor", **fields}


def test_create_pick_edit_and_delete_a_funnel(shop, ch):
    client, token = shop
    insert(ch, [
        event("page_view", at(0), 1, site="shop", path="/pricing"), event("add_to_cart", at(30), 1, site="shop"),
        event("page_view", at(0), 2, site="shop", path="/pricing"), event("page_view", at(0), 3, site="shop"),
    ])
    sign_in(client, token)
    page = client.get("/app/shop", params=DAYS).text
    assert options(page) == [("shop", "Shop funnel", True)]
    assert '<h2 id="h-funnel">Shop funnel</h2>' in page and 'href="/app/shop/funnels/shop/edit?from=' in page

    new = client.get("/app/shop/funnels/new", params=DAYS)
    assert new.status_code == 200 and '<form class="card funnel-form" method="post" action="/app/shop/funnels">' in new.text
    assert len(re.findall(r'name="step_\d+"', new.text)) == 4

    r = client.post("/app/shop/funnels", data=form(name="Pricing & cart", label_0="Pricing", step_0="page_view;path=/pricing",
                                                   step_2="add_to_cart|signup", window="1h"))
    assert r.status_code == 303, r.text
    location = urlsplit(r.headers["location"])
    query = parse_qs(location.query)
    funnel_id = query["funnel"][0]
    assert location.path == "/app/shop" and query["from"] == [DAYS["from"]] and query["to"] == [DAYS["to"]]

    page = client.get(r.headers["location"]).text
    assert options(page) == [("shop", "Shop funnel", False), (funnel_id, "Pricing & cart", True)]
    assert '<h2 id="h-funnel">Pricing &amp; cart</h2>' in page
    api = api_funnel(client, token, funnel=funnel_id)
    assert step_counts(page) == [(s["label"], s["count"]) for s in api["steps"]] == [("Pricing", 2), ("add_to_cart|signup", 1)]
    assert 'data-missing="signup"' in page  # a name never sent: saved, run, and flagged
    assert f'<input type="hidden" name="funnel" value="{funnel_id}">' in page  # changing the dates keeps the funnel

    edit = client.get(f"/app/shop/funnels/{funnel_id}/edit", params=DAYS).text
    assert 'value="Pricing &amp; cart"' in edit and 'value="page_view;path=/pricing"' in edit and 'value="add_to_cart|signup"' in edit
    assert 'id="window" name="window" value="1h"' in edit and "Delete this funnel" in edit
    r = client.post(f"/app/shop/funnels/{funnel_id}", data=form(name="Pricing", step_0="page_view;path=/pricing", step_1="add_to_cart",
                                                               unit="session"))
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert '<h2 id="h-funnel">Pricing</h2>' in page and "Sessions who reached each step within 1w" in page
    assert step_counts(page) == [("page_view;path=/pricing", 2), ("add_to_cart", 1)]

    r = client.post(f"/app/shop/funnels/{funnel_id}/delete", data=DAYS)
    assert r.status_code == 303 and r.headers["location"] == f"/app/shop?from={DAYS['from']}&to={DAYS['to']}"
    page = client.get("/app/shop", params={**DAYS, "funnel": funnel_id}).text
    assert f"There is no saved funnel &#39;{funnel_id}&#39; (it may have been deleted)" in page
    assert options(page) == [("shop", "Shop funnel", True)] and len(step_counts(page)) == 6
    assert client.get(f"/app/shop/funnels/{funnel_id}/edit").status_code == 404


def test_the_default_funnel_is_edited_and_reset_on_the_page(shop, ch):
    client, token = shop
    insert(ch, [event("page_view", at(0), 1, site="shop"), event("view_item", at(5), 1, site="shop")])
    sign_in(client, token)
    edit = client.get("/app/shop/funnels/shop/edit", params=DAYS).text
    assert 'value="view_item|select_item"' in edit and 'value="interest"' in edit and "Reset to the shop funnel" in edit
    r = client.post("/app/shop/funnels/shop", data=form(name="Visits to views", label_0="visit", step_0="*", label_1="view", step_1="view_item"))
    assert r.status_code == 303 and "funnel=" not in r.headers["location"]
    page = client.get("/app/shop", params=DAYS).text
    assert options(page) == [("shop", "Visits to views", True)] and step_counts(page) == [("visit", 1), ("view", 1)]
    assert step_counts(page) == [(s["label"], s["count"]) for s in api_funnel(client, token)["steps"]]
    assert client.post("/app/shop/funnels/shop/delete", data=DAYS).status_code == 303
    page = client.get("/app/shop", params=DAYS).text
    assert options(page) == [("shop", "Shop funnel", True)] and [label for label, _ in step_counts(page)][1] == "interest"


def test_errors_stand_next_to_their_fields_and_nothing_is_saved(shop, ch):
    client, token = shop
    sign_in(client, token)
    r = client.post("/app/shop/funnels", data=form(name="", label_0="Start", step_0="*", label_2="no events", step_3="page_view;colour=red",
                                                   window="soon", order="sideways"))
    assert r.status_code == 400
    page = r.text
    assert 'id="name-error">is required<' in page
    assert 'id="step_2-error">is required<' in page  # row 3 has a label and no events
    assert "id=\"step_3-error\">cannot filter on &#39;colour&#39;" in page
    assert 'id="window-error">must be a duration' in page and 'id="order-error">must be one of ordered, strict, any<' in page
    assert 'value="page_view;colour=red"' in page and 'value="no events"' in page  # what was typed stays
    assert page.count('aria-invalid="true"') == 5
    r = client.post("/app/shop/funnels", data=form(name="Empty"))
    assert r.status_code == 400 and 'id="steps-error">must be a list of 1 to 20 steps<' in r.text
    assert ch.query("SELECT count() FROM saved_funnels").result_rows[0][0] == 0


def test_forms_from_elsewhere_and_without_sign_in_are_refused(shop, ch):
    client, token = shop
    data = form(name="x", step_0="*")
    assert client.post("/app/shop/funnels", data=data).headers["location"] == "/app/_sign-in"
    sign_in(client, token)
    r = client.post("/app/shop/funnels", data=data, headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    assert client.post("/app/shop/funnels/shop/delete", data=data, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.post("/app/other/funnels", data=data).status_code == 403
    assert client.get("/app/other/funnels/new").status_code == 403
    assert client.get("/app/shop/funnels/nope/edit").status_code == 404
    assert ch.query("SELECT count() FROM saved_funnels").result_rows[0][0] == 0


def test_oversized_forms_are_a_form_error_not_a_server_error(shop, ch):
    client, token = shop
    many = {f"field_{i}": "x" for i in range(200)}
    assert client.post("/app/_sign-in", data={"token": token, **many}).status_code == 400  # more fields than a sign-in has
    sign_in(client, token)
    r = client.post("/app/shop/funnels", data={**form(name="x", step_0="*"), **many})
    assert r.status_code == 400 and 'id="name-error">is required<' in r.text
    r = client.post("/app/shop/funnels", data=form(name="x", step_0="*" + " " * 140_000))
    assert r.status_code == 400
    assert ch.query("SELECT count() FROM saved_funnels").result_rows[0][0] == 0


def test_the_forms_come_back_to_the_comparison_and_the_filters_the_page_had(shop, ch):
    client, token = shop
    insert(ch, [event("page_view", at(0), 1, site="shop")])
    sign_in(client, token)
    view = {**DAYS, "compare": "previous", "filter": ["source==google", "device==mobile"]}

    def kept(location: str, funnel: str | None = None):
        parts = urlsplit(unescape(location))
        query = parse_qs(parts.query)
        assert parts.path == "/app/shop" and query.pop("funnel", [None]) == [funnel]
        assert query == {"from": [DAYS["from"]], "to": [DAYS["to"]], "compare": ["previous"], "filter": ["source==google", "device==mobile"]}

    page = client.get("/app/shop", params=view).text
    kept(re.search(r'id="funnel-new" href="/app/shop/funnels/new([^"]*)"', page).group(1).replace("?", "/app/shop?", 1))
    kept(re.search(r'id="funnel-edit" href="/app/shop/funnels/shop/edit([^"]*)"', page).group(1).replace("?", "/app/shop?", 1))

    new = client.get("/app/shop/funnels/new", params=view).text
    kept(re.search(r'<p><a href="([^"]*)">Back to', new).group(1))
    fields = dict.fromkeys(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', new))
    assert ("compare", "previous") in fields and ("filter", "source==google") in fields and ("filter", "device==mobile") in fields

    r = client.post("/app/shop/funnels", data=form(name="Any", step_0="*", compare="previous", filter=view["filter"]))
    assert r.status_code == 303
    funnel_id = parse_qs(urlsplit(r.headers["location"]).query)["funnel"][0]
    kept(r.headers["location"], funnel_id)
    edit = client.get(f"/app/shop/funnels/{funnel_id}/edit", params=view).text
    kept(re.search(r'<p><a href="([^"]*)">Back to', edit).group(1), funnel_id)
    assert edit.count('<input type="hidden" name="compare" value="previous">') == 2  # the save form and the delete form
    r = client.post(f"/app/shop/funnels/{funnel_id}", data=form(name="Any visit", step_0="*", compare="previous", filter=view["filter"]))
    kept(r.headers["location"], funnel_id)
    r = client.post(f"/app/shop/funnels/{funnel_id}/delete", data={**DAYS, "compare": "previous", "filter": view["filter"]})
    assert r.status_code == 303
    kept(r.headers["location"])

    # A comparison the page does not know is not carried, as the page drops it.
    new = client.get("/app/shop/funnels/new", params={**DAYS, "compare": "<sideways>"}).text
    assert 'name="compare"' not in new and "sideways" not in new
    r = client.post("/app/shop/funnels", data=form(name="Any", step_0="*", compare="sideways"))
    assert r.status_code == 303 and "compare" not in r.headers["location"]
