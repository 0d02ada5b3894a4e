"""Saved funnels on the owner's page in Chromium: create one with the form, pick it and the default
with the funnel menu (the figures are the API's for ?funnel=ID), delete it. Screenshots of the
form and of the page showing the saved funnel are written (see conftest)."""

from __future__ import annotations

import httpx

from tests.browser.conftest import screenshot
from tests.browser.test_app_pages import DAYS, api, choose_range, number, shop_site, sign_in, tab  # noqa: F401 - fixtures


def funnel_on_page(page) -> list[tuple[str, float]]:
    return [(li.get_attribute("data-step"), number(li.locator("[data-value='count']").inner_text()))
            for li in page.locator("#funnel li").all()]


def test_create_pick_and_delete_a_funnel(tracker, shop_site, tab):
    token = shop_site
    page = tab()
    sign_in(page, tracker, token)
    choose_range(page)
    assert page.locator("#funnel-pick option").all_inner_texts() == ["Shop funnel"]

    page.get_by_role("link", name="New funnel").click()
    page.wait_for_url("**/app/shop/funnels/new?**")
    page.get_by_label("Name").fill("Checkout")
    page.get_by_label("Step 1 label").fill("Cart")
    page.get_by_label("Step 1 events").fill("add_to_cart")
    page.get_by_label("Step 2 events").fill("begin_checkout|add_shipping_info|add_payment_info")
    page.get_by_label("Step 3 events").fill("purchase;currency=EUR")
    page.get_by_label("Window").fill("1d")
    screenshot(page, "app-funnel-form")
    page.get_by_role("button", name="Save funnel").click()
    page.wait_for_url("**/app/shop?**funnel=**")

    listed = httpx.get(f"{tracker.url}/api/v1/sites/shop/funnels", headers={"authorization": f"Bearer {token}"}).json()["funnels"]
    assert [f["name"] for f in listed] == ["Shop funnel", "Checkout"]
    funnel_id = listed[1]["funnel_id"]
    assert page.locator("#h-funnel").inner_text() == "Checkout"
    assert page.locator("#funnel-pick").input_value() == funnel_id
    expected = api(tracker, token, "funnel", funnel=funnel_id)
    assert funnel_on_page(page) == [(s["label"], s["count"]) for s in expected["steps"]]
    assert [s["count"] for s in expected["steps"]] == [13, 6, 6]  # the seeded shop: every third visitor carts, every sixth buys
    assert expected["window"] == "1d"
    screenshot(page, "app-site-saved-funnel")

    # Pick the default funnel, then the saved one again, with the menu.
    page.get_by_label("Funnel", exact=True).select_option(label="Shop funnel")
    page.get_by_role("button", name="Open funnel").click()
    page.wait_for_url("**/app/shop?**funnel=shop**")
    assert page.locator("#h-funnel").inner_text() == "Shop funnel"
    assert funnel_on_page(page) == [(s["label"], s["count"]) for s in api(tracker, token, "funnel")["steps"]]
    page.get_by_label("Funnel", exact=True).select_option(label="Checkout")
    page.get_by_role("button", name="Open funnel").click()
    page.wait_for_url(f"**/app/shop?**funnel={funnel_id}**")
    assert [label for label, _ in funnel_on_page(page)] == ["Cart", "begin_checkout|add_shipping_info|add_payment_info", "purchase;currency=EUR"]
    assert page.locator("#funnel .step-label").all_inner_texts() == [  # as written, the first letter up
        "Cart", "Begin_checkout|add_shipping_info|add_payment_info", "Purchase;currency=EUR"]

    # Delete it from its edit form: back on the site's page, the default funnel, the menu without it.
    page.get_by_role("link", name="Edit this funnel").click()
    page.wait_for_url(f"**/app/shop/funnels/{funnel_id}/edit?**")
    assert page.get_by_label("Name").input_value() == "Checkout" and page.get_by_label("Step 2 events").input_value().startswith("begin_checkout")
    page.get_by_role("button", name="Delete this funnel").click()
    page.wait_for_url(f"**/app/shop?from={DAYS['from']}&to={DAYS['to']}")
    assert page.locator("#funnel-pick option").all_inner_texts() == ["Shop funnel"]
    assert page.locator("#h-funnel").inner_text() == "Shop funnel"
    listed = httpx.get(f"{tracker.url}/api/v1/sites/shop/funnels", headers={"authorization": f"Bearer {token}"}).json()["funnels"]
    assert [f["funnel_id"] for f in listed] == ["shop"]
    assert page.problems == []


def test_the_funnel_form_fits_a_375_px_phone(tracker, shop_site, tab):
    page = tab(width=375)
    sign_in(page, tracker, shop_site)
    page.goto(f"{tracker.url}/app/shop/funnels/shop/edit")
    assert page.get_by_label("Step 4 events").input_value() == "begin_checkout|add_shipping_info|add_payment_info"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "app-funnel-form-375px")
    assert page.problems == []
