"""The breakdown panels of /app/{site} in Chromium on a 375 px phone: every panel is shown, nothing
makes the page scroll sideways (wide tables scroll inside their box, which the keyboard can focus
and scroll), the figures are the API's, and a screenshot of the page is written (see conftest).
tests/test_http_app_breakdowns.py checks every figure of every panel."""

from __future__ import annotations

import httpx
import pytest

from tests.breakdown_shop import DAYS, seed
from tests.browser.conftest import SCREENSHOTS, screenshot
from tests.browser.test_app_pages import focused, sign_in, tab  # noqa: F401 - tab is a fixture
from tests.conftest import wait_for
from tracker.sites import Site, add_site
from tracker.tokens import create_token

PANELS = ("h-pages", "h-devices", "h-products", "h-cohorts", "h-sales-cycle")
TABLES = ("pages-top", "pages-entry", "pages-exit", "devices-device", "devices-browser", "devices-os", "products",
          "products-abandoned", "cohorts", "cycle-histogram", "cycle-channels")


@pytest.fixture
def shop_token(tracker, ch) -> str:
    add_site(ch, Site("shop", "Shoe shop", (), "Europe/Berlin"))
    seed(ch)
    token = create_token(ch, "shop")[1]
    status = lambda: httpx.get(f"{tracker.url}/api/v1/sites/shop/stats", headers={"authorization": f"Bearer {token}"}).status_code  # noqa: E731
    assert wait_for(status, 200) == 200
    return token


def test_the_panels_fit_a_375_px_phone_and_scroll_by_keyboard(tracker, shop_token, tab):  # noqa: F811
    page = tab(width=375)
    sign_in(page, tracker, shop_token)
    page.goto(f"{tracker.url}/app/shop?from={DAYS['from']}&to={DAYS['to']}")
    for heading in PANELS:
        assert page.locator(f"#{heading}").is_visible(), heading
    for table in TABLES:
        box = page.locator(f"#{table}").locator("xpath=..").bounding_box()  # the table's scroll box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (table, box)
        assert page.locator(f"#{table} tbody tr").count() >= 1, table
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.problems == []

    # The figures are the API's (one table here; the HTTP test checks them all).
    top = httpx.get(f"{tracker.url}/api/v1/sites/shop/pages", params={**DAYS, "limit": 10},
                    headers={"authorization": f"Bearer {shop_token}"}).json()
    rows = [[c.inner_text() for c in r.locator("th, td").all()] for r in page.locator("#pages-top tbody tr").all()]
    assert rows == [[p["path"], str(p["visitors"]), str(p["views"])] for p in top["pages"]] and len(rows) == 2

    # The cohort matrix is wider than the phone: its box scrolls, by keyboard too, with a visible focus.
    matrix = page.locator("#cohorts").locator("xpath=..")
    assert matrix.evaluate("e => e.scrollWidth > e.clientWidth")
    matrix.focus()
    assert focused(page)["outline"] != "none" and focused(page)["width"] >= 2
    page.keyboard.press("ArrowRight")
    assert wait_for(lambda: matrix.evaluate("e => e.scrollLeft") > 0, True)
    screenshot(page, "app-breakdowns-375px")
    for heading in PANELS:  # and each panel alone, easier to look at than the whole long page
        page.locator(f"section[aria-labelledby='{heading}']").screenshot(path=str(SCREENSHOTS / f"app-{heading[2:]}-375px.png"))

    # A value is a link the keyboard reaches: Enter follows it to the page for that path.
    link = page.locator("#pages-top a.filter-link").first
    link.focus()
    assert focused(page)["tag"] == "a" and focused(page)["width"] >= 2
    page.keyboard.press("Enter")
    page.wait_for_url("**filter=path%3D%3D%2F**")
    assert page.url.endswith(f"from={DAYS['from']}&to={DAYS['to']}&filter=path%3D%3D%2F")


def test_the_panels_side_by_side_on_a_laptop(tracker, shop_token, tab):  # noqa: F811
    page = tab(width=1280)
    sign_in(page, tracker, shop_token)
    page.goto(f"{tracker.url}/app/shop?from={DAYS['from']}&to={DAYS['to']}")
    # All three at one moment: the realtime panel above refreshes itself, and its height may change
    # between three separate measurements.
    tops = page.evaluate("['top', 'entry', 'exit'].map(k => document.getElementById('pages-' + k).getBoundingClientRect().top)")
    assert tops[0] == tops[1] == tops[2]  # three tables in a row
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.problems == []
    screenshot(page, "app-breakdowns")
