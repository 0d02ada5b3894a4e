"""Segments (`filter`): the parser's syntax and errors, and /stats and the funnel restricted to the
selected sessions of the hand-computed shop history in tests/shop_visits.py."""

from __future__ import annotations

import pytest

from tests.query_support import db  # noqa: F401 - a fixture
from tests.shop_visits import END, START, seed
from tracker.queries.errors import ParamError
from tracker.queries.funnels import FunnelSpec, run_funnel
from tracker.queries.segments import SegmentFilter, describe, parse_segment
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.steps import parse_steps, shop_funnel
from tracker.queries.timerange import TimeRange

RANGE = TimeRange(START, END, "UTC")


def test_syntax():
    assert parse_segment(["source==google", "device!=mobile", "props.plan==gold|silver", r"path==/a\|b"]) == (
        SegmentFilter("source", False, ("google",)),
        SegmentFilter("device", True, ("mobile",)),
        SegmentFilter("props.plan", False, ("gold", "silver")),
        SegmentFilter("path", False, ("/a|b",)),
    )
    assert parse_segment(["campaign=="]) == (SegmentFilter("campaign", False, ("",)),)  # sessions without a campaign
    assert parse_segment(["path==a!=b"]) == (SegmentFilter("path", False, ("a!=b",)),)  # the first operator splits
    assert describe(parse_segment([r"path==/a\|b|/c"])) == [r"path==/a\|b|/c"]


@pytest.mark.parametrize("text, reason", [
    ("source=google", "needs an operator"),
    ("colour==red", "cannot filter on 'colour'"),
    ("props.==x", "cannot filter on 'props.'"),
    ("props.a'b==x", "cannot filter on"),
    ("path==" + "x" * 513, "longer than 512"),
])
def test_errors_name_the_filter_and_the_reason(text, reason):
    with pytest.raises(ParamError) as raised:
        parse_segment([text])
    assert raised.value.field == "filter" and reason in raised.value.reason and text[:20] in raised.value.reason


def test_at_most_ten_filters():
    with pytest.raises(ParamError, match="at most 10"):
        parse_segment(["device==mobile"] * 11)


def stats(db, *filters):
    totals = run_stats(db.runner, StatsQuery("shop", RANGE, "day", 1800, parse_segment(list(filters))))["totals"]
    return totals["visitors"], totals["sessions"], totals["page_views"], totals["orders"], totals["conversion_rate"]


def test_stats_count_only_the_selected_sessions(db):
    seed(db.ch)
    assert stats(db) == (5, 6, 9, 6, 83.33)
    assert stats(db, "device==mobile") == (2, 2, 2, 2, 50.0)  # v3 and v4
    assert stats(db, "source==google") == (2, 2, 2, 2, 50.0)  # entry source: v1's google visit is outside the range
    assert stats(db, "source==Facebook") == (1, 1, 2, 1, 100.0)  # only v2's second visit, not its first
    assert stats(db, "source!=direct") == (4, 4, 5, 4, 100 * 3 / 4)
    assert stats(db, "path==/pricing") == (1, 1, 2, 1, 100.0)  # any event of the visit: the second page view
    assert stats(db, "path!=/pricing") == (5, 5, 7, 5, 80.0)
    assert stats(db, "props.plan==gold") == (1, 1, 1, 1, 100.0)  # the property is on v1's purchase
    assert stats(db, "source==google|newsletter", "device!=mobile") == (1, 1, 1, 1, 100.0)
    assert stats(db, "source==nowhere") == (0, 0, 0, 0, None)
    revenue = run_stats(db.runner, StatsQuery("shop", RANGE, "day", 1800, parse_segment(["device==desktop"])))["totals"]["revenue"]
    assert revenue == [{"currency": "EUR", "orders": 3, "revenue": 160.0, "average_order_value": 53.3333},
                       {"currency": "USD", "orders": 1, "revenue": 30.0, "average_order_value": 30.0}]


def test_filter_values_and_property_names_are_bound(db):
    seed(db.ch)
    assert stats(db, "source==x' OR 1=1 --") == (0, 0, 0, 0, None)
    assert stats(db, "props.plan!=') OR (1") == stats(db)


def funnel(db, unit, *filters):
    spec = FunnelSpec("shop", RANGE, tuple(shop_funnel()), 86400, unit=unit, segment=parse_segment(list(filters)))
    return [s["count"] for s in run_funnel(db.runner, spec)["steps"]]


def test_funnel_reads_only_the_selected_sessions(db):
    seed(db.ch)
    # awareness, interest, consideration, intent, purchase, repurchase
    assert funnel(db, "visitor") == [5, 2, 0, 0, 0, 0]  # no add_to_cart in the history
    assert funnel(db, "session", "device==mobile") == [2, 1, 0, 0, 0, 0]
    assert funnel(db, "visitor", "source==direct") == [2, 1, 0, 0, 0, 0]  # v2's first visit, v5
    spec = FunnelSpec("shop", RANGE, tuple(parse_steps(["*", "purchase", "purchase"])[0]), 86400,
                      segment=parse_segment(["source==Facebook"]))
    # purchase, repurchase: v2 bought twice, but only o3 is in its Facebook visit
    assert [s["count"] for s in run_funnel(db.runner, spec)["steps"]] == [1, 1, 0]
