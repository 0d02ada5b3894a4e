"""The owner's page with a comparison and filters, over HTTP without a browser: the changes it
shows are the query API's `compare` answers, the chart carries the compared series, a source
filters every panel that takes `filter` and shows as a removable chip (tests/compare_support.py).
tests/browser/test_app_compare.py does the same by clicking in Chromium."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.compare_support import DAYS, PREVIOUS_DAYS, TZ, YEAR_DAYS, seed
from tests.conftest import wait_for
from tracker.sites import Site, add_site
from tracker.tokens import create_token


class Elements(HTMLParser):
    """The text and attributes of every element that has attribute `attr` (nested ones too)."""

    def __init__(self, html: str, attr: str) -> None:
        super().__init__()
        self.attr, self.found, self.open = attr, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for entry in self.open:
            entry["depth"] += tag not in ("br", "input", "meta", "link", "img", "hr")  # void: no end tag
        if self.attr in attrs:
            self.open.append({"tag": tag, "attrs": attrs, "text": "", "depth": 1})

    def handle_endtag(self, tag):
        for entry in list(self.open):
            entry["depth"] -= 1
            if entry["depth"] == 0:
                self.open.remove(entry)
                entry["text"] = " ".join(entry["text"].split())
                self.found.append(entry)

    def handle_data(self, data):
        for entry in self.open:
            entry["text"] += data


def elements(html: str, attr: str, value: str | None = None) -> list[dict]:
    return [e for e in Elements(html, attr).found if value is None or e["attrs"][attr] == value]


def text_of(html: str, attr: str, value: str) -> str:
    found = elements(html, attr, value)
    assert len(found) == 1, (attr, value, found)
    return found[0]["text"]


def part(html: str, start: str, end: str) -> str:
    html = html[html.index(start):]
    return html[: html.index(end)]


def written(c: dict, kind: str = "count") -> str:
    """How the page writes an API change (independent of tracker/owner/compare.py)."""
    value, percent = c["change"], c["change_percent"]
    arrow, word = ("▲", "up") if value > 0 else ("▼", "down") if value < 0 else ("=", "no change")
    number = (f"{value:+,}" if value else "0") if kind == "count" else (f"{value:+,.2f}" if value else "0.00")
    number += " pp" if kind == "percent" else ""
    if percent is not None:
        number += f" ({percent:+,.2f} %)" if percent else " (0.00 %)"
    return f"{arrow} {word} {number}"


@pytest.fixture
def shop(client, ch):
    add_site(ch, Site("shop", "Shoe shop", (), TZ))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    seed(ch)
    token = create_token(ch, "shop")[1]
    assert client.post("/app/_sign-in", data={"token": token}, follow_redirects=False).status_code == 303

    def api(path: str, **params) -> dict:
        r = client.get(f"/api/v1/sites/shop/{path}", params=params, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()

    def page(status: int = 200, **params) -> str:
        r = client.get("/app/shop", params=params)
        assert r.status_code == status, r.text[:2000]
        return r.text

    return api, page


def test_the_totals_changes_are_the_apis(shop):
    api, page = shop
    whole = page(**DAYS, compare="previous")
    html = part(whole, '<section aria-labelledby="h-figures">', "</section>")
    stats = api("stats", **DAYS, compare="previous", interval="day")
    changes, before = stats["compare"]["changes"]["totals"], stats["compare"]["totals"]
    assert changes["visitors"] == {"change": 4, "change_percent": 50.0}
    assert text_of(html, "data-delta", "visitors") == f"{written(changes['visitors'])} was 8"
    assert text_of(html, "data-delta", "visitors") == "▲ up +4 (+50.00 %) was 8"
    for name in ("sessions", "orders"):
        assert text_of(html, "data-delta", name) == f"{written(changes[name])} was {before[name]}"
    assert text_of(html, "data-delta", "conversion_rate") == f"{written(changes['conversion_rate'], 'percent')} was 25.00 %"
    eur = changes["revenue"][0]
    assert text_of(html, "data-delta", "revenue_EUR") == f"{written(eur['revenue'], 'money')} was 24.00"
    assert text_of(html, "data-delta", "aov_EUR") == f"{written(eur['average_order_value'], 'money')} was 12.00"
    assert text_of(html, "data-compare", "from") == PREVIOUS_DAYS["from"] and text_of(html, "data-compare", "to") == PREVIOUS_DAYS["to"]
    assert '<option value="previous" selected>' in whole

    # The chart's compared series: the API's, lined up with the shown days.
    html = whole
    chart = json.loads(next(e for e in elements(html, "id", "chart-data"))["text"])
    assert chart["compare"]["name"] == "previous period"
    assert chart["compare"]["visitors"] == [p["visitors"] for p in stats["compare"]["series"]]
    assert chart["compare"]["revenue"]["EUR"] == [next((r["revenue"] for r in p["revenue"]), 0.0) for p in stats["compare"]["series"]]
    assert len(chart["compare"]["periods"]) == len(chart["periods"]) == 3
    # The table under the chart: each day next to the compared day.
    then = [e["text"] for e in elements(html, "class", "then")]
    assert then[:3] == [stats["compare"]["series"][0]["period"], str(stats["compare"]["series"][0]["visitors"]),
                        str(stats["compare"]["series"][0]["orders"])]

    plain = page(**DAYS)
    assert not elements(plain, "data-delta") and json.loads(elements(plain, "id", "chart-data")[0]["text"])["compare"] is None


def test_a_year_earlier_on_the_page(shop):
    api, page = shop
    html = page(**DAYS, compare="year")
    stats = api("stats", **DAYS, compare="year", interval="day")
    assert text_of(html, "data-compare", "from") == YEAR_DAYS["from"] and "52 weeks earlier" in html
    assert text_of(html, "data-delta", "visitors") == f"{written(stats['compare']['changes']['totals']['visitors'])} was 5"


def test_the_funnel_and_channel_changes_are_the_apis(shop):
    api, page = shop
    html = page(**DAYS, compare="previous")
    funnel = api("funnel", **DAYS, compare="previous")
    steps = elements(html, "data-compare-step")
    assert len(steps) == len(funnel["steps"])
    for change, before in zip(funnel["compare"]["changes"]["steps"], funnel["compare"]["steps"]):
        block = next(e for e in steps if e["attrs"]["data-compare-step"] == str(change["step"]))["text"]
        assert f"{written(change['count'])} was {before['count']}" in block
        if change["step"] > 1 and change["conversion_from_first"]["change"] is not None:
            assert written(change["conversion_from_first"], "percent") + " of all" in block
    overall = funnel["compare"]["changes"]["overall_conversion"]
    assert text_of(html, "data-delta", "overall_conversion").startswith(f"({written(overall, 'percent')}, was")

    channels = api("channels", **DAYS, compare="previous")
    table = part(html, '<table id="channels">', "</table>")
    sessions = [e["text"] for e in elements(table, "data-delta", "sessions")]
    expected = [written(c["sessions"]) for c in channels["compare"]["changes"]["channels"]]
    assert sessions == [*expected, written(channels["compare"]["changes"]["totals"]["sessions"])]
    orders = [e["text"] for e in elements(table, "data-delta", "orders")]
    assert orders[:-1] == [written(c["orders"]) for c in channels["compare"]["changes"]["channels"]]
    assert "▲ up +4" in sessions  # instagram: 4 visits, none before (no percentage)


def test_a_source_filters_the_page_and_its_chip_removes_it(shop):
    api, page = shop
    html = page(**DAYS, compare="previous")
    table = part(html, '<table id="channels">', "</table>")
    links = {e["text"]: e["attrs"]["href"] for e in elements(table, "class", "filter-link")}
    assert set(links) == {"google", "newsletter", "instagram"}
    url = urlsplit(links["google"])
    query = parse_qs(url.query)
    assert url.path == "/app/shop" and query == {"from": [DAYS["from"]], "to": [DAYS["to"]], "compare": ["previous"],
                                                 "filter": ["source==google"]}

    filtered = page(**{k: v[0] for k, v in query.items()})
    stats = api("stats", **DAYS, compare="previous", filter="source==google", interval="day")
    assert stats["totals"]["visitors"] == 4
    assert text_of(filtered, "data-figure", "visitors") == "4"
    assert text_of(part(filtered, '<section aria-labelledby="h-figures">', "</section>"), "data-delta", "visitors") == f"{written(stats['compare']['changes']['totals']['visitors'])} was 3"
    funnel = api("funnel", **DAYS, filter="source==google")
    assert text_of(filtered, "data-step", "awareness").split()[1] == str(funnel["steps"][0]["count"])
    channel_links = [e["text"] for e in elements(part(filtered, '<table id="channels">', "</table>"), "class", "filter-link")]
    assert channel_links == ["google"]  # the channels table is filtered too
    chip = elements(filtered, "data-filter", "source==google")[0]
    assert chip["text"].startswith("Source is google")
    remove = next(e for e in elements(filtered, "class", "chip-remove"))
    assert remove["attrs"]["aria-label"] == "Remove the filter: Source is google"
    back = parse_qs(urlsplit(remove["attrs"]["href"]).query)
    assert back == {"from": [DAYS["from"]], "to": [DAYS["to"]], "compare": ["previous"]}
    assert '<input type="hidden" name="filter" value="source==google">' in filtered  # the form keeps it
    assert "Not filtered: all carts of the range." in filtered and "Not filtered" not in html
    # A value with the filter syntax's own characters round-trips.
    odd = page(**DAYS, filter="source==a\\|b")
    assert elements(odd, "data-filter", "source==a\\|b")[0]["text"].startswith("Source is a|b")


def test_bad_comparisons_and_filters_are_shown_on_the_form(shop):
    _, page = shop
    html = page(400, **DAYS, compare="decade")
    assert 'id="compare-error"' in html and "Compare must be one of previous, year" in html
    html = page(400, **DAYS, filter="colour==red")
    assert 'id="filter-error"' in html and "cannot filter on" in html and "Remove all filters" in html
