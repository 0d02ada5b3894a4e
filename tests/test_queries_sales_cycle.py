"""Sales-cycle time against the hand-computed shop history of tests/shop_visits.py.

Cycles from the first visit (seconds): o1 432060 (v1's google visit 5 days before), o2 120,
o3 600 (v2's second visit, after o2), o4 200, o5 300 (same visit as o4: from its start),
o6 3600 (v5's bing visit is older than the 30-day lookback).
Sorted 120 200 300 600 3600 432060: median = (300+600)/2 = 450; p90 at rank 4.5 = 3600 + 0.5 *
(432060 - 3600) = 217830. From the first view_item: o2 90, o4 100, the other four have none.
"""

from __future__ import annotations

from tests.query_support import db  # noqa: F401 - a fixture
from tests.shop_visits import END, START, seed
from tracker.queries.channels import ChannelQuery
from tracker.queries.sales_cycle import BUCKETS, SalesCycleQuery, run_sales_cycle
from tracker.queries.segments import parse_segment
from tracker.queries.timerange import TimeRange


def cycle(db, from_event="visit", **kw):
    return run_sales_cycle(db.runner, SalesCycleQuery(ChannelQuery("shop", TimeRange(START, END, "UTC"), **kw), from_event))


def counts(figures) -> dict:
    return {b["bucket"]: b["orders"] for b in figures["histogram"] if b["orders"]}


def test_from_the_first_visit(db):
    seed(db.ch)
    totals = cycle(db)["totals"]
    assert (totals["orders"], totals["orders_without_start"]) == (6, 0)
    assert (totals["median_time_s"], totals["p90_time_s"]) == (450.0, 217830.0)
    assert counts(totals) == {"0-10m": 3, "10m-1h": 1, "1h-1d": 1, "3d-7d": 1}
    assert [b["bucket"] for b in totals["histogram"]] == [label for label, _ in BUCKETS]
    assert totals["histogram"][1] == {"bucket": "10m-1h", "from_s": 600, "to_s": 3600, "orders": 1}


def test_per_channel_follows_the_attribution(db):
    seed(db.ch)
    last = {c["value"]: (c["orders"], c["median_time_s"], c["p90_time_s"]) for c in cycle(db)["channels"]}
    assert last == {
        "direct": (2, 1860.0, 3252.0),  # 120 and 3600
        "google": (2, 250.0, 290.0),  # 200 and 300
        "Facebook": (1, 600.0, 600.0),
        "newsletter": (1, 432060.0, 432060.0),
    }
    first = {c["value"]: c["orders"] for c in cycle(db, attribution="first")["channels"]}
    assert first == {"direct": 3, "google": 3}


def test_from_the_first_view_item(db):
    seed(db.ch)
    totals = cycle(db, "view_item")["totals"]
    assert (totals["orders"], totals["orders_without_start"]) == (2, 4)
    assert (totals["median_time_s"], totals["p90_time_s"]) == (95.0, 99.0)
    assert counts(totals) == {"0-10m": 2}


def test_a_longer_lookback_reaches_older_visits_and_filters_apply(db):
    seed(db.ch)
    longer = cycle(db, lookback_s=90 * 86400)
    assert counts(longer["totals"])["30d+"] == 1  # o6 now counts from v5's bing visit 40 days before
    mobile = cycle(db, segment=parse_segment(["device==mobile"]))["totals"]
    assert (mobile["orders"], mobile["median_time_s"]) == (2, 250.0)
    empty = cycle(db, segment=parse_segment(["source==nowhere"]))
    assert empty["totals"]["orders"] == 0 and empty["totals"]["median_time_s"] is None and empty["channels"] == []
