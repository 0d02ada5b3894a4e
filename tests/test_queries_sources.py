"""Sessions, orders and revenue per entry source (the pages' channels table), from the traffic rollup."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from tests.query_support import T0, at, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.sources import SourcesQuery, local_days, run_sources
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.timerange import TimeRange, parse_range


def refresh_rollup(ch) -> None:
    ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")


def test_sources_by_hand(db):
    # google: two sessions of visitor 1 (the second after a 2 h gap) and one order of 30 EUR in
    # the second; mail: one session with two orders, 10 EUR and 5 SEK; direct: a session, no order.
    insert(db.ch, [
        event("page_view", at(0), 1, source="google"),
        event("page_view", at(7200), 1, source="google"),
        event("purchase", at(7260), 1, value=30, currency="EUR", transaction_id="A"),
        event("page_view", at(100), 2, source="mail"),
        event("purchase", at(160), 2, value=10, currency="EUR", transaction_id="B"),
        event("purchase", at(200), 2, value=5, currency="SEK", transaction_id="C"),
        event("page_view", at(300), 3, source="direct"),
    ])
    refresh_rollup(db.ch)
    result = run_sources(db.runner, SourcesQuery("shop", parse_range(T0.date().isoformat(), T0.date().isoformat(), "UTC")))
    assert result["sources"] == [
        {"source": "google", "sessions": 2, "share_of_sessions": 50.0, "orders": 1, "revenue": [{"currency": "EUR", "revenue": 30.0}]},
        {"source": "mail", "sessions": 1, "share_of_sessions": 25.0, "orders": 2,
         "revenue": [{"currency": "EUR", "revenue": 10.0}, {"currency": "SEK", "revenue": 5.0}]},
        {"source": "direct", "sessions": 1, "share_of_sessions": 25.0, "orders": 0, "revenue": []},
    ]
    assert result["totals"] == {"sessions": 4, "orders": 3}
    earlier = T0.date() - timedelta(days=3)
    assert run_sources(db.runner, SourcesQuery("shop", parse_range(earlier.isoformat(), earlier.isoformat(), "UTC")))["sources"] == []


def test_totals_equal_the_stats_api_in_the_sites_time_zone(db):
    # From 10:25 UTC every 25 minutes into the next day; Tokyo's next day starts at 15:00 UTC, the
    # UTC one at midnight: the local days decide which sessions count.
    rows = []
    for v in range(1, 40):
        ts = at(v * 1500)
        rows.append(event("page_view", ts, v, source=["google", "mail", "direct"][v % 3]))
        if v % 4 == 0:
            rows.append(event("purchase", ts + timedelta(seconds=60), v, value=v, currency="EUR", transaction_id=f"T{v}"))
    insert(db.ch, rows)
    refresh_rollup(db.ch)
    tz = "Asia/Tokyo"
    day = (T0.date() + timedelta(days=1)).isoformat()
    time_range = parse_range(day, day, tz)
    sources = run_sources(db.runner, SourcesQuery("shop", time_range))
    stats = run_stats(db.runner, StatsQuery("shop", time_range, "day", 1800))["totals"]
    assert sources["totals"]["sessions"] == stats["sessions"] == 28  # v = 12 .. 39
    assert sources["totals"]["orders"] == stats["orders"] > 0
    revenue = sum(r["revenue"] for s in sources["sources"] for r in s["revenue"])
    assert revenue == sum(r["revenue"] for r in stats["revenue"])


def test_local_days_cover_a_range_given_in_instants():
    start = datetime.combine(T0.date(), time(22), timezone.utc)
    r = TimeRange(start, start + timedelta(hours=3), "UTC")
    assert local_days(r) == (T0.date(), T0.date() + timedelta(days=2))
