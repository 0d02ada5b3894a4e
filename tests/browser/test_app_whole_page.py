"""The whole owner's page, /app/{site}, with every panel on one seeded shop, in Chromium, as a new
shop owner uses it: every figure on the page (each element with data-figure or data-value) is
the query API's answer written the way tracker/owner/format.py writes it, plain, compared with the
previous period and filtered by a source; each panel whose endpoint refuses the page's filter or
comparison says so; at 375 px nothing scrolls sideways with every panel open; the Tab key reaches
every link, button and field with a visible outline and leaves the page at the end; the read-only
shared view has no edit control; no console error (a CSP violation is one). Screenshots of each
view go to tests/browser/screenshots/whole-page-*.png (see conftest).

One test, one seeded tracker: the views are steps of one owner's visit, so the shop is seeded once.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests import breakdown_shop, compare_support
from tests.browser.conftest import screenshot
from tests.browser.test_app_pages import sign_in, tab  # noqa: F401 - tab is a fixture
from tests.conftest import wait_for
from tests.query_support import at, event, insert
from tracker.owner import format as fmt
from tracker.owner.compare import change_text
from tracker.sites import Site, add_site
from tracker.tokens import create_token

DAYS = breakdown_shop.DAYS  # compare_support.DAYS is the same three days
FILTER = "source==google"
SHOWN = "10"  # rows per table on the page (tracker/owner/breakdowns.py SHOWN, pages.CARTS_SHOWN)


@pytest.fixture
def shop_token(tracker, ch) -> str:
    """One shop with every kind of event: the breakdown shop (paths, phones and laptops, products,
    identified customers and a returning one, abandoned carts, a two-day sales cycle), the compare
    shop (the same days, the previous period and a year earlier), and an order in SEK."""
    add_site(ch, Site("shop", "Shoe shop", (), compare_support.TZ))
    breakdown_shop.seed(ch)
    compare_support.seed(ch)
    insert(ch, [event("purchase", at(5 * 3600 + 400), 5, path="/thanks", value=120, currency="SEK", transaction_id="S-5",
                      customer_id="c-5", items=[("red", 120, 1, "Red shoe")])])
    ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")
    token = create_token(ch, "shop")[1]
    status = lambda: httpx.get(f"{tracker.url}/api/v1/sites/shop/stats", headers={"authorization": f"Bearer {token}"}).status_code  # noqa: E731
    assert wait_for(status, 200) == 200
    return token


class Api:
    """The query API as the page's panels ask it, with the page's filter and comparison: an
    endpoint that refuses one of them (400, "unknown parameter") is asked without it, and noted."""

    def __init__(self, tracker, token: str, compare: str = "", filters: tuple[str, ...] = ()) -> None:
        self.url, self.headers = f"{tracker.url}/api/v1/sites/shop", {"authorization": f"Bearer {token}"}
        self.compare, self.filters = compare, filters
        self.unfiltered: set[str] = set()  # endpoints that take no filter
        self.uncompared: set[str] = set()  # endpoints that take no compare

    def __call__(self, endpoint: str, path: str, days: dict | None = None, **params) -> dict:
        extra = [("filter", f) for f in self.filters] + ([("compare", self.compare)] if self.compare else [])
        while True:
            r = httpx.get(f"{self.url}/{path}", params=[*(DAYS if days is None else days).items(), *params.items(), *extra], headers=self.headers)
            refused = {f["path"] for f in r.json()["error"].get("fields", []) if "unknown parameter" in f["reason"]} if r.status_code == 400 else set()
            if not refused or not refused <= {"filter", "compare"}:
                break
            if "filter" in refused:
                self.unfiltered.add(endpoint)
            if "compare" in refused:
                self.uncompared.add(endpoint)
            extra = [(k, v) for k, v in extra if k not in refused]
        assert r.status_code == 200, (path, r.text)
        return r.json()


def lines(values: list[dict], key: str) -> str:
    """Money per currency, one line each, as the tables write it ("–" for none)."""
    return "\n".join(f"{fmt.money(v[key])} {v['currency']}" for v in values) or fmt.NONE


def expected_figures(api: Api, funnel_id: str = "") -> dict[str, str]:
    """Every figure the page should show, keyed as figures_on() keys the page's: `figure:NAME` for
    data-figure, else `BOX/ROW/NAME/N` (the nearest id around it, its row, its name, the Nth such)."""
    want: dict[str, str] = {}

    def put(box: str, row: int, name: str, text: str) -> None:
        n = sum(1 for k in want if k.startswith(f"{box}/{row}/{name}/"))
        want[f"{box}/{row}/{name}/{n}"] = text

    stats = api("stats", "stats", interval="day")
    t = stats["totals"]
    want.update({"figure:visitors": fmt.count(t["visitors"]), "figure:sessions": fmt.count(t["sessions"]),
                 "figure:orders": fmt.count(t["orders"]), "figure:conversion_rate": fmt.percent(t["conversion_rate"])})
    for r in t["revenue"]:
        want[f"figure:revenue_{r['currency']}"] = fmt.money(r["revenue"])
        want[f"figure:aov_{r['currency']}"] = fmt.money(r["average_order_value"])

    funnel = api("funnel", "funnel", **({"funnel": funnel_id} if funnel_id else {}))
    want["figure:overall_conversion"] = fmt.percent(funnel["overall_conversion"])
    for i, s in enumerate(funnel["steps"]):
        put("funnel", i, "count", fmt.count(s["count"]))
        if i:
            put("funnel", i, "conversion_from_previous", fmt.percent(s["conversion_from_previous"]))
            put("funnel", i, "dropped", fmt.count(s["dropped"]))
        put("funnel", i, "conversion_from_first", fmt.percent(s["conversion_from_first"]))

    for i, c in enumerate(api("channels", "channels")["channels"]):
        for name, kind in (("sessions", fmt.count), ("conversion_rate", fmt.percent), ("orders", fmt.count)):
            put("channels", i, name, kind(c[name]))

    for kind, endpoint in (("abandoned", "abandoned_carts"), ("recovered", "recovered_carts")):
        carts = api(endpoint, f"carts/{kind}", limit=SHOWN)["totals"]
        put(kind, -1, "carts", fmt.count(carts["carts"]))
        for v in carts["value"]:
            put(kind, -1, f"value_{v['currency']}", fmt.money(v["value"]))

    columns = {"top": ("visitors", "views"), "entry": ("entries", "entry_conversion_rate"), "exit": ("exits", "views")}
    for kind, names in columns.items():
        for i, p in enumerate(api("pages", "pages", kind=kind, limit=SHOWN)["pages"]):
            for name in names:
                put(f"pages-{kind}", i, name, fmt.percent(p[name]) if name.endswith("rate") else fmt.count(p[name]))

    for by in ("device", "browser", "os"):
        for i, v in enumerate(api("devices", "devices", by=by, limit=SHOWN)["values"]):
            put(f"devices-{by}", i, "visitors", fmt.count(v["visitors"]))
            put(f"devices-{by}", i, "conversion_rate", fmt.percent(v["conversion_rate"]))
            put(f"devices-{by}", i, "orders", fmt.count(v["orders"]))
            put(f"devices-{by}", i, "revenue", lines(v["revenue"], "revenue"))

    for i, p in enumerate(api("products", "products", limit=SHOWN)["items"]):
        for name in ("views", "adds", "orders", "units"):
            put("products", i, name, fmt.count(p[name]))
        put("products", i, "revenue", lines(p["revenue"], "revenue"))
        put("products", i, "view_to_purchase", fmt.percent(p["view_to_purchase"]))
    left = api("abandoned_products", "products/abandoned", limit=SHOWN)
    put("products-abandoned-totals", -1, "carts", fmt.count(left["totals"]["carts"]))
    for v in left["totals"]["value"]:
        put("products-abandoned-totals", -1, f"value_{v['currency']}", fmt.money(v["value"]))
    for i, p in enumerate(left["items"]):
        put("products-abandoned", i, "carts", fmt.count(p["carts"]))
        put("products-abandoned", i, "units", fmt.count(p["units"]))
        put("products-abandoned", i, "value", lines(p["value"], "value"))

    cohorts = api("cohorts", "cohorts", days={"to": DAYS["to"]})["cohorts"]  # twelve months up to the range's end
    width = max((len(c["periods"]) for c in cohorts), default=0)
    for i, c in enumerate(cohorts):
        put("cohorts", i, "customers", fmt.count(c["customers"]))
        put("cohorts", i, "repeat_rate", fmt.percent(c["periods"][-1]["repeat_rate"]))
        put("cohorts", i, "ltv", "\n".join(f"{fmt.money(v['per_customer'])} {v['currency']}" for v in c["periods"][-1]["ltv"]) or fmt.NONE)
        for k in range(width):
            put("cohorts", i, "retention", fmt.percent(c["periods"][k]["retention"]) if k < len(c["periods"]) else "")

    cycle = api("sales_cycle", "sales-cycle", limit=SHOWN)
    totals = cycle["totals"]
    want.update({"figure:cycle_median": fmt.span(totals["median_time_s"]), "figure:cycle_p90": fmt.span(totals["p90_time_s"]),
                 "figure:cycle_orders": fmt.count(totals["orders"])})
    for i, b in enumerate(totals["histogram"]):
        put("cycle-histogram", i, "orders", fmt.count(b["orders"]))
    for i, c in enumerate(cycle["channels"]):
        put("cycle-channels", i, "orders", fmt.count(c["orders"]))
        put("cycle-channels", i, "median_time_s", fmt.span(c["median_time_s"]))
        put("cycle-channels", i, "p90_time_s", fmt.span(c["p90_time_s"]))
    api("realtime", "realtime", days={})  # no figure of its own here (live), but its panel says what it does not take
    return want


# Kept by each page before its own scripts run: a blocked inline script or style would be listed.
CSP_WATCH = "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"


def opened(tab, width: int = 1280):
    page = tab(width=width)
    page.add_init_script(CSP_WATCH)
    return page


FIGURES_ON_PAGE = """() => {
  const out = {};
  for (const e of document.querySelectorAll('[data-figure], [data-value]')) {
    const text = e.innerText.replace(/\\u00a0/g, ' ').trim();
    if (e.dataset.figure) { out['figure:' + e.dataset.figure] = text; continue; }
    const box = e.parentElement.closest('[id]'), row = e.parentElement.closest('tr, li');
    const index = row && box.contains(row) ? [...row.parentElement.children].indexOf(row) : -1;
    const scope = index >= 0 ? row : box, name = e.dataset.value;
    const n = [...scope.querySelectorAll('[data-value]')].filter((x) => x.dataset.value === name).indexOf(e);
    out[`${box ? box.id : '?'}/${index}/${name}/${n}`] = text;
  }
  return out;
}"""


def figures_on(page) -> dict[str, str]:
    return page.evaluate(FIGURES_ON_PAGE)


def noted(page, kind: str) -> set[str]:
    """The endpoints whose panels say "Not filtered" (kind "filtered") or "Not compared"."""
    texts = page.locator(f"[data-not-{kind}]").evaluate_all(f"es => es.map(e => e.dataset.not{kind.capitalize()})")
    return {name for text in texts for name in text.split()}


def page_url(tracker, **params) -> str:
    pairs = [*DAYS.items(), *((k, v) for k, v in params.items() if k != "filter")]
    pairs += [("filter", f) for f in params.get("filter", ())]
    return f"{tracker.url}/app/shop?{urlencode(pairs)}"


def showing(tracker, **params):
    """For wait_for_url: the site's page with these parameters, in any order."""
    want = sorted(parse_qsl(urlsplit(page_url(tracker, **params)).query))
    return lambda url: url.startswith(f"{tracker.url}/app/shop?") and sorted(parse_qsl(urlsplit(url).query)) == want


