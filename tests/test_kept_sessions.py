"""Kept sessions (migration 0120, schema/views/25_kept_sessions.sql): read from the table where it
is current, the sessions are exactly those session_bounds splits from the events, for any range,
before and after a refresh and whatever arrived in between; a person's deletion removes theirs."""

from __future__ import annotations

import random
from datetime import timedelta

from tests.query_support import T0, at, db, event, insert  # noqa: F401 - db is a fixture
from tracker import kept_sessions
from tracker.clickhouse.cluster import Runner
from tracker.queries import privacy
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.timerange import TimeRange

GAP = 1800
COLUMNS = "visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase"
NAMES = ("page_view", "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase")


def journeys(seed: int = 7, visitors: int = 40) -> list[dict]:
    """Each visitor's events over three days: bursts of clicks a few seconds apart (at millisecond
    times), pauses around the gap (either side of it), some across midnight."""
    rng = random.Random(seed)
    rows = []
    for visitor in range(1, visitors + 1):
        t = at(rng.uniform(-6 * 3600, 20 * 3600))
        for _ in range(rng.randint(1, 25)):
            rows.append(event(rng.choice(NAMES), t, visitor))
            t += timedelta(seconds=rng.choice([rng.uniform(0.001, 40), GAP + rng.uniform(-5, 5), rng.uniform(2, 30) * 3600]))
    return rows


def sessions(ch, view: str, start, end, gap: int = GAP) -> list[tuple]:
    sql = (f"SELECT {COLUMNS} FROM {view}(site = 'shop', from = {{start:DateTime64(3)}}, to = {{end:DateTime64(3)}}, gap_s = {{gap:UInt32}})"
           f" ORDER BY {COLUMNS}")
    return ch.query(sql, parameters={"start": start, "end": end, "gap": gap}).result_rows


def ranges():
    midnight = T0.replace(hour=0)
    return [
        (midnight, midnight + timedelta(days=1)),  # a day: sessions cross both midnights
        (midnight - timedelta(days=1), midnight + timedelta(days=3)),  # all of it
        (at(3600.25), at(3 * 3600.5)),  # starts and ends inside sessions, between milliseconds
        (at(-7200), at(24 * 3600 + 0.999)),
    ]


def assert_equal_everywhere(ch, gap: int = GAP):
    for start, end in ranges():
        assert sessions(ch, "kept_session_bounds", start, end, gap) == sessions(ch, "session_bounds", start, end, gap), (start, end)


def kept_rows(ch) -> int:
    return ch.query("SELECT count() FROM kept_sessions FINAL").result_rows[0][0]


def test_kept_sessions_are_the_sessions_of_any_range(db):
    insert(db.ch, journeys())
    assert_equal_everywhere(db.ch)  # not refreshed yet: computed from the events
    kept_sessions.refresh_now(db.ch)
    assert kept_rows(db.ch) > 100
    assert_equal_everywhere(db.ch)


def test_the_kept_table_is_what_is_read_once_refreshed(db):
    insert(db.ch, journeys())
    kept_sessions.refresh_now(db.ch)
    start, end = ranges()[1]
    before = sessions(db.ch, "kept_session_bounds", start, end)
    # Events removed behind the refresh's back (a DELETE touches no visitor): the sessions inside
    # the range still come from the table, so only those crossing its ends are gone.
    db.ch.command("DELETE FROM events WHERE site = 'shop' SETTINGS lightweight_deletes_sync = 2")
    after = sessions(db.ch, "kept_session_bounds", start, end)
    assert sessions(db.ch, "session_bounds", start, end) == []
    assert len(after) > 0.9 * len(before) and set(after) <= set(before)


def test_events_that_arrive_after_a_refresh_count_at_once(db):
    rows = journeys()
    insert(db.ch, rows)
    kept_sessions.refresh_now(db.ch)
    first = sorted((r for r in rows if r["visitor_id"] == 3), key=lambda r: r["ts"])
    insert(db.ch, [
        # Between two of visitor 3's sessions, within the gap of both: they become one.
        *[event("page_view", a["ts"] + (b["ts"] - a["ts"]) / 2, 3) for a, b in zip(first, first[1:]) if b["ts"] - a["ts"] > timedelta(seconds=GAP)][:3],
        event("purchase", at(-12 * 3600), 5),  # a late event a day earlier: a session of its own
        event("page_view", at(30), 99), event("view_item", at(45), 99),  # a new visitor
    ])
    assert_equal_everywhere(db.ch)
    kept_sessions.refresh_now(db.ch)
    assert_equal_everywhere(db.ch)
    # The sessions that were joined are overwritten by deletions.
    assert db.ch.query("SELECT count() FROM kept_sessions WHERE is_deleted AND visitor_id = 3").result_rows[0][0] > 0


def test_another_session_gap_is_computed_from_the_events(db):
    insert(db.ch, journeys())
    kept_sessions.refresh_now(db.ch)
    assert_equal_everywhere(db.ch, gap=600)


def test_stats_are_the_same_before_and_after_a_refresh(db):
    insert(db.ch, journeys(seed=11, visitors=60))
    q = StatsQuery("shop", TimeRange(T0.replace(hour=0) - timedelta(days=1), T0.replace(hour=0) + timedelta(days=2), "UTC"), "day", GAP)
    live = run_stats(db.runner, q)
    kept_sessions.refresh_now(db.ch)
    assert run_stats(db.runner, q) == live
    assert live["totals"]["sessions"] > 60


def test_a_persons_deletion_removes_their_kept_sessions(db):
    insert(db.ch, journeys())
    kept_sessions.refresh_now(db.ch)
    assert db.ch.query("SELECT count() FROM kept_sessions WHERE visitor_id = 4").result_rows[0][0] > 0
    assert privacy.delete(Runner(db.runner.target), privacy.by_visitor("shop", 4)) > 0
    for table in ("kept_sessions", "touched_visitors"):
        assert db.ch.query(f"SELECT count() FROM {table} WHERE visitor_id = 4").result_rows[0][0] == 0, table
    assert_equal_everywhere(db.ch)
    kept_sessions.refresh_now(db.ch)  # the refresh runs again after the deletion, and finds nothing of theirs
    assert db.ch.query("SELECT count() FROM kept_sessions WHERE visitor_id = 4").result_rows[0][0] == 0
