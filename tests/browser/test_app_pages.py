"""The shop owner's pages (/app) in Chromium: signed in through the form, the figures on the page
are the query API's answers for the same range, at 375 px wide nothing scrolls sideways, and the
keyboard reaches everything with a visible focus. Each test writes a screenshot (see conftest)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.browser.conftest import DESKTOP_CHROME, screenshot
from tests.conftest import wait_for
from tests.query_support import T0, at, event, insert
from tracker.sites import Site, add_site
from tracker.tokens import create_token

DAYS = {"from": (T0.date() - timedelta(days=1)).isoformat(), "to": (T0.date() + timedelta(days=3)).isoformat()}
SOURCES = ["google", "newsletter", "direct", "instagram"]


def seed_shop(ch) -> None:
    """40 visitors over three days: page views from four sources, and depending on the visitor
    product views, carts, checkouts and purchases in EUR (one in SEK); some carts are abandoned
    and two of those are bought a day later (recovered)."""
    rows = []
    for v in range(1, 41):
        t0 = at(v * 5400)
        source = SOURCES[v % len(SOURCES)]
        rows.append(event("page_view", t0, v, site="shop", source=source, path="/"))
        if v % 2 == 0:
            rows.append(event("view_item", t0 + timedelta(seconds=30), v, site="shop", items=[(f"sku-{v % 5}", 19.9, 1, f"Shoe {v % 5}")]))
        if v % 3 == 0:
            rows.append(event("add_to_cart", t0 + timedelta(seconds=90), v, site="shop",
                              items=[(f"sku-{v % 5}", 19.9, 2, f"Shoe {v % 5}")], value=39.8, currency="EUR"))
        if v % 6 == 0:
            rows.append(event("begin_checkout", t0 + timedelta(seconds=150), v, site="shop", value=39.8, currency="EUR"))
            rows.append(event("purchase", t0 + timedelta(seconds=210), v, site="shop", value=39.8, currency="EUR", transaction_id=f"T-{v}"))
        if v in (9, 15):  # abandoned first, bought the next day: recovered
            rows.append(event("page_view", t0 + timedelta(days=1), v, site="shop", source="newsletter"))
            rows.append(event("purchase", t0 + timedelta(days=1, seconds=60), v, site="shop", value=39.8, currency="EUR",
                              transaction_id=f"R-{v}"))
    rows.append(event("purchase", at(7 * 5400 + 100), 7, site="shop", value=120, currency="SEK", transaction_id="S-7"))
    insert(ch, rows)
    ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")


@pytest.fixture
def shop_site(tracker, ch) -> str:
    """Site `shop` with seeded events; returns a query token for it once the tracker knows the site."""
    add_site(ch, Site("shop", "Shoe shop", (), "Europe/Berlin"))
    seed_shop(ch)
    token = create_token(ch, "shop")[1]
    status = lambda: httpx.get(f"{tracker.url}/api/v1/sites/shop/stats", headers={"authorization": f"Bearer {token}"}).status_code  # noqa: E731
    assert wait_for(status, 200) == 200
    return token


def api(tracker, token: str, path: str, **params) -> dict:
    r = httpx.get(f"{tracker.url}/api/v1/sites/shop/{path}", params={**DAYS, **params}, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


@pytest.fixture
def tab(browser):
    contexts = []

    def open_tab(width: int = 1280):
        context = browser.new_context(user_agent=DESKTOP_CHROME, viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.problems = []  # uncaught errors and console errors (a CSP violation is one)
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        return page

    yield open_tab
    for context in contexts:
        context.close()


def sign_in(page, tracker, token: str) -> None:
    page.goto(f"{tracker.url}/app/shop")
    assert page.url == f"{tracker.url}/app/_sign-in"  # not signed in yet: the sign-in page
    page.get_by_label("Query token of your site").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{tracker.url}/app/shop")


def choose_range(page) -> None:
    page.get_by_label("From").fill(DAYS["from"])
    page.get_by_label("To (included)").fill(DAYS["to"])
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/app/shop?from={DAYS['from']}&to={DAYS['to']}")


def test_the_figures_on_the_page_are_the_apis(tracker, shop_site, tab):
    token = shop_site
    page = tab()
    page.goto(f"{tracker.url}/app/_sign-in")
    page.get_by_label("Query token of your site").fill(token + "x")
    page.get_by_role("button", name="Sign in").click()
    assert "That token is not valid" in page.get_by_role("alert").inner_text()
    screenshot(page, "app-sign-in-error")
    page.problems.clear()  # the browser logs the 401 of the wrong token
    sign_in(page, tracker, token)
    choose_range(page)
    assert page.context.cookies()[0]["httpOnly"] and page.evaluate("document.cookie") == ""  # scripts cannot read it
    assert token not in page.url

    stats = api(tracker, token, "stats", interval="day")
    totals = stats["totals"]
    figure = lambda name: page.locator(f"[data-figure='{name}']").inner_text()  # noqa: E731
    assert number(figure("visitors")) == totals["visitors"] == 40
    assert number(figure("sessions")) == totals["sessions"]
    assert number(figure("orders")) == totals["orders"] == 9
    assert number(figure("conversion_rate")) == totals["conversion_rate"]
    for r in totals["revenue"]:
        assert number(figure(f"revenue_{r['currency']}")) == round(r["revenue"], 2)
        assert number(figure(f"aov_{r['currency']}")) == round(r["average_order_value"], 2)
    assert [r["currency"] for r in totals["revenue"]] == ["EUR", "SEK"]

    # The chart is drawn (uPlot's canvas) and the table under it holds the API's series.
    assert page.locator("#chart canvas").count() >= 1 and page.locator("#chart .u-legend").inner_text().count("Revenue") == 2
    page.get_by_text("Numbers per day").click()
    rows = page.locator("#series tbody tr").all()
    assert len(rows) == len(stats["series"]) == 5
    for row, p in zip(rows, stats["series"]):
        cells = [c.inner_text() for c in row.locator("th, td").all()]
        assert cells[0] == p["period"]
        assert [number(c) for c in cells[1:4]] == [p["visitors"], p["sessions"], p["orders"]]

    funnel = api(tracker, token, "funnel")
    steps = page.locator("#funnel li").all()
    assert len(steps) == len(funnel["steps"]) == 6
    for item, s in zip(steps, funnel["steps"]):
        assert item.get_attribute("data-step") == s["label"]
        assert number(item.locator("[data-value='count']").inner_text()) == s["count"]
        assert number(item.locator("[data-value='conversion_from_first']").inner_text()) == s["conversion_from_first"]
        if s["step"] > 1:
            assert number(item.locator("[data-value='conversion_from_previous']").inner_text()) == s["conversion_from_previous"]
            assert number(item.locator("[data-value='dropped']").inner_text()) == s["dropped"]
        assert float(item.locator("rect.bar-fill").get_attribute("width")) == s["conversion_from_first"]
    assert number(page.locator("[data-figure='overall_conversion']").inner_text()) == funnel["overall_conversion"]
    assert [s["count"] for s in funnel["steps"]][:5] == [40, 20, 6, 6, 6]  # in order: carts of visitors who viewed an item

    # Channels: per source; all sources together are the stats' totals.
    channel_rows = page.locator("#channels tbody tr").all()
    assert sorted(r.locator("th").inner_text() for r in channel_rows) == sorted(SOURCES)
    assert sum(number(r.locator("td").nth(0).inner_text()) for r in channel_rows) == totals["sessions"]
    assert sum(number(r.locator("td").nth(2).inner_text()) for r in channel_rows) == totals["orders"]
    footer = page.locator("#channels tfoot td").all()
    assert (number(footer[0].inner_text()), number(footer[2].inner_text())) == (totals["sessions"], totals["orders"])

    for kind in ("abandoned", "recovered"):
        carts = api(tracker, token, f"carts/{kind}")
        section = page.locator(f"#{kind}")
        assert number(section.locator("[data-value='carts']").inner_text()) == carts["totals"]["carts"]
        for v in carts["totals"]["value"]:
            assert number(section.locator(f"[data-value='value_{v['currency']}']").inner_text()) == round(v["value"], 2)
        assert section.locator("tbody tr").count() == min(10, carts["totals"]["carts"])
    assert api(tracker, token, "carts/recovered")["totals"]["carts"] == 2

    # The CSV link gives the API's CSV (the browser sends the cookie, no token in the link).
    with page.expect_download() as download:
        page.locator("#abandoned").get_by_role("link", name="Download all as CSV").click()
    csv_text = download.value.path().read_bytes().decode()
    api_csv = httpx.get(f"{tracker.url}/api/v1/sites/shop/carts/abandoned", params={**DAYS, "format": "csv", "limit": 500},
                        headers={"authorization": f"Bearer {token}"}).text
    assert csv_text == api_csv and csv_text.count("\r\n") == 1 + api(tracker, token, "carts/abandoned")["totals"]["carts"]

    assert all(url.startswith(tracker.url + "/") for url in page.requested), page.requested  # nothing from elsewhere
    assert page.problems == []
    print("screenshot:", screenshot(page, "app-site"))


def test_the_pages_fit_a_375_px_phone(tracker, shop_site, tab):
    page = tab(width=375)
    page.goto(f"{tracker.url}/app/_sign-in")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "app-sign-in-375px")
    sign_in(page, tracker, shop_site)
    choose_range(page)
    page.get_by_text("Numbers per day").click()  # the widest table, opened
    page.locator("#chart canvas").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#chart").bounding_box()["width"] <= 375
    assert page.problems == []
    screenshot(page, "app-site-375px")
    page.goto(f"{tracker.url}/app/other")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "app-no-such-site-375px")


def focused(page) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement, style = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || e.value || '').trim().slice(0, 40),
                outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
    }""")


