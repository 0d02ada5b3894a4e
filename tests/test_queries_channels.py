"""Channels against the hand-computed shop history of tests/shop_visits.py: sessions and conversion
per entry value, orders and revenue per currency credited by first- or last-touch attribution
within the lookback, and totals equal to /stats."""

from __future__ import annotations

from tests.query_support import at, db, event, insert  # noqa: F401 - db is a fixture
from tests.shop_visits import END, START, seed
from tracker.queries.channels import ChannelQuery, run_channels
from tracker.queries.segments import parse_segment
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.timerange import TimeRange

DAY = 86400


def channels(db, **kw):
    return run_channels(db.runner, ChannelQuery("shop", TimeRange(START, END, "UTC"), **kw))


def table(result) -> dict:
    """value -> (sessions, orders, {currency: (orders, revenue, aov)}, conversion_rate)"""
    return {
        c["value"]: (c["sessions"], c["orders"], {r["currency"]: (r["orders"], r["revenue"], r["average_order_value"]) for r in c["revenue"]},
                     c["conversion_rate"])
        for c in result["channels"]
    }


def test_last_touch_credits_the_visit_of_the_purchase(db):
    seed(db.ch)
    result = channels(db, attribution="last")
    assert [c["value"] for c in result["channels"]] == ["direct", "google", "Facebook", "newsletter"]
    assert table(result) == {
        "direct": (2, 2, {"EUR": (1, 10.0, 10.0), "USD": (1, 30.0, 30.0)}, 100.0),
        "google": (2, 2, {"EUR": (1, 20.0, 20.0)}, 50.0),  # o5 has no currency: an order, no revenue line
        "Facebook": (1, 1, {"EUR": (1, 50.0, 50.0)}, 100.0),
        "newsletter": (1, 1, {"EUR": (1, 100.0, 100.0)}, 100.0),
    }
    assert result["channels_total"] == 4


def test_first_touch_looks_back_for_the_earliest_visit(db):
    seed(db.ch)
    result = channels(db, attribution="first")
    # o1 goes to v1's google visit 5 days earlier; o3 to v2's direct visit before it; o6 stays
    # direct, v5's bing visit is 40 days old.
    assert table(result) == {
        "direct": (2, 3, {"EUR": (2, 60.0, 30.0), "USD": (1, 30.0, 30.0)}, 100.0),
        "google": (2, 3, {"EUR": (2, 120.0, 60.0)}, 50.0),
        "Facebook": (1, 0, {}, 100.0),
        "newsletter": (1, 0, {}, 100.0),
    }
    longer = table(channels(db, attribution="first", lookback_s=90 * DAY))
    assert longer["bing"] == (0, 1, {"EUR": (1, 10.0, 10.0)}, None)  # no session in the range, one order
    assert longer["direct"][1] == 2


def test_other_dimensions_and_limit(db):
    seed(db.ch)
    by_medium = table(channels(db, by="medium"))
    assert {k: v[1] for k, v in by_medium.items()} == {"none": 2, "organic": 2, "social": 1, "email": 1}
    by_campaign = table(channels(db, by="campaign"))
    assert {k: v[:2] for k, v in by_campaign.items()} == {"": (5, 5), "spring": (1, 1)}
    by_device = table(channels(db, by="device", attribution="first"))
    assert {k: v[:2] for k, v in by_device.items()} == {"desktop": (4, 4), "mobile": (2, 2)}
    limited = channels(db, limit=1)
    assert [c["value"] for c in limited["channels"]] == ["direct"] and limited["channels_total"] == 4


def test_totals_equal_stats_with_and_without_a_filter(db):
    seed(db.ch)
    for filters in ([], ["device==mobile"], ["source!=direct"], ["path==/pricing"]):
        segment = parse_segment(filters)
        expected = run_stats(db.runner, StatsQuery("shop", TimeRange(START, END, "UTC"), "day", 1800, segment))["totals"]
        for attribution in ("first", "last"):
            totals = channels(db, attribution=attribution, segment=segment)["totals"]
            assert totals == {k: expected[k] for k in ("sessions", "orders", "revenue", "conversion_rate")}, filters
    totals = channels(db)["totals"]
    assert (totals["sessions"], totals["orders"], totals["conversion_rate"]) == (6, 6, 83.33)
    assert totals["revenue"] == [{"currency": "EUR", "orders": 4, "revenue": 180.0, "average_order_value": 45.0},
                                 {"currency": "USD", "orders": 1, "revenue": 30.0, "average_order_value": 30.0}]


def test_a_filter_restricts_channels_to_the_selected_sessions(db):
    seed(db.ch)
    result = table(channels(db, segment=parse_segment(["device==mobile"]), attribution="first"))
    assert result == {"google": (2, 2, {"EUR": (1, 20.0, 20.0)}, 50.0)}
    # v1's first touch among sessions that are not direct: still the google visit 5 days earlier
    result = table(channels(db, segment=parse_segment(["source!=direct"]), attribution="first"))
    assert {k: v[1] for k, v in result.items()} == {"google": 3, "Facebook": 1, "newsletter": 0}


def test_a_purchase_that_opens_a_visit_is_credited_to_that_visit(db):
    # One visitor: a google visit, then two hours later a purchase arriving from the newsletter as the
    # first event of a new visit (same second as that visit's start).
    insert(db.ch, [
        event("page_view", at(0), 9, source="google", medium="organic"),
        event("purchase", at(2 * 3600), 9, source="newsletter", medium="email", transaction_id="t9", value=5, currency="EUR"),
    ])
    last = channels(db, attribution="last")
    assert [(c["value"], c["sessions"], c["orders"], c["conversion_rate"]) for c in last["channels"]] == [
        ("newsletter", 1, 1, 100.0), ("google", 1, 0, 0.0)]
    first = channels(db, attribution="first", lookback_s=3600)  # the google visit is 2 h back: out of reach
    assert [(c["value"], c["orders"]) for c in first["channels"]] == [("newsletter", 1), ("google", 0)]
    first = channels(db, attribution="first", lookback_s=2 * 3600)  # exactly the lookback: in reach
    assert [(c["value"], c["orders"]) for c in first["channels"]] == [("google", 1), ("newsletter", 0)]


def test_a_source_named_total_is_a_channel_like_any_other(db):
    # The totals are kept apart from the channels by grouping, not by a name a channel could have.
    insert(db.ch, [event("page_view", at(60), 1, source="total"),
                   event("purchase", at(120), 1, source="total", transaction_id="T1", value=5, currency="EUR"),
                   event("page_view", at(600), 2, source="google")])
    result = channels(db, attribution="last")
    assert table(result) == {"total": (1, 1, {"EUR": (1, 5.0, 5.0)}, 100.0), "google": (1, 0, {}, 0.0)}
    assert (result["totals"]["sessions"], result["totals"]["orders"]) == (2, 1)
