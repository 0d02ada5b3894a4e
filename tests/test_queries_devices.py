"""Devices, browsers and OS against the hand-made shop history of tests/shop_visits.py: visitors,
visits, conversion, orders and revenue per value, worked out by hand from its comments."""

from __future__ import annotations

from tests import shop_visits
from tests.query_support import at, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.devices import DeviceQuery, run_devices
from tracker.queries.segments import parse_segment
from tracker.queries.timerange import TimeRange

RANGE = TimeRange(shop_visits.START, shop_visits.END, "UTC")

# In the range: v1, v2 (two visits), v5 on desktop / Linux / Firefox; v3, v4 on mobile / Android /
# Chrome. Orders: o1 100 EUR, o2 30 USD, o3 50 EUR, o6 10 EUR in desktop visits; o4 20 EUR (sent
# twice, one order) and o5 (no currency) in v4's mobile visit.
DESKTOP = {"visitors": 3, "sessions": 4, "orders": 4, "conversion_rate": 100.0, "revenue": [
    {"currency": "EUR", "orders": 3, "revenue": 160.0, "average_order_value": 53.3333},
    {"currency": "USD", "orders": 1, "revenue": 30.0, "average_order_value": 30.0},
]}
MOBILE = {"visitors": 2, "sessions": 2, "orders": 2, "conversion_rate": 50.0, "revenue": [
    {"currency": "EUR", "orders": 1, "revenue": 20.0, "average_order_value": 20.0},
]}
TOTALS = {"visitors": 5, "sessions": 6, "orders": 6, "conversion_rate": 83.33, "revenue": [
    {"currency": "EUR", "orders": 4, "revenue": 180.0, "average_order_value": 45.0},
    {"currency": "USD", "orders": 1, "revenue": 30.0, "average_order_value": 30.0},
]}


def devices(db, **kw) -> dict:
    return run_devices(db.runner, DeviceQuery("shop", RANGE, **kw))


def test_per_device_browser_and_os(db):
    shop_visits.seed(db.ch)
    for by, desktop, mobile in (("device", "desktop", "mobile"), ("browser", "Firefox", "Chrome"), ("os", "Linux", "Android")):
        result = devices(db, by=by)
        assert result["by"] == by and result["values_total"] == 2
        assert result["values"] == [{"value": desktop, **DESKTOP}, {"value": mobile, **MOBILE}], by
        assert result["totals"] == TOTALS


def test_limit_and_segment(db):
    shop_visits.seed(db.ch)
    result = devices(db, limit=1)
    assert [v["value"] for v in result["values"]] == ["desktop"] and result["values_total"] == 2 and result["totals"] == TOTALS
    # Only visits from google: v3's and v4's, both on phones.
    result = devices(db, segment=parse_segment(["source==google"]))
    assert result["values"] == [{"value": "mobile", **MOBILE}] and result["totals"] == {**MOBILE, "conversion_rate": 50.0}


def test_a_visitor_on_two_devices_counts_under_both_and_once_in_all(db):
    shop_visits.seed(db.ch)
    insert(db.ch, [event("page_view", at(10 * 3600), 1, device="tablet", os="iOS", browser="Safari")])
    result = devices(db)
    assert [(v["value"], v["visitors"], v["sessions"]) for v in result["values"]] == [("desktop", 3, 4), ("mobile", 2, 2), ("tablet", 1, 1)]
    assert (result["totals"]["visitors"], result["totals"]["sessions"]) == (5, 7)