def test_the_keyboard_reaches_everything_with_a_visible_focus(tracker, shop_site, tab):
    page = tab()
    page.goto(f"{tracker.url}/app/_sign-in")
    # The token field has autofocus, which Chromium applies a moment after the page loads: wait for
    # it rather than read the focus before (a Tab pressed then went past the field, once in CI).
    page.wait_for_function("document.activeElement && document.activeElement.id === 'token'", timeout=10_000)
    assert focused(page)["id"] == "token"
    page.keyboard.type(shop_site)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{tracker.url}/app/shop")
    page.goto(f"{tracker.url}/app/shop?from={DAYS['from']}&to={DAYS['to']}")

    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["tag"] == "body":
            break  # past the last stop: the focus left the page
        assert now["outline"] != "none" and now["width"] >= 2, now  # every stop shows where the focus is
        key = now["id"] or now["text"]
        if not seen or seen[-1] != key:
            seen.append(key)
    for stop in ("Sign out", "from", "to", "Show", "Download all as CSV"):
        assert stop in seen, seen
    assert seen.index("from") < seen.index("to") < seen.index("Show") < seen.index("Download all as CSV")

    # Change the range with the keyboard only, then sign out with it.
    later = T0.date().isoformat()  # a day after DAYS["from"]
    page.locator("#from").focus()
    page.keyboard.type(later[5:7] + later[8:10] + later[:4])  # Chromium's date field: month, day, year
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/app/shop?from={later}&to={DAYS['to']}")
    assert page.locator("#series tbody tr").count() == 4
    page.locator("#to").focus()
    screenshot(page, "app-site-keyboard-focus")
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{tracker.url}/app/_sign-in?signed_out")
    assert "You are signed out." in page.content() and page.context.cookies() == []
    page.goto(f"{tracker.url}/app/shop")
    assert page.url == f"{tracker.url}/app/_sign-in"


