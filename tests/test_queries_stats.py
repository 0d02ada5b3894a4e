"""Site statistics against hand-computed fixtures: day buckets in the site's time zone, sessions,
orders counted once per transaction, revenue and average order value kept per currency."""

from __future__ import annotations

from datetime import timedelta

from tests.query_support import T0, at, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.stats import StatsQuery, periods, run_stats
from tracker.queries.timerange import TimeRange

HOUR = 3600


def stats(db, tz="UTC", interval="day", days=2):
    return run_stats(db.runner, StatsQuery("shop", TimeRange(T0 - timedelta(hours=10), T0 + timedelta(days=days), tz), interval, 1800))


def fixture(db):
    late = T0.replace(hour=23, minute=30)  # Monday 23:30 UTC = Tuesday 08:30 in Tokyo
    insert(db.ch, [
        # visitor 1: two sessions on Monday (a 2-hour pause), one order in EUR sent twice
        event("page_view", at(0), 1), event("page_view", at(60), 1),
        event("purchase", at(120), 1, transaction_id="o1", value=100, currency="EUR"),
        event("purchase", at(121), 1, transaction_id="o1", value=100, currency="EUR"),
        event("page_view", at(2 * HOUR), 1),
        # visitor 2: one late session with a USD order and an EUR order
        event("page_view", late, 2),
        event("purchase", late + timedelta(minutes=1), 2, transaction_id="o2", value=30, currency="USD"),
        event("purchase", late + timedelta(minutes=2), 2, transaction_id="o3", value=50, currency="EUR"),
        # visitor 3: a bounce on Monday
        event("page_view", at(HOUR), 3),
    ])


def test_daily_figures_in_utc(db):
    fixture(db)
    result = stats(db)
    monday = next(p for p in result["series"] if p["period"] == T0.date().isoformat())
    assert {k: monday[k] for k in ("visitors", "sessions", "page_views", "orders", "conversion_rate")} == {
        "visitors": 3, "sessions": 4, "page_views": 5, "orders": 3, "conversion_rate": 50.0,
    }
    assert monday["revenue"] == [
        {"currency": "EUR", "orders": 2, "revenue": 150.0, "average_order_value": 75.0},
        {"currency": "USD", "orders": 1, "revenue": 30.0, "average_order_value": 30.0},
    ]
    assert result["totals"]["orders"] == 3 and result["totals"]["visitors"] == 3


def test_days_follow_the_site_time_zone(db):
    fixture(db)
    result = stats(db, tz="Asia/Tokyo")
    by_day = {p["period"]: (p["visitors"], p["sessions"], p["orders"]) for p in result["series"]}
    monday, tuesday = T0.date().isoformat(), (T0.date() + timedelta(days=1)).isoformat()
    assert by_day[monday] == (2, 3, 1)  # 10:00 UTC is 19:00 in Tokyo, still Monday
    assert by_day[tuesday] == (1, 1, 2)
    assert result["totals"]["sessions"] == 4


def test_weeks_and_months_and_empty_periods(db):
    fixture(db)
    weekly = stats(db, interval="week", days=9)
    assert weekly["series"][0]["period"] == T0.date().isoformat()  # T0 is a Monday: the week starts there
    assert [p["sessions"] for p in weekly["series"]] == [4, 0]
    monthly = stats(db, interval="month")
    assert sum(p["orders"] for p in monthly["series"]) == 3
    assert all(p["period"].endswith("-01") for p in monthly["series"])


def test_periods_are_every_local_day_the_range_touches():
    midnight = T0.replace(hour=0)
    days = [(T0.date() + timedelta(days=i)).isoformat() for i in range(4)]
    assert [p.isoformat() for p in periods(TimeRange(midnight, midnight + timedelta(days=3), "UTC"), "day")] == days[:3]
    assert [p.isoformat() for p in periods(TimeRange(T0, T0 + timedelta(days=3), "UTC"), "day")] == days
