"""Funnel rules against hand-computed fixtures: order modes, the window edge, repeated steps,
visitor vs session units, time to convert, breakdowns and trends."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.query_support import T0, at, day_range, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries import funnels
from tracker.queries.funnels import FunnelSpec, run_funnel, run_trends
from tracker.queries.steps import parse_steps, shop_funnel


def spec(steps, window="1h", order="ordered", unit="visitor", breakdown=None, interval=None, tz="UTC", gap_s=1800):
    from tracker.queries.durations import parse_duration

    parsed = tuple(shop_funnel()) if steps is None else tuple(parse_steps(steps)[0])
    return FunnelSpec("shop", day_range(tz=tz), parsed, parse_duration(window), order, unit, gap_s, breakdown, interval)


def counts(db, s) -> list[int]:
    return [step["count"] for step in run_funnel(db.runner, s)["steps"]]


def test_steps_must_happen_in_order(db):
    insert(db.ch, [
        # visitor 1: A, B, C in order
        event("view_item", at(0), 1), event("add_to_cart", at(10), 1), event("purchase", at(20), 1),
        # visitor 2: C, B, A (reverse): only step 1
        event("purchase", at(0), 2), event("add_to_cart", at(10), 2), event("view_item", at(20), 2),
        # visitor 3: A, C, B: A then B (C before B does not count for step 3)
        event("view_item", at(0), 3), event("purchase", at(10), 3), event("add_to_cart", at(20), 3),
        # visitor 4: never does step 1
        event("add_to_cart", at(0), 4), event("purchase", at(10), 4),
    ])
    result = run_funnel(db.runner, spec(["view_item", "add_to_cart", "purchase"]))
    assert [s["count"] for s in result["steps"]] == [3, 2, 1]
    assert [s["dropped"] for s in result["steps"]] == [0, 1, 1]
    assert [s["conversion_from_previous"] for s in result["steps"]] == [100.0, 66.67, 50.0]
    assert [s["conversion_from_first"] for s in result["steps"]] == [100.0, 66.67, 33.33]
    assert result["overall_conversion"] == 33.33


def test_window_edge_is_included(db):
    insert(db.ch, [
        event("view_item", at(0), 1), event("purchase", at(3600), 1),  # exactly one hour later: in
        event("view_item", at(0), 2), event("purchase", at(3601), 2),  # one second more: out
    ])
    assert counts(db, spec(["view_item", "purchase"], window="1h")) == [2, 1]
    assert counts(db, spec(["view_item", "purchase"], window="3601s")) == [2, 2]


def test_window_counts_from_the_first_step_and_a_later_start_can_still_convert(db):
    insert(db.ch, [
        # A at 0, B at 50 (within 60 s of A), C at 100 (not within 60 s of A): 2 steps ...
        event("view_item", at(0), 1), event("add_to_cart", at(50), 1), event("purchase", at(100), 1),
        # ... but a second A at 60 starts a new attempt: A 60, B 90, C 110 fits in 60 s.
        event("view_item", at(0), 2), event("view_item", at(60), 2), event("add_to_cart", at(90), 2), event("purchase", at(110), 2),
    ])
    assert counts(db, spec(["view_item", "add_to_cart", "purchase"], window="60s")) == [2, 2, 1]


def test_strict_order_stops_at_an_event_outside_the_funnel(db):
    insert(db.ch, [
        # 1: A B C with nothing between: all three in strict and ordered
        event("view_item", at(0), 1), event("add_to_cart", at(10), 1), event("purchase", at(20), 1),
        # 2: A, page_view, B, C: strict stops at the page_view (after step 1)
        event("view_item", at(0), 2), event("page_view", at(5), 2), event("add_to_cart", at(10), 2), event("purchase", at(20), 2),
        # 3: page_view before step 1 does not matter
        event("page_view", at(0), 3), event("view_item", at(5), 3), event("add_to_cart", at(10), 3), event("purchase", at(20), 3),
        # 4: A, B, page_view, C: strict reaches step 2
        event("view_item", at(0), 4), event("add_to_cart", at(10), 4), event("page_view", at(15), 4), event("purchase", at(20), 4),
        # 5: A, C, B: strict stops at C (step 3 before step 2), ordered reaches 2
        event("view_item", at(0), 5), event("purchase", at(10), 5), event("add_to_cart", at(20), 5),
    ])
    steps = ["view_item", "add_to_cart", "purchase"]
    assert counts(db, spec(steps, order="strict")) == [5, 3, 2]
    assert counts(db, spec(steps, order="ordered")) == [5, 5, 4]


def test_any_order_needs_all_steps_within_one_window(db):
    insert(db.ch, [
        event("purchase", at(0), 1), event("add_to_cart", at(10), 1), event("view_item", at(20), 1),  # reversed: all 3
        event("add_to_cart", at(0), 2), event("view_item", at(10), 2),  # B, A: 2 (no C)
        event("view_item", at(0), 3), event("purchase", at(5), 3), event("add_to_cart", at(100), 3),  # B too late: 1
        event("purchase", at(0), 4), event("add_to_cart", at(10), 4),  # no A: not in the funnel
    ])
    steps = ["view_item", "add_to_cart", "purchase"]
    assert counts(db, spec(steps, order="any", window="60s")) == [3, 2, 1]
    assert counts(db, spec(steps, order="ordered", window="60s")) == [3, 0, 0]


def test_repeated_events_count_once_and_a_repeated_step_needs_another_event(db):
    insert(db.ch, [
        # three views and two carts count as one visitor per step
        event("view_item", at(0), 1), event("view_item", at(5), 1), event("view_item", at(7), 1),
        event("add_to_cart", at(10), 1), event("add_to_cart", at(11), 1),
        # one purchase: purchase step yes, repurchase no; two purchases: both
        event("purchase", at(20), 1),
        event("purchase", at(0), 2), event("purchase", at(30), 2),
    ])
    assert counts(db, spec(["view_item", "add_to_cart"])) == [1, 1]
    assert counts(db, spec(["purchase", "purchase"])) == [2, 1]
    assert counts(db, spec(["*", "purchase", "purchase"])) == [2, 2, 1]


def test_shop_funnel_stages_and_labels(db):
    insert(db.ch, [
        event("page_view", at(0), 1),  # awareness only
        event("page_view", at(0), 2), event("view_item", at(5), 2),  # interest
        event("view_item", at(0), 3), event("add_to_cart", at(5), 3), event("begin_checkout", at(9), 3),  # intent
        event("page_view", at(0), 4), event("view_item", at(1), 4), event("add_to_cart", at(2), 4),
        event("begin_checkout", at(3), 4), event("purchase", at(4), 4), event("purchase", at(600), 4),  # repurchase
    ])
    result = run_funnel(db.runner, spec(None, window="1d"))
    assert [(s["label"], s["count"]) for s in result["steps"]] == [
        ("awareness", 4), ("interest", 3), ("consideration", 2), ("intent", 2), ("purchase", 1), ("repurchase", 1),
    ]


def test_shop_funnel_stages_take_any_of_their_events(db):
    insert(db.ch, [
        # a checkout that never sends begin_checkout: intent from add_shipping_info, then purchase
        event("page_view", at(0), 1), event("view_item", at(5), 1), event("add_to_cart", at(9), 1),
        event("add_shipping_info", at(20), 1), event("add_payment_info", at(30), 1), event("purchase", at(40), 1),
        # payment info alone is intent too
        event("view_item", at(0), 2), event("add_to_cart", at(5), 2), event("add_payment_info", at(9), 2),
        # a click in a product list is interest without a view_item
        event("page_view", at(0), 3), event("select_item", at(3), 3), event("add_to_cart", at(5), 3),
        # viewing a list is browsing (awareness), and viewing the cart is not consideration
        event("view_item_list", at(0), 4), event("view_cart", at(5), 4), event("add_shipping_info", at(9), 4),
    ])
    result = run_funnel(db.runner, spec(None, window="1d"))
    assert [(s["label"], s["count"]) for s in result["steps"]] == [
        ("awareness", 4), ("interest", 3), ("consideration", 3), ("intent", 2), ("purchase", 1), ("repurchase", 0),
    ]
    # begin_checkout never came: the intent stage says so; every other stage had an event of each name
    assert [(s["label"], s["missing_events"]) for s in result["steps"]] == [
        ("awareness", []), ("interest", []), ("consideration", []), ("intent", ["begin_checkout"]), ("purchase", []),
        ("repurchase", []),
    ]


def test_missing_events_count_only_the_range(db):
    insert(db.ch, [
        event("view_item", at(0), 1), event("add_to_cart", at(60), 1),
        event("purchase", at(-3 * 86400), 1),  # before the range: the site sent purchases, not in this range
    ])
    result = run_funnel(db.runner, spec(["view_item|select_item", "add_to_cart", "purchase;currency=EUR"]))
    assert [s["missing_events"] for s in result["steps"]] == [["select_item"], [], ["purchase"]]
    by_source = run_funnel(db.runner, spec(["view_item|select_item", "add_to_cart", "purchase"], breakdown="source"))
    assert [[s["missing_events"] for s in g["steps"]] for g in by_source["breakdown"]["groups"]] == [[["select_item"], [], ["purchase"]]]


def test_session_unit_splits_a_visitor_at_the_inactivity_gap(db):
    insert(db.ch, [
        # visitor 1, session 1: view then cart; 31 minutes later session 2: view only
        event("view_item", at(0), 1), event("add_to_cart", at(60), 1),
        event("view_item", at(60 + 31 * 60), 1),
        # visitor 2: view, 31 min pause, cart: converts as a visitor, not within a session
        event("view_item", at(0), 2), event("add_to_cart", at(31 * 60), 2),
        # visitor 3: a 30-minute pause (not more than the gap) keeps one session
        event("view_item", at(0), 3), event("add_to_cart", at(30 * 60), 3),
    ])
    steps = ["view_item", "add_to_cart"]
    assert counts(db, spec(steps, window="1d", unit="visitor")) == [3, 3]
    assert counts(db, spec(steps, window="1d", unit="session")) == [4, 2]


def test_time_to_convert_median_and_p90(db):
    # Step 1 -> 2 takes 10, 20, 30, 40 and 100 s for five visitors; a sixth never converts.
    rows = []
    for visitor, delay in enumerate([10, 20, 30, 40, 100], start=1):
        rows += [event("view_item", at(0), visitor), event("add_to_cart", at(delay), visitor)]
    rows.append(event("view_item", at(0), 6))
    # A repeated view before converting: the time runs from the first time step 1 was reached.
    rows += [event("view_item", at(0), 7), event("view_item", at(50), 7), event("add_to_cart", at(60), 7)]
    insert(db.ch, rows)
    step = run_funnel(db.runner, spec(["view_item", "add_to_cart"]))["steps"][1]
    # delays 10 20 30 40 60 100: median (30+40)/2, p90 by linear interpolation 60 + 0.5 * 40
    assert (step["count"], step["median_time_s"], step["p90_time_s"]) == (6, 35.0, 80.0)


def test_breakdown_by_entry_source(db):
    insert(db.ch, [
        event("page_view", at(0), 1, source="google"), event("view_item", at(5), 1, source="direct"),
        event("page_view", at(0), 2, source="google"),
        event("page_view", at(0), 3, source="newsletter"), event("view_item", at(5), 3),
        # visitor 4: second session from facebook; as a visitor it stays google (first event)
        event("page_view", at(0), 4, source="google"), event("page_view", at(3600), 4, source="facebook"),
        event("view_item", at(3605), 4),
    ])
    result = run_funnel(db.runner, spec(["page_view", "view_item"], window="1d", breakdown="source"))
    assert [s["count"] for s in result["steps"]] == [4, 3]
    groups = {g["value"]: [s["count"] for s in g["steps"]] for g in result["breakdown"]["groups"]}
    assert groups == {"google": [3, 2], "newsletter": [1, 1]}
    by_session = run_funnel(db.runner, spec(["page_view", "view_item"], window="1d", unit="session", breakdown="source"))
    groups = {g["value"]: [s["count"] for s in g["steps"]] for g in by_session["breakdown"]["groups"]}
    assert groups == {"google": [3, 1], "newsletter": [1, 1], "facebook": [1, 1]}


def test_property_filters_and_any_of_steps(db):
    insert(db.ch, [
        event("page_view", at(0), 1, props={"page": "/pricing"}), event("view_cart", at(10), 1),
        event("page_view", at(0), 2, props={"page": "/about"}), event("add_to_cart", at(10), 2),
        event("page_view", at(0), 3, path="/pricing"), event("add_to_cart", at(10), 3),
    ])
    assert counts(db, spec(["page_view;props.page=/pricing", "add_to_cart|view_cart"])) == [1, 1]
    assert counts(db, spec(["page_view;path=/pricing", "add_to_cart|view_cart"])) == [1, 1]
    assert counts(db, spec(["page_view", "add_to_cart|view_cart"])) == [3, 3]


def test_trends_bucket_units_by_the_local_day_they_entered(db):
    # 23:30 UTC on Monday is already Tuesday in Tokyo (UTC+9, no daylight saving).
    late = T0.replace(hour=23, minute=30)
    monday, tuesday = T0.date().isoformat(), (T0.date() + timedelta(days=1)).isoformat()
    insert(db.ch, [
        event("view_item", T0, 1), event("add_to_cart", at(60), 1),
        event("view_item", late, 2),
        event("view_item", late + timedelta(minutes=1), 3), event("add_to_cart", late + timedelta(minutes=2), 3),
    ])
    utc = run_trends(db.runner, spec(["view_item", "add_to_cart"], interval="day", tz="UTC"))
    assert [(p["period"], p["entered"], p["completed"], p["conversion"]) for p in utc] == [(monday, 3, 2, 66.67)]
    tokyo = run_trends(db.runner, spec(["view_item", "add_to_cart"], interval="day", tz="Asia/Tokyo"))
    assert [(p["period"], p["entered"], p["completed"]) for p in tokyo] == [(monday, 1, 1), (tuesday, 2, 1)]


SHOP_NAMES = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
# A checkout that never sends begin_checkout, and list clicks: the shop funnel's any-of stages.
CHECKOUT_NAMES = ["page_view", "select_item", "view_item", "add_to_cart", "add_shipping_info", "add_payment_info", "purchase"]


def random_visits(seed: int, visitors: int, max_events: int, gaps: list[int], names: list[str] = SHOP_NAMES) -> list:
    """Shop events at random, with same-second events on purpose (gaps of 0)."""
    rng = random.Random(seed)
    rows = []
    for visitor in range(1, visitors + 1):
        t = 0
        for _ in range(rng.randint(1, max_events)):
            t += rng.choice(gaps)
            rows.append(event(rng.choice(names), at(t), visitor))
    return rows


ANY_OF = ["view_item|select_item", "add_to_cart", "begin_checkout|add_shipping_info|add_payment_info", "purchase"]


@pytest.mark.parametrize("order,steps,names", [
    ("ordered", ["view_item", "add_to_cart", "begin_checkout", "purchase"], SHOP_NAMES),
    ("strict", ["view_item", "add_to_cart", "begin_checkout", "purchase"], SHOP_NAMES),
    ("ordered", ["*", "add_to_cart", "begin_checkout", "purchase"], SHOP_NAMES),  # "any event" first takes a shortcut
    ("strict", ["*", "add_to_cart", "begin_checkout", "purchase"], SHOP_NAMES),
    # Any-of steps: several names per step (one_step_per_event still holds: the `transform` path).
    ("ordered", ANY_OF, CHECKOUT_NAMES),
    ("strict", ANY_OF, CHECKOUT_NAMES),
    ("ordered", ["*", *ANY_OF[1:]], CHECKOUT_NAMES),
    ("strict", ["*", *ANY_OF[1:]], CHECKOUT_NAMES),
    # Alternatives shared between steps: an event matching two steps (the pair expansion path).
    ("ordered", ["view_item|add_to_cart", "add_to_cart|add_shipping_info", "add_payment_info|purchase"], CHECKOUT_NAMES),
    ("strict", ["view_item|add_to_cart", "add_to_cart|add_shipping_info", "add_payment_info|purchase"], CHECKOUT_NAMES),
])
def test_same_as_windowfunnel_on_random_visitors(db, order, steps, names):
    """The array implementation reaches the same step as ClickHouse's windowFunnel for every visitor."""
    insert(db.ch, random_visits(seed=7, visitors=300, max_events=12, gaps=[0, 0, 1, 2, 30, 200, 900], names=names))
    s = spec(steps, window="600s", order=order)
    assert funnels.one_step_per_event(s.steps) == (len({n for t in steps for n in t.split("|")}) == sum(len(t.split("|")) for t in steps)
                                                   and "*" not in steps)
    mode = "" if order == "ordered" else ", 'strict_order'"
    conds = ", ".join("true" if t == "*" else "name IN (" + ", ".join(f"'{n}'" for n in t.split("|")) + ")" for t in steps)
    levels = db.ch.query(
        f"SELECT level, count() FROM (SELECT visitor_id, windowFunnel(600{mode})(toDateTime(ts), {conds}) AS level"
        " FROM events GROUP BY visitor_id) WHERE level > 0 GROUP BY level"
    ).result_rows
    expected = [sum(n for level, n in levels if level >= k) for k in range(1, len(steps) + 1)]
    assert counts(db, s) == expected
    assert expected[-1] > 0


@pytest.mark.parametrize("order", ["ordered", "strict", "any"])
@pytest.mark.parametrize("unit", ["visitor", "session"])
@pytest.mark.parametrize("steps,names", [
    (["view_item", "add_to_cart|view_cart", "begin_checkout", "purchase"], SHOP_NAMES + ["view_cart"]),
    (ANY_OF, CHECKOUT_NAMES),
])
def test_one_step_per_event_shortcut_matches_the_general_path(db, order, unit, steps, names, monkeypatch):
    """Steps with distinct event names skip the pair expansion; counts and times must not change."""
    insert(db.ch, random_visits(seed=11, visitors=200, max_events=14, gaps=[0, 0, 1, 5, 60, 900, 2400], names=names))  # with session gaps
    s = spec(steps, window="1h", order=order, unit=unit)
    assert funnels.one_step_per_event(s.steps)
    shortcut = run_funnel(db.runner, s)
    monkeypatch.setattr(funnels, "one_step_per_event", lambda steps: False)
    general = run_funnel(db.runner, s)
    assert shortcut == general
    assert shortcut["steps"][-1]["count"] > 0
