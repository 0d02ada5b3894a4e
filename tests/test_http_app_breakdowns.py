"""The breakdown panels of /app/{site} over HTTP (tracker/owner/breakdowns.py and the partials
_pages.html, _devices.html, _products.html, _cohorts.html, _sales_cycle.html): every figure in
their tables is the query API's answer for the same range, formatted as the page formats numbers,
and each clickable value links to the page filtered by it. tests/browser/test_app_breakdowns.py
checks them in Chromium at 375 px."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from tests.breakdown_shop import DAYS, seed
from tests.query_support import at, event, insert
from tests.test_http_app_pages import shop, sign_in  # noqa: F401 - shop is a fixture
from tracker.owner import breakdowns
from tracker.owner.format import count, money, percent, span


class Tables(HTMLParser):
    """Every table of a page by id: its body rows as lists of cell texts, and the links in them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[str]] = {}
        self.figures: dict[str, str] = {}
        self._table = self._cell = self._figure = None
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table], self.links[self._table] = [], []
        elif self._table and tag == "tbody":
            self._in_body = True
        elif self._table and self._in_body and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and self._in_body and tag in ("td", "th"):
            self._cell = []
        elif self._cell is not None and tag == "br":
            self._cell.append(" / ")
        elif self._cell is not None and tag == "a":
            self.links[self._table].append(attrs["href"])
        if "data-figure" in attrs:
            self._figure = attrs["data-figure"]
            self.figures[self._figure] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table, self._in_body = None, False
        elif tag in ("td", "th") and self._cell is not None:
            # ASCII white space only: a no-break space belongs to the figure (format.span).
            self.tables[self._table][-1].append(re.sub(r"[ \t\r\n]+", " ", "".join(self._cell)).strip(" "))
            self._cell = None
        elif tag == "strong":
            self._figure = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._figure:
            self.figures[self._figure] += data.strip()


def amounts(lines: list[dict], key: str) -> str:
    return " / ".join(f"{money(r[key])} {r['currency']}" for r in lines) or "–"


