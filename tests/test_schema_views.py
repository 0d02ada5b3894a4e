"""The SQL views in schema/views: sessions, funnel stages (windowFunnel), orders and the traffic rollup."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.query_support import T0, at, db, event, insert  # noqa: F401 - db is a fixture
from tracker.clickhouse.migrate import render_view, view_files
from tracker.queries.funnels import FunnelSpec, run_funnel
from tracker.queries.stats import StatsQuery, run_stats
from tracker.queries.steps import shop_funnel
from tracker.queries.timerange import TimeRange

RANGE = {"site": "shop", "from": T0 - timedelta(days=1), "to": T0 + timedelta(days=2)}


def rows(db, sql: str, **params):
    return db.ch.query(sql, parameters={**RANGE, **params}).result_rows


def test_sessions_split_after_more_than_the_gap_and_keep_their_entry(db):
    insert(db.ch, [
        event("page_view", at(0), 1, source="google", medium="organic", path="/shoes", device="mobile"),
        event("view_item", at(1800), 1),  # exactly 30 minutes later: same session
        event("page_view", at(3601), 1, source="newsletter", campaign="spring"),  # 30 min 1 s later: new session
        event("purchase", at(3700), 1),
    ])
    found = rows(db, "SELECT session_no, events, page_views, purchase, duration_s, source, medium, campaign, entry_path, device"
                     " FROM sessions(site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}, gap_s = 1800)"
                     " ORDER BY session_no")
    assert found == [
        (1, 2, 1, 0, 1800, "google", "organic", "", "/shoes", "mobile"),
        (2, 2, 1, 1, 99, "newsletter", "none", "spring", "/", "desktop"),
    ]


def test_orders_count_a_transaction_once_and_keep_its_currency(db):
    insert(db.ch, [
        event("purchase", at(0), 1, transaction_id="A-1", value=10, currency="EUR"),
        event("purchase", at(5), 1, transaction_id="A-1", value=10, currency="EUR"),
        event("purchase", at(9), 2, value=7, currency="SEK"),
        event("purchase", at(9), 3, value=7, currency="SEK"),
    ])
    found = rows(db, "SELECT transaction_id, toString(value), currency FROM orders(site = {site:String}, from = {from:DateTime64(3)},"
                     " to = {to:DateTime64(3)}) ORDER BY ts, currency, visitor_id")
    assert found == [("A-1", "10", "EUR"), ("", "7", "SEK"), ("", "7", "SEK")]


def random_shop_events(seed: int, visitors: int = 200) -> list[dict]:
    rng = random.Random(seed)
    names = ["page_view"] * 4 + ["view_item"] * 3 + ["add_to_cart", "begin_checkout", "purchase", "view_cart", "select_item",
                                                   "add_shipping_info", "add_payment_info"]
    out = []
    for visitor in range(1, visitors + 1):
        t = rng.randint(0, 20 * 3600)
        for _ in range(rng.randint(1, 15)):
            t += rng.choice([0, 1, 5, 60, 600, 1799, 1800, 1801, 4000])
            out.append(event(rng.choice(names), at(t), visitor, source=rng.choice(["direct", "google", "mail"]),
                             value=rng.choice([None, 5, 12.5]), currency="EUR"))
    return out


@pytest.mark.parametrize("unit,gap_s", [("visitor", 0), ("session", 1800)])
def test_funnel_stages_view_agrees_with_the_query_api(db, unit, gap_s):
    insert(db.ch, random_shop_events(11))
    stages = dict(rows(db, "SELECT stage_level, count() FROM funnel_stages(site = {site:String}, from = {from:DateTime64(3)},"
                           " to = {to:DateTime64(3)}, window_s = 7200, gap_s = {gap:UInt32}) GROUP BY stage_level", gap=gap_s))
    expected = [sum(n for level, n in stages.items() if level >= k) for k in range(1, 7)]
    spec = FunnelSpec("shop", TimeRange(RANGE["from"], RANGE["to"], "UTC"), tuple(shop_funnel()), 7200, unit=unit, gap_s=1800)
    assert [s["count"] for s in run_funnel(db.runner, spec)["steps"]] == expected
    assert expected[5] > 0 and expected[0] > expected[1]  # the data exercises every stage


def test_traffic_rollup_matches_the_stats_api_per_local_day(db):
    insert(db.ch, random_shop_events(5, visitors=150))
    db.ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    db.ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")
    tz = "America/New_York"
    start, end = T0.date() - timedelta(days=1), T0.date() + timedelta(days=2)
    daily = rows(db, "SELECT day, sum(sessions), sum(page_views), sum(orders), sumMap(revenue) FROM daily_traffic(site = {site:String},"
                     " from = {d0:Date}, to = {d1:Date}, timezone = {tz:String}) GROUP BY day ORDER BY day", d0=start, d1=end, tz=tz)
    visitors = dict(rows(db, "SELECT day, uniqExactMerge(v) FROM (SELECT toDate(bucket, {tz:String}) AS day, visitors AS v FROM traffic_rollup FINAL"
                             " WHERE site = {site:String}) GROUP BY day", tz=tz))
    api = run_stats(db.runner, StatsQuery("shop", TimeRange(RANGE["from"], RANGE["to"], tz), "day", 1800))
    api_days = {p["period"]: p for p in api["series"] if p["sessions"] or p["orders"]}
    assert [d[0].isoformat() for d in daily] == sorted(api_days)
    for day, sessions, page_views, orders, revenue in daily:
        p = api_days[day.isoformat()]
        assert (sessions, page_views, orders, visitors[day]) == (p["sessions"], p["page_views"], p["orders"], p["visitors"])
        assert {c: float(v) for c, v in revenue.items() if c} == {r["currency"]: r["revenue"] for r in p["revenue"]}


def test_traffic_rollup_rewrites_keys_that_vanished(db):
    # A session that started at 10:20 (google) gains an earlier event at 10:05 (mail) arriving late:
    # after the next refresh the 10:15 bucket must not keep counting the old session.
    insert(db.ch, [event("page_view", at(20 * 60), 1, source="google")])
    db.ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    db.ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")
    insert(db.ch, [event("page_view", at(5 * 60), 1, source="mail")])
    db.ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    db.ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")
    found = db.ch.query("SELECT bucket, source, sessions FROM traffic_rollup FINAL WHERE sessions > 0 ORDER BY bucket").result_rows
    assert [(b.minute, s, n) for b, s, n in found] == [(0, "mail", 1)]


def test_view_files_are_ordered_and_placeholders_must_be_known():
    names = [p.name for p in view_files()]
    assert names == sorted(names) and names[0].startswith("10_")
    assert render_view("gap_s = {{session_gap_s}}", {"session_gap_s": 900}) == "gap_s = 900"
    with pytest.raises(KeyError):
        render_view("{{nope}}", {})


def test_views_are_recreated_on_every_migrate(clickhouse, database, db):
    from tracker.clickhouse.client import Target
    from tracker.clickhouse.migrate import migrate

    assert migrate(Target("127.0.0.1", clickhouse.port, database=database), values={"session_gap_s": 600}) == []
    ddl = db.ch.query("SELECT create_table_query FROM system.tables WHERE database = currentDatabase()"
                      " AND name = 'traffic_rollup_computed'").result_rows[0][0]  # what both rollup refreshes select
    assert "gap_s = 600" in ddl


def test_the_frequent_rollup_refresh_covers_the_last_two_days_and_the_hourly_one_31(db):
    from datetime import datetime, timezone

    for view in ("traffic_rollup_recent", "traffic_rollup_refresh"):  # their first refreshes, at creation, are over
        db.ch.command(f"SYSTEM WAIT VIEW {view}")
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    insert(db.ch, [event("page_view", today - timedelta(days=1) + timedelta(hours=10), 1),  # yesterday
                   event("page_view", today - timedelta(days=5) + timedelta(hours=10), 2)])  # a late event, 5 days old

    def refresh(view: str) -> list:
        db.ch.command(f"SYSTEM REFRESH VIEW {view}")
        db.ch.command(f"SYSTEM WAIT VIEW {view}")
        return [(b.date(), n) for b, n in db.ch.query(
            "SELECT bucket, sessions FROM traffic_rollup FINAL WHERE sessions > 0 ORDER BY bucket").result_rows]

    assert refresh("traffic_rollup_recent") == [((today - timedelta(days=1)).date(), 1)]
    assert refresh("traffic_rollup_refresh") == [((today - timedelta(days=5)).date(), 1), ((today - timedelta(days=1)).date(), 1)]
