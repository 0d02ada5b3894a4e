"""Kept sessions (migration 0120, schema/views/25_kept_sessions.sql): read from the table where it
is current, the sessions are exactly those session_bounds splits from the events, for any range,
before and after a refresh and whatever arrived in between; a person's deletion removes theirs."""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise

from tests.query_support import T0, at, db, event, insert  # noqa: F401 - db is a fixture
from tracker import kept_sessions
from tracker.clickhouse.cluster import Runner
from tracker.queries import privacy
from tracker.queries.channels import ChannelQuery, run_channels
from tracker.queries.devices import DeviceQuery, run_devices
from tracker.queries.pages import PageQuery, run_pages
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.timerange import TimeRange

GAP = 1800
COLUMNS = "visitor_id, started_at, ended_at, duration_s, events, page_views, view_item, add_to_cart, begin_checkout, purchase"
ENTRY_COLUMNS = f"{COLUMNS}, entry_path, source, medium, campaign, utm_term, utm_content, referrer_host, device, browser, os, exit_path"
# Each kept reader and the view whose sessions it gives, with the columns they share.
READERS = (("kept_session_bounds", "session_bounds", COLUMNS), ("kept_session_entries", "sessions", ENTRY_COLUMNS))
NAMES = ("page_view", "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase")


def journeys(seed: int = 7, visitors: int = 40) -> list[dict]:
    """Each visitor's events over three days: bursts of clicks a few seconds apart (at millisecond
    times), pauses around the gap (either side of it) and longer, some across midnight."""
    rng = random.Random(seed)
    rows = []
    for visitor in range(1, visitors + 1):
        t = at(rng.uniform(-6 * 3600, 20 * 3600))
        device = rng.choice(["desktop", "mobile"])
        for _ in range(rng.randint(1, 25)):
            source = rng.choice(["google", "direct", "newsletter"])  # each event's own: only a session's first counts
            rows.append(event(rng.choice(NAMES), t, visitor, path=rng.choice(["/", "/shoes", "/cart", "/thanks"]), source=source,
                              medium="cpc" if source == "google" else "none", device=device))
            t += timedelta(seconds=rng.choice([rng.uniform(0.001, 40), GAP + rng.uniform(-5, 5), rng.uniform(1.2, 1.8) * GAP,
                                               rng.uniform(2, 30) * 3600]))
    return rows


def sessions(ch, view: str, start, end, gap: int = GAP, columns: str = COLUMNS) -> list[tuple]:
    sql = (f"SELECT {columns} FROM {view}(site = 'shop', from = {{start:DateTime64(3)}}, to = {{end:DateTime64(3)}}, gap_s = {{gap:UInt32}})"
           f" ORDER BY {columns}")
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
        for kept, computed, columns in READERS:
            assert sessions(ch, kept, start, end, gap, columns) == sessions(ch, computed, start, end, gap, columns), (kept, start, end)


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
    # Two consecutive sessions of one visitor less than two gaps apart: an event between them joins them.
    joined, a, b = next((v, a, b) for v in range(1, 41) for a, b in pairwise(sorted(r["ts"] for r in rows if r["visitor_id"] == v))
                        if timedelta(seconds=GAP + 10) < b - a < timedelta(seconds=2 * GAP - 10))
    insert(db.ch, [
        event("page_view", a + (b - a) / 2, joined),
        event("purchase", at(-12 * 3600), 5),  # a late event a day earlier: a session of its own
        event("page_view", at(30), 99), event("view_item", at(45), 99),  # a new visitor
    ])
    assert_equal_everywhere(db.ch)
    kept_sessions.refresh_now(db.ch)
    assert_equal_everywhere(db.ch)
    # The sessions that were joined are overwritten by deletions.
    assert db.ch.query("SELECT count() FROM kept_sessions WHERE is_deleted AND visitor_id = {v:UInt64}",
                       parameters={"v": joined}).result_rows[0][0] == 1


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


def test_the_panels_of_visits_are_the_same_before_and_after_a_refresh(db):
    """/channels, /devices and /pages (entry and exit pages) read the kept sessions once current."""
    insert(db.ch, journeys(seed=13, visitors=60))
    midnight = T0.replace(hour=0)
    day_range = TimeRange(midnight, midnight + timedelta(days=1), "UTC")

    def answers():
        return (run_channels(db.runner, ChannelQuery("shop", day_range, "source", gap_s=GAP)),
                run_devices(db.runner, DeviceQuery("shop", day_range, "device", gap_s=GAP)),
                run_pages(db.runner, PageQuery("shop", day_range, "entry", gap_s=GAP)),
                run_pages(db.runner, PageQuery("shop", day_range, "exit", gap_s=GAP)))

    computed = answers()
    kept_sessions.refresh_now(db.ch)
    assert status(db.ch)
    assert answers() == computed
    assert computed[0]["totals"]["sessions"] == computed[2]["totals"]["sessions"] > 40


def status(ch) -> bool:
    return ch.query("SELECT current FROM kept_sessions_status(gap_s = {g:UInt32})", parameters={"g": GAP}).result_rows[0][0]