def check_view(page, api: Api, funnel_id: str = "") -> dict[str, str]:
    """Every figure on the page is the API's; the page has no duplicated id and no console error."""
    page.locator("#chart canvas").first.wait_for()
    shown = figures_on(page)  # a no-break space read as a space on both sides
    want = {k: v.replace("\u00a0", " ") for k, v in expected_figures(api, funnel_id).items()}
    assert sorted(shown) == sorted(want), (sorted(set(shown) ^ set(want)))  # every figure on the page is checked
    assert {k: v for k, v in shown.items() if v != want[k]} == {}, {k: (v, want[k]) for k, v in shown.items() if v != want[k]}
    assert len(shown) > 50, len(shown)
    # A panel that does not take the page's filter or comparison says so, and only such a panel.
    assert noted(page, "filtered") == (api.unfiltered if api.filters else set())
    assert noted(page, "compared") == (api.uncompared if api.compare else set())
    duplicated = page.evaluate("""() => { const seen = {};
        for (const e of document.querySelectorAll('[id]')) seen[e.id] = (seen[e.id] || 0) + 1;
        return Object.keys(seen).filter((id) => seen[id] > 1); }""")
    assert duplicated == []
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")  # nothing scrolls sideways, at any width
    headings = page.evaluate("() => [...document.querySelectorAll('h1, h2, h3, h4')].map((h) => Number(h.tagName[1]))")
    assert headings[0] == 1 and headings.count(1) == 1 and all(b - a <= 1 for a, b in zip(headings, headings[1:])), headings
    assert page.evaluate("window.cspViolations") == [] and page.problems == []
    return shown


