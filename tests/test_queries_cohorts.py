"""Cohorts against a hand-computed example: customers by the month (or week) of their first order,
retention, repeat rate, churn and cumulative revenue per customer per currency, identity by
customer_id or else the visitor, orders counted once per transaction, refunds left out."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

import pytest

from tests.query_support import db, event, insert  # noqa: F401 - db is a fixture
from tracker.clickhouse.cluster import Runner
from tracker.queries import privacy
from tracker.queries.cohorts import ALL_EVENTS_SOURCE, CohortQuery, default_start, run_cohorts, shift
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.timerange import TimeRange

DAY = 86400

# Four whole months, the last one ending at the start of the current month (so "now" never cuts
# a period short): M[0] .. M[3] are their first days, M[4] the range end.
_this_month = datetime.now(timezone.utc).date().replace(day=1)
M = [datetime.combine(shift(_this_month, "month", n), time(), timezone.utc) for n in range(-4, 1)]


def on(month: int, day: int, hour: int = 12) -> datetime:
    """Noon (UTC) of day `day` (1-based) of month M[month]."""
    return M[month] + timedelta(days=day - 1, hours=hour)


def buy(ts: datetime, visitor: int, value: float, currency: str, customer: str = "", tx: str = "") -> dict:
    return event("purchase", ts, visitor, customer_id=customer, transaction_id=tx, value=value, currency=currency)


def fixture(db) -> None:
    insert(db.ch, [
        # Ana: buys in month 1 and month 3 (her first order sent twice: counted once), and a refund
        # that changes nothing (orders are gross, as in /stats).
        buy(on(0, 3), 1, 100, "EUR", "c-ana", "A1"), buy(on(0, 3, 13), 1, 100, "EUR", "c-ana", "A1"),
        buy(on(2, 10), 1, 50, "EUR", "c-ana", "A2"),
        event("refund", on(2, 11), 1, customer_id="c-ana", transaction_id="A2", value=50, currency="EUR"),
        # Ben: buys once, in USD.
        buy(on(0, 20), 2, 30, "USD", "c-ben", "B1"),
        # A guest without customer_id (visitor 33): two orders in month 2, no transaction id.
        buy(on(1, 5), 33, 20, "EUR"), buy(on(1, 6), 33, 10, "EUR"),
        # Dan on two devices (two visitor ids): one customer by his customer_id.
        buy(on(1, 8), 41, 40, "EUR", "c-dan", "D1"), buy(on(3, 15), 42, 60, "EUR", "c-dan", "D2"),
        # Eve first bought before the range: not a new customer in month 2, in no cohort.
        buy(M[0] - timedelta(days=15), 5, 70, "EUR", "c-eve", "E1"), buy(on(1, 3), 5, 70, "EUR", "c-eve", "E2"),
        # A guest (visitor 55) in month 4, whose second order comes after the range end: not read.
        buy(on(3, 2), 55, 25, "USD"), buy(M[4] + timedelta(hours=1), 55, 99, "USD"),
        # Not orders: a view and an add to cart by a visitor who never buys.
        event("view_item", on(0, 4), 9), event("add_to_cart", on(0, 4), 9, items=[("X", 5, 1)], currency="EUR"),
    ])


def cohorts(db, period="month", churn_days=45, start=None, end=None, tz="UTC"):
    r = TimeRange(start or M[0], end or M[4], tz)
    return run_cohorts(db.runner, CohortQuery("shop", r, period, churn_days * DAY, min(r.end, datetime.now(timezone.utc))))["cohorts"]


def table(cohort: dict) -> list[tuple]:
    return [(p["offset"], p["buyers"], p["retention"], p["repeat_customers"], p["repeat_rate"], p["churned"], p["churn_rate"])
            for p in cohort["periods"]]


def ltv(cohort: dict) -> list[dict]:
    return [{l["currency"]: (l["revenue"], l["per_customer"]) for l in p["ltv"]} for p in cohort["periods"]]


def test_monthly_cohorts_by_hand(db):
    fixture(db)
    found = cohorts(db)
    # Month 3 has no new customer (Ana's second order is not a first one): no cohort listed.
    assert [(c["cohort"], c["customers"]) for c in found] == [
        (M[0].date().isoformat(), 2), (M[1].date().isoformat(), 2), (M[3].date().isoformat(), 1),
    ]
    first, second, fourth = found
    assert [p["period"] for p in first["periods"]] == [m.date().isoformat() for m in M[:4]]

    # Ana and Ben. Churn after 45 days, at each month's end (months have 28 to 31 days): Ana's
    # last order (day 3) is 56.5-59.5 days old at the end of month 2; her next (day 10 of month 3)
    # is 18.5-21.5 days old at the end of month 3 and 49.5-52.5 at the end of month 4. Ben's
    # (day 20) is 39.5-42.5 days old at the end of month 2 and 69.5 or more after.
    assert table(first) == [
        # offset, buyers, retention, repeat customers, repeat rate, churned, churn rate
        (0, 2, 100.0, 0, 0.0, 0, 0.0),
        (1, 0, 0.0, 0, 0.0, 1, 50.0),
        (2, 1, 50.0, 1, 50.0, 1, 50.0),
        (3, 0, 0.0, 1, 50.0, 2, 100.0),
    ]
    # Cumulative revenue: EUR 100, then 150 (Ana's second order); USD 30 (Ben). Per customer: / 2.
    assert ltv(first) == [
        {"EUR": (100.0, 50.0), "USD": (30.0, 15.0)},
        {"EUR": (100.0, 50.0), "USD": (30.0, 15.0)},
        {"EUR": (150.0, 75.0), "USD": (30.0, 15.0)},
        {"EUR": (150.0, 75.0), "USD": (30.0, 15.0)},
    ]

    # The guest (two orders in month 2: a repeat customer at once) and Dan (months 2 and 4).
    # At the end of month 3 the guest's last order is 53.5-56.5 days old, Dan's 51.5-54.5: both
    # churned; Dan's order on day 15 of month 4 brings him back.
    assert table(second) == [
        (0, 2, 100.0, 1, 50.0, 0, 0.0),
        (1, 0, 0.0, 1, 50.0, 2, 100.0),
        (2, 1, 50.0, 2, 100.0, 1, 50.0),
    ]
    assert ltv(second) == [{"EUR": (70.0, 35.0)}, {"EUR": (70.0, 35.0)}, {"EUR": (130.0, 65.0)}]

    # The month-4 guest: the order after the range end is not read.
    assert table(fourth) == [(0, 1, 100.0, 0, 0.0, 0, 0.0)]
    assert ltv(fourth) == [{"USD": (25.0, 25.0)}]


def test_cohort_revenue_adds_up_to_stats_revenue(db):
    fixture(db)
    final = {}
    for cohort in cohorts(db):
        for line in cohort["periods"][-1]["ltv"]:
            final[line["currency"]] = final.get(line["currency"], 0) + line["revenue"]
    stats = run_stats(db.runner, StatsQuery("shop", TimeRange(M[0], M[4], "UTC"), "month", 1800))["totals"]["revenue"]
    # /stats also counts Eve's order in month 2 (70 EUR): she is in no cohort of the range.
    assert {r["currency"]: r["revenue"] for r in stats} == {"EUR": final["EUR"] + 70, "USD": final["USD"]} == {"EUR": 350, "USD": 55}


def test_default_churn_after_90_days(db):
    fixture(db)
    first = cohorts(db, churn_days=90)[0]
    # Ben's order is 100.5-103.5 days old at the end of month 4, at most 72.5 before; Ana's never
    # more than 59.5.
    assert [p["churned"] for p in first["periods"]] == [0, 0, 0, 1]


def test_range_selects_cohorts_but_orders_before_it_decide_who_is_new(db):
    fixture(db)
    found = cohorts(db, start=M[1], end=M[3])
    # Only month 2's cohort: Eve (first order before) is not in it; periods end with the range.
    assert [(c["cohort"], c["customers"], len(c["periods"])) for c in found] == [(M[1].date().isoformat(), 2, 2)]


def test_weekly_cohorts_in_the_site_time_zone(db):
    monday = datetime.combine(M[1].date() - timedelta(days=M[1].weekday()), time(), timezone.utc) + timedelta(weeks=1)
    insert(db.ch, [
        # Sunday 20:00 UTC is Monday 05:00 in Tokyo: in UTC the week before, in Tokyo this week.
        buy(monday - timedelta(hours=4), 1, 10, "JPY", "c-1", "T1"),
        buy(monday + timedelta(days=8), 1, 15, "JPY", "c-1", "T2"),
    ])
    utc = cohorts(db, "week", start=monday - timedelta(weeks=1), end=monday + timedelta(weeks=3))
    assert [(c["cohort"], [p["buyers"] for p in c["periods"]]) for c in utc] == [
        ((monday - timedelta(weeks=1)).date().isoformat(), [1, 0, 1, 0]),
    ]
    tokyo = cohorts(db, "week", start=monday - timedelta(weeks=1), end=monday + timedelta(weeks=3), tz="Asia/Tokyo")
    assert [(c["cohort"], [p["buyers"] for p in c["periods"]]) for c in tokyo] == [
        (monday.date().isoformat(), [1, 1, 0, 0]),
    ]
    assert tokyo[0]["periods"][1]["ltv"] == [{"currency": "JPY", "revenue": 25.0, "per_customer": 25.0}]


def test_no_orders_no_cohorts(db):
    insert(db.ch, [event("page_view", on(0, 1), 1)])
    assert cohorts(db) == []


def test_default_start_is_twelve_periods_back():
    end = datetime(2024, 5, 31, 22, tzinfo=timezone.utc)  # June 1st 00:00 in Berlin
    assert default_start(end, "Europe/Berlin", "month") == datetime(2023, 6, 1, tzinfo=timezone.utc) - timedelta(hours=2)
    assert default_start(datetime(2024, 5, 15, tzinfo=timezone.utc), "UTC", "week") == datetime(2024, 2, 26, tzinfo=timezone.utc)
    assert shift(date(2024, 11, 1), "month", 3) == date(2025, 2, 1)


def test_churned_only_after_more_than_churn_after(db):
    monday = datetime.combine(M[1].date() - timedelta(days=M[1].weekday()), time(), timezone.utc)
    insert(db.ch, [buy(monday, 1, 10, "EUR", "c-1", "W1")])  # exactly 7 days before the week's end
    found = cohorts(db, "week", churn_days=7, start=monday, end=monday + timedelta(weeks=2))
    assert [p["churned"] for p in found[0]["periods"]] == [0, 1]


def random_orders(seed: int) -> list[dict]:
    """Orders of 60 customers over the four months and the month before: some without customer_id
    or transaction id, some sent twice, two currencies, and other events around them."""
    rng = random.Random(seed)
    rows = []
    for visitor in range(1, 61):
        customer = rng.choice(["", f"c-{visitor % 40}"])  # customers on several visitors, and guests
        for n in range(rng.randint(1, 5)):
            ts = M[0] - timedelta(days=30) + timedelta(seconds=rng.randrange(150 * DAY))
            tx = rng.choice(["", f"T{visitor}-{n}"])
            order = buy(ts, visitor, rng.choice([10, 25.5, 99]), rng.choice(["EUR", "USD"]), customer, tx)
            rows.append(order)
            if tx and rng.random() < 0.3:  # resent later: counted once
                rows.append(buy(ts + timedelta(minutes=5), visitor, order["value"], order["currency"], customer, tx))
            rows.append(event("view_item", ts - timedelta(minutes=3), visitor))
    return rows


@pytest.mark.parametrize("period, churn_days", [("month", 45), ("week", 10)])
def test_cohorts_from_the_purchases_table_equal_those_from_all_events(db, period, churn_days):
    insert(db.ch, random_orders(7))
    r = TimeRange(M[0], M[4], "UTC")
    q = CohortQuery("shop", r, period, churn_days * DAY, min(r.end, datetime.now(timezone.utc)))
    answer = run_cohorts(db.runner, q)
    assert answer == run_cohorts(db.runner, q, ALL_EVENTS_SOURCE)
    assert sum(c["customers"] for c in answer["cohorts"]) > 10


def test_a_deleted_person_leaves_the_cohorts(db):
    insert(db.ch, [buy(on(0, 3), 1, 100, "EUR", "c-ana", "A1"), buy(on(0, 5), 2, 30, "EUR", "c-ben", "B1"),
                   buy(on(1, 5), 3, 30, "EUR", "c-ben", "B2")])
    assert [c["customers"] for c in cohorts(db)] == [2]
    assert privacy.delete(Runner(db.runner.target), privacy.by_customer(db.ch, "shop", "c-ben")) == 2
    assert db.ch.query("SELECT count() FROM purchases WHERE customer_id = 'c-ben'").result_rows == [(0,)]
    assert [(c["customers"], c["periods"][0]["ltv"]) for c in cohorts(db)] == [
        (1, [{"currency": "EUR", "revenue": 100.0, "per_customer": 100.0}])]
