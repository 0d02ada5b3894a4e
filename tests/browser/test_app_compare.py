"""The owner's page in Chromium with a comparison and a filter: pick "Previous period", see the
changes and the compared series on the chart, click a source, see its chip and the filtered
figures, remove the chip. Every figure checked is the query API's (tests/compare_support.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_app_pages import number, sign_in, tab  # noqa: F401 (tab is a fixture)
from tests.compare_support import DAYS, PREVIOUS_DAYS, TZ, seed
from tests.conftest import wait_for
from tracker.sites import Site, add_site
from tracker.tokens import create_token


@pytest.fixture
def shop_token(tracker, ch) -> str:
    add_site(ch, Site("shop", "Shoe shop", (), TZ))
    seed(ch)
    token = create_token(ch, "shop")[1]
    status = lambda: httpx.get(f"{tracker.url}/api/v1/sites/shop/stats", headers={"authorization": f"Bearer {token}"}).status_code  # noqa: E731
    assert wait_for(status, 200) == 200
    return token


def api(tracker, token: str, path: str, **params) -> dict:
    r = httpx.get(f"{tracker.url}/api/v1/sites/shop/{path}", params={**DAYS, **params}, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def change_shown(page, name: str) -> tuple[str, str]:
    """The change next to a total, as (sign and number, "was ...")."""
    text = page.locator(f".figures [data-delta='{name}']").inner_text()
    match = re.search(r"([+-]?[\d,.]+(?: pp)?(?: \([+-]?[\d,.]+ %\))?)\s+was (.+)$", text.strip())
    assert match, text
    return match.group(1), match.group(2)


def test_compare_with_the_previous_period_then_filter_by_a_source(tracker, shop_token, tab):  # noqa: F811
    token, page = shop_token, tab()
    sign_in(page, tracker, token)
    page.goto(f"{tracker.url}/app/shop?from={DAYS['from']}&to={DAYS['to']}")
    assert page.locator("[data-delta]").count() == 0
    page.get_by_label("Compare with").select_option(label="Previous period")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/app/shop?from={DAYS['from']}&to={DAYS['to']}&compare=previous")

    stats = api(tracker, token, "stats", compare="previous", interval="day")
    changes = stats["compare"]["changes"]["totals"]
    assert page.locator("#compare-period").inner_text().endswith(f"{PREVIOUS_DAYS['from']} to {PREVIOUS_DAYS['to']}.")
    assert change_shown(page, "visitors") == ("+4 (+50.00 %)", "8")
    assert changes["visitors"] == {"change": 4, "change_percent": 50.0}
    assert change_shown(page, "orders") == (f"+{changes['orders']['change']} (+{changes['orders']['change_percent']:.2f} %)",
                                            str(stats["compare"]["totals"]["orders"]))
    assert page.locator(".figures [data-delta='visitors'] .delta.up").count() == 1  # ▲ and "up" besides the colour
    assert page.locator(".figures [data-delta='visitors'] .delta").inner_text().startswith("▲")
    # The chart: a dashed series per figure for the previous period, in the legend too.
    page.locator("#chart canvas").first.wait_for()
    legend = page.locator("#chart .u-legend").inner_text()
    assert "Visitors (previous period)" in legend and "Orders (previous period)" in legend and "Revenue EUR (previous period)" in legend
    # The funnel, stage by stage.
    funnel = api(tracker, token, "funnel", compare="previous")
    first = page.locator("#funnel li").first.locator("[data-delta='count']").inner_text()
    assert first.split("was")[0].strip().endswith(f"+{funnel['compare']['changes']['steps'][0]['count']['change']} (+50.00 %)")
    screenshot(page, "app-site-compare-previous")

    # Click a source in the channels table: the whole page shows its visits only.
    page.locator("#channels").get_by_role("link", name="google", exact=True).click()
    page.wait_for_url(re.compile(r".*[?&]filter=source%3D%3Dgoogle$"))
    chip = page.locator("#filters .chip")
    assert chip.count() == 1 and chip.locator(".chip-label").inner_text() == "Source is google"
    filtered = api(tracker, token, "stats", compare="previous", filter="source==google", interval="day")
    assert number(page.locator("[data-figure='visitors']").inner_text()) == filtered["totals"]["visitors"] == 4
    assert change_shown(page, "visitors") == ("+1 (+33.33 %)", str(filtered["compare"]["totals"]["visitors"]))
    assert [r.locator("th").inner_text() for r in page.locator("#channels tbody tr").all()] == ["google"]
    assert page.get_by_label("Compare with").input_value() == "previous"  # the comparison stays
    screenshot(page, "app-site-filtered")

    # Remove the chip with the keyboard (the stop after the form's button): back to every visit, still compared.
    assert page.get_by_role("link", name="Remove the filter: Source is google").count() == 1
    page.get_by_label("Compare with").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    stop = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {label: e.getAttribute('aria-label'), outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")
    assert stop["label"] == "Remove the filter: Source is google" and stop["outline"] != "none" and stop["width"] >= 2, stop
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/app/shop?from={DAYS['from']}&to={DAYS['to']}&compare=previous")
    assert page.locator("#filters").count() == 0
    assert number(page.locator("[data-figure='visitors']").inner_text()) == stats["totals"]["visitors"] == 12

    # "No comparison" leaves the URL as it was before.
    page.get_by_label("Compare with").select_option(label="No comparison")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/app/shop?from={DAYS['from']}&to={DAYS['to']}")
    assert page.locator("[data-delta]").count() == 0 and "(previous period)" not in page.locator("#chart .u-legend").inner_text()
    assert page.problems == []


def test_compared_and_filtered_the_page_fits_a_375_px_phone(tracker, shop_token, tab):  # noqa: F811
    page = tab(width=375)
    sign_in(page, tracker, shop_token)
    page.goto(f"{tracker.url}/app/shop?from={DAYS['from']}&to={DAYS['to']}&compare=year&filter=source%3D%3Dgoogle")
    page.locator("#chart canvas").first.wait_for()
    page.get_by_text("Numbers per day").click()  # the widest table, with the compared columns
    assert page.locator("#filters .chip").count() == 1 and page.locator(".figures [data-delta]").count() >= 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.problems == []
    screenshot(page, "app-site-compare-year-375px")