def check_changes(page, tracker, token: str) -> None:
    """With a comparison, each total and funnel step shows the API's change."""
    stats = Api(tracker, token, "previous")("stats", "stats", interval="day")
    for name, kind in (("visitors", "count"), ("sessions", "count"), ("orders", "count"), ("conversion_rate", "percent")):
        text = page.locator(f"#totals [data-delta='{name}']").inner_text()
        assert change_text(stats["compare"]["changes"]["totals"][name], kind) in text, (name, text)
    funnel = Api(tracker, token, "previous")("funnel", "funnel")
    for i, c in enumerate(funnel["compare"]["changes"]["steps"]):
        text = page.locator("#funnel > li").nth(i).locator("[data-delta='count']").inner_text()
        assert text.split(" was ")[0].endswith(change_text(c["count"], "count")), (i, text)
    channels = Api(tracker, token, "previous")("channels", "channels")["compare"]["changes"]["totals"]
    text = page.locator("#channels tfoot [data-delta='sessions']").inner_text()
    assert text.endswith(change_text(channels["sessions"], "count")), text
    legend = page.locator("#chart .u-legend").inner_text()
    assert "Visitors (previous period)" in legend
    assert page.locator("#compare-period").inner_text().startswith("Against the previous period:")


def walk_with_tab(page) -> list[dict]:
    """Tab from the top of the page to past its end: every stop shows a focus outline; returns the stops."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    # Numbered in the order of the page (the realtime panel rewrites part of it meanwhile).
    reachable = page.evaluate("""() => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, summary, [tabindex]')]
        .filter((e) => e.tabIndex >= 0 && !e.disabled && e.checkVisibility())
        .map((e, n) => { e.dataset.tabOrder = n; return n; })""")
    stops: list[dict] = []
    for _ in range(2 * len(reachable) + 10):  # a date field takes a Tab per part (month, day, year)
        page.keyboard.press("Tab")
        now = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.getAttribute('aria-label') || e.innerText || e.value || '').trim().slice(0, 40),
                    outline: s.outlineStyle, width: parseFloat(s.outlineWidth), index: Number(e.dataset.tabOrder ?? -1)}; }""")
        if now["tag"] == "body":
            break
        assert now["outline"] != "none" and now["width"] >= 2, now  # every stop shows where the focus is
        if not stops or stops[-1]["index"] != now["index"]:
            stops.append(now)
    else:
        raise AssertionError(f"the focus never left the page (a trap?): {stops[-3:]}")
    missed = page.evaluate("(ix) => ix.map((i) => document.querySelector(`[data-tab-order='${i}']`).outerHTML.slice(0, 120))",
                           [i for i in reachable if i not in {s["index"] for s in stops}])
    assert [s["index"] for s in stops] == reachable, ([s for s in stops if s["index"] not in reachable], missed)  # each once, in order
    return stops