def api(client, token: str, name: str, **params) -> dict:
    r = client.get(f"/api/v1/sites/shop/{name}", params={**DAYS, **params}, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def page_tables(shop, ch) -> tuple[Tables, object, str]:
    client, token = shop
    seed(ch)
    sign_in(client, token)
    r = client.get("/app/shop", params=DAYS)
    assert r.status_code == 200, r.text
    return Tables(r.text), client, token


def filter_of(href: str) -> tuple[str, dict]:
    parts = urlsplit(href)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


def test_pages_panel(shop, ch):
    tables, client, token = page_tables(shop, ch)
    limit = str(breakdowns.SHOWN)
    top, entry, exit_ = (api(client, token, "pages", kind=k, limit=limit) for k in ("top", "entry", "exit"))
    assert [p["path"] for p in top["pages"]] == ["/", "/shoes"]  # product views are not page views
    assert tables.tables["pages-top"] == [[p["path"], count(p["visitors"]), count(p["views"])] for p in top["pages"]]
    assert tables.tables["pages-entry"] == [[p["path"], count(p["entries"]), percent(p["entry_conversion_rate"])] for p in entry["pages"]]
    assert tables.tables["pages-exit"] == [[p["path"], count(p["exits"]), count(p["views"])] for p in exit_["pages"]]
    assert [p["path"] for p in exit_["pages"]][:1] == ["/shoes"] and "/thanks" in [p["path"] for p in exit_["pages"]]
    # Each path links to this page filtered by it (the API's filter syntax), keeping the range.
    assert [filter_of(h) for h in tables.links["pages-top"]] == [
        ("/app/shop", {**DAYS, "filter": f"path=={p['path']}"}) for p in top["pages"]]


def test_devices_panel(shop, ch):
    tables, client, token = page_tables(shop, ch)
    for by, values in (("device", ["desktop", "mobile"]), ("browser", ["Firefox", "Chrome"]), ("os", ["Linux", "Android"])):
        result = api(client, token, "devices", by=by, limit=str(breakdowns.SHOWN))
        assert [v["value"] for v in result["values"]] == values
        assert tables.tables[f"devices-{by}"] == [
            [v["value"], count(v["visitors"]), percent(v["conversion_rate"]), count(v["orders"]), amounts(v["revenue"], "revenue")]
            for v in result["values"]]
        assert [filter_of(h)[1]["filter"] for h in tables.links[f"devices-{by}"]] == [f"{by}=={v}" for v in values]


def test_products_panel(shop, ch):
    tables, client, token = page_tables(shop, ch)
    products = api(client, token, "products", limit=str(breakdowns.SHOWN))
    assert [(i["item_id"], i["units"]) for i in products["items"]] == [("red", 2), ("blue", 0)]
    assert tables.tables["products"] == [
        [i["item_name"], count(i["views"]), count(i["adds"]), count(i["orders"]), count(i["units"]), amounts(i["revenue"], "revenue"),
         percent(i["view_to_purchase"])] for i in products["items"]]
    left = api(client, token, "products/abandoned", limit=str(breakdowns.SHOWN))
    assert [(i["item_id"], i["carts"], i["units"]) for i in left["items"]] == [("blue", 2, 4), ("red", 1, 1)]
    assert tables.tables["products-abandoned"] == [
        [i["item_name"], count(i["carts"]), count(i["units"]), amounts(i["value"], "value")] for i in left["items"]]


def test_cohorts_panel(shop, ch):
    tables, client, token = page_tables(shop, ch)
    result = api(client, token, "cohorts", **{"from": None})  # the page asks with `to` only: twelve monthly cohorts
    assert [c["customers"] for c in result["cohorts"]] == [1, 1]  # c-4 first bought 40 days earlier, c-12 in the range
    width = max(len(c["periods"]) for c in result["cohorts"])
    expected = []
    for c in result["cohorts"]:
        last = c["periods"][-1]
        retention = [percent(p["retention"]) for p in c["periods"]] + [""] * (width - len(c["periods"]))
        expected.append([c["cohort"], count(c["customers"]), percent(last["repeat_rate"]), amounts(last["ltv"], "per_customer"), *retention])
    assert tables.tables["cohorts"] == expected
    assert expected[0][2] == "100.00 %"  # c-4 bought twice: the first cohort's repeat rate


def test_sales_cycle_panel(shop, ch):
    tables, client, token = page_tables(shop, ch)
    result = api(client, token, "sales-cycle", limit=str(breakdowns.SHOWN))
    totals = result["totals"]
    assert totals["orders"] == 2  # T-4 and T-12 (v = 8 left its cart)
    assert (tables.figures["cycle_median"], tables.figures["cycle_p90"], tables.figures["cycle_orders"]) == (
        span(totals["median_time_s"]), span(totals["p90_time_s"]), count(totals["orders"]))
    assert [row[:2] for row in tables.tables["cycle-histogram"]] == [[b["bucket"], count(b["orders"])] for b in totals["histogram"]]
    assert tables.tables["cycle-channels"] == [
        [c["value"], count(c["orders"]), span(c["median_time_s"]), span(c["p90_time_s"])] for c in result["channels"]]
    assert [filter_of(h)[1]["filter"] for h in tables.links["cycle-channels"]] == [f"source=={c['value']}" for c in result["channels"]]


def test_values_with_filter_syntax_characters_are_escaped(shop, ch):
    client, token = shop
    insert(ch, [event("page_view", at(0), 1, site="shop", path="/a|b\\c")])
    sign_in(client, token)
    tables = Tables(client.get("/app/shop", params=DAYS).text)
    assert tables.tables["pages-top"][0][0] == "/a|b\\c"
    value = filter_of(tables.links["pages-top"][0])[1]["filter"]
    assert value == "path==/a\\|b\\\\c"
    body = api(client, token, "pages", filter=value)  # the API reads it back as the one path
    assert [p["path"] for p in body["pages"]] == ["/a|b\\c"]