def test_the_chart_legend_shows_and_hides_a_series_by_keyboard(tracker, shop_site, tab):
    page = tab()
    sign_in(page, tracker, shop_site)
    page.goto(f"{tracker.url}/app/shop?from={DAYS['from']}&to={DAYS['to']}")
    legend = page.locator("#chart .u-legend")
    orders = legend.get_by_role("button", name="Orders", exact=True)
    assert orders.get_attribute("aria-pressed") == "true"
    assert legend.get_by_role("button").count() == 4  # visitors, orders, revenue in EUR and in SEK

    for _ in range(60):  # Tab from the top of the page to the legend's "Orders"
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Orders":
            break
    else:
        raise AssertionError("the Tab key never reached the legend's Orders")
    now = focused(page)
    assert now["outline"] != "none" and now["width"] >= 2, now  # the focus shows
    page.keyboard.press("Enter")
    row = legend.locator("tr.u-series", has=page.get_by_role("button", name="Orders", exact=True))
    assert orders.get_attribute("aria-pressed") == "false" and "u-off" in row.get_attribute("class")  # uPlot's hidden series
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Orders"  # the focus stays on the entry
    page.keyboard.press(" ")
    assert orders.get_attribute("aria-pressed") == "true" and "u-off" not in row.get_attribute("class")
    assert legend.get_by_role("button", name="Visitors", exact=True).get_attribute("aria-pressed") == "true"
    assert page.problems == []