def test_the_whole_page_as_a_new_shop_owner_sees_it(tracker, shop_token, tab):  # noqa: F811
    token = shop_token
    page = opened(tab)

    # Signing in.
    page.goto(f"{tracker.url}/app/_sign-in")
    screenshot(page, "whole-page-sign-in")
    sign_in(page, tracker, token)

    # The page for three days, every panel, then the same compared and filtered.
    page.goto(page_url(tracker))
    plain = check_view(page, Api(tracker, token))
    assert plain["figure:visitors"] == "24" and "figure:revenue_SEK" in plain  # 12 visitors of each shop; two currencies
    assert page.locator("[data-delta]").count() == 0
    assert page.locator("#funnel .missing").count() >= 1  # the seeded shops send no add_shipping_info
    screenshot(page, "whole-page-1280")

    page.get_by_label("Compare with").select_option(label="Previous period")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(showing(tracker, compare="previous"))
    compared = Api(tracker, token, "previous")
    check_view(page, compared)
    check_changes(page, tracker, token)
    assert compared.uncompared >= {"pages", "devices", "products", "cohorts", "sales_cycle", "abandoned_carts"}
    screenshot(page, "whole-page-compared")

    page.locator("#channels").get_by_role("link", name="google", exact=True).click()
    page.wait_for_url(showing(tracker, compare="previous", filter=(FILTER,)))
    filtered = Api(tracker, token, "previous", (FILTER,))
    shown = check_view(page, filtered)
    assert shown["figure:visitors"] != plain["figure:visitors"]
    assert filtered.unfiltered >= {"abandoned_carts", "products", "cohorts", "realtime"}
    assert page.locator("#filters .chip-label").all_inner_texts() == ["Source is google"]
    screenshot(page, "whole-page-filtered")

    # Picking another funnel keeps the filter and the comparison (and a filter link keeps the funnel).
    page.get_by_label("Funnel", exact=True).select_option("shop")
    page.get_by_role("button", name="Open funnel").click()
    page.wait_for_url(showing(tracker, compare="previous", funnel="shop", filter=(FILTER,)))
    page.locator("#pages-top a.filter-link").first.click()
    page.wait_for_url(showing(tracker, compare="previous", funnel="shop", filter=(FILTER, "path==/")))
    check_view(page, Api(tracker, token, "previous", (FILTER, "path==/")), "shop")

    # The keyboard: every link, button and field in order, each with a visible focus, no trap.
    page.goto(page_url(tracker, compare="previous", filter=(FILTER,)))
    stops = walk_with_tab(page)
    texts = [s["text"] for s in stops]
    for stop in ("Sign out", "Show", "Remove the filter: Source is google", "Open funnel", "Edit this funnel", "google",
                 "Download all as CSV", "Create a shared link"):
        assert stop in texts, (stop, texts)

    # A phone: every panel, compared and filtered, the table under the chart open; nothing wider than the screen.
    phone = opened(tab, 375)
    sign_in(phone, tracker, token)
    phone.goto(page_url(tracker, compare="previous", filter=(FILTER,)))
    phone.locator("#chart canvas").first.wait_for()
    phone.get_by_text("Numbers per day").click()
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 375
    outside = phone.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter((e) => !e.closest('.scroll') && e.getBoundingClientRect().right > 375.5).map((e) => e.outerHTML.slice(0, 80))""")
    assert outside == []
    assert phone.evaluate("window.cspViolations") == [] and phone.problems == []
    screenshot(phone, "whole-page-375px")
    phone.goto(page_url(tracker))
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 375
    screenshot(phone, "whole-page-375px-plain")

    # The funnel's edit form, reached from the page.
    page.get_by_role("link", name="Edit this funnel").click()
    page.wait_for_url("**/app/shop/funnels/shop/edit?**")
    assert page.get_by_label("Name").input_value() == "Shop funnel"
    walk_with_tab(page)
    assert page.evaluate("window.cspViolations") == [] and page.problems == []
    screenshot(page, "whole-page-funnel-form")

    # A shared link, opened read-only on another phone: the same figures, no control that changes anything.
    page.goto(page_url(tracker))
    page.get_by_label("Who it is for (optional)").fill("our agency")
    page.get_by_role("button", name="Create a shared link").click()
    link = page.locator("#shared-link").input_value()
    viewer = opened(tab, 375)
    viewer.goto(link)
    viewer.wait_for_url(f"{tracker.url}/app/shop")
    viewer.goto(page_url(tracker))
    assert viewer.locator("#read-only").is_visible()
    assert check_view(viewer, Api(tracker, token)) == plain
    edits = viewer.evaluate("""() => [...document.querySelectorAll('form, a[href]')]
        .map((e) => e.getAttribute('action') || e.getAttribute('href'))
        .filter((u) => /funnels|shared-links|\\.csv|revoke/.test(u))""")
    assert edits == [], edits
    forms = viewer.evaluate("() => [...document.forms].map((f) => f.getAttribute('aria-label') || f.className)")
    assert sorted(forms) == ["Date range", "Pick a funnel", "sign-out"], forms
    assert viewer.evaluate("document.scrollingElement.scrollWidth") <= 375
    walk_with_tab(viewer)
    assert viewer.evaluate("window.cspViolations") == [] and viewer.problems == []
    screenshot(viewer, "whole-page-shared-375px")
