"""Funnel and abandoned-cart latency on generated events: the API endpoint vs the raw SQL it replaces.

The events are generated inside ClickHouse (INSERT ... SELECT from numbers()), spread over 10 sites
and 60 days, each visitor walking the shop funnel as far as a hash of its id says.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench import harness
from tracker.clickhouse.client import Target, connect
from tracker.sites import Site, add_site
from tracker.tokens import create_token

SITES = 10
DAYS = 60
STEPS = ("page_view", "view_item", "add_to_cart", "begin_checkout", "purchase")

GENERATE = """
INSERT INTO events (site, ts, received_at, event_id, name, visitor_id, source, medium, device, browser, os,
                    transaction_id, value, currency, `items.item_id`, `items.item_name`, `items.item_category`,
                    `items.price`, `items.quantity`)
SELECT
    concat('shop', toString(visitor % {sites:UInt32})) AS site,
    toDateTime64(now() - {days:UInt32} * 86400 + cityHash64(visitor) % ({days:UInt32} * 86400 - 3600) + k * 45, 3) AS ts,
    ts AS received_at,
    generateUUIDv4(number) AS event_id,
    ['page_view', 'view_item', 'add_to_cart', 'begin_checkout', 'purchase'][1 + least(stage - 1, intDiv(k, 4))] AS name,
    visitor AS visitor_id,
    ['Google', 'direct', 'newsletter', 'Facebook'][1 + visitor % 4] AS source,
    ['organic', 'none', 'email', 'social'][1 + visitor % 4] AS medium,
    ['desktop', 'mobile', 'tablet'][1 + visitor % 3] AS device,
    'Firefox' AS browser, 'Linux' AS os,
    if(name = 'purchase', concat('T', toString(visitor)), '') AS transaction_id,
    if(name IN ('add_to_cart', 'purchase'), toDecimal64(19.99, 4), NULL) AS value,
    if(name IN ('add_to_cart', 'purchase'), 'EUR', '') AS currency,
    if(name = 'add_to_cart', [concat('sku-', toString(visitor % 500))], []) AS `items.item_id`,
    if(name = 'add_to_cart', ['Shoe'], []) AS `items.item_name`,
    if(name = 'add_to_cart', ['shoes'], []) AS `items.item_category`,
    if(name = 'add_to_cart', [toDecimal64(19.99, 4)], []) AS `items.price`,
    if(name = 'add_to_cart', [toUInt32(1)], []) AS `items.quantity`
FROM
(
    SELECT number, intDiv(number, 20) AS visitor, number % 20 AS k,
           multiIf(cityHash64(intDiv(number, 20), 1) % 100 < 40, 1, cityHash64(intDiv(number, 20), 1) % 100 < 70, 2,
                   cityHash64(intDiv(number, 20), 1) % 100 < 85, 3, cityHash64(intDiv(number, 20), 1) % 100 < 93, 4, 5) AS stage
    FROM numbers({events:UInt64})
)
"""

RAW_FUNNEL = """
SELECT level, count() FROM (
    SELECT visitor_id, windowFunnel(86400)(toDateTime(ts), name = 'page_view', name = 'view_item', name = 'add_to_cart',
                                           name = 'begin_checkout', name = 'purchase') AS level
    FROM events
    WHERE site = {site:String} AND ts >= {start:DateTime64(3)} AND ts < {end:DateTime64(3)}
    GROUP BY visitor_id
) GROUP BY level ORDER BY level
"""
RAW_FUNNEL_ALL_SITES = RAW_FUNNEL.replace("site = {site:String} AND ", "").replace("GROUP BY visitor_id", "GROUP BY site, visitor_id")


def best_ms(*works, repeat: int = 7) -> list[float]:
    """Best time of each piece of work, run in alternating rounds so that a noisy moment on this
    shared machine (a ClickHouse merge, another process) hits all of them alike."""
    for work in works:
        work()  # warm-up: first reads come from disk
    times: list[list[float]] = [[] for _ in works]
    for _ in range(repeat):
        for work, spent in zip(works, times):
            started = time.perf_counter()
            work()
            spent.append((time.perf_counter() - started) * 1000)
    return [min(spent) for spent in times]


def wait_for_merges(ch, timeout_s: float = 120.0) -> None:
    """Let background merges (of this and earlier benchmarks' inserts) finish before timing queries."""
    deadline = time.monotonic() + timeout_s
    while ch.query("SELECT count() FROM system.merges").result_rows[0][0] and time.monotonic() < deadline:
        time.sleep(1)


def measure_funnel(tmp: Path, clickhouse, events: int) -> dict:
    database = "bench_funnel"
    tracker = harness.start_tracker(tmp / "funnel-tracker", f"{clickhouse.url}/{database}", 1, tmp / "funnel-tracker.log")
    try:
        ch = connect(Target("127.0.0.1", clickhouse.port, database=database))
        for i in range(SITES):
            add_site(ch, Site(f"shop{i}", timezone="UTC"))
        _, token = create_token(ch, "shop0", "bench")
        started = time.perf_counter()
        ch.command(GENERATE, parameters={"sites": SITES, "days": DAYS, "events": events})
        generate_s = time.perf_counter() - started
        ch.command("OPTIMIZE TABLE events FINAL")  # as after ClickHouse's background merges
        stored = ch.query("SELECT count() FROM events").result_rows[0][0]

        now = datetime.now(timezone.utc).replace(microsecond=0)
        start, end = now - timedelta(days=DAYS), now + timedelta(seconds=1)
        http = httpx.Client(base_url=tracker.url, headers={"authorization": f"Bearer {token}"}, timeout=120)
        funnel_params = [("from", start.isoformat()), ("to", end.isoformat()), ("window", "1d"), *[("step", s) for s in STEPS]]

        def endpoint(path: str, params) -> None:
            r = http.get(f"/api/v1/sites/shop0{path}", params=params)
            assert r.status_code == 200, r.text

        deadline = time.monotonic() + 30  # the tracker reloads the site list every few seconds
        while http.get("/api/v1/sites/shop0/funnel").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.5)

        raw = {"site": "shop0", "start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}
        api_steps = http.get("/api/v1/sites/shop0/funnel", params=funnel_params).json()["steps"]
        raw_levels = dict(ch.query(RAW_FUNNEL, parameters=raw).result_rows)
        # Both must agree before their times mean anything: units reaching step k = levels >= k.
        for k, step in enumerate(api_steps, start=1):
            assert step["count"] == sum(n for level, n in raw_levels.items() if level >= k), (k, step, raw_levels)

        wait_for_merges(ch)
        endpoint_ms, raw_ms = best_ms(lambda: endpoint("/funnel", funnel_params), lambda: ch.query(RAW_FUNNEL, parameters=raw))
        raw_all_sites_ms, site_30d_endpoint_ms, abandoned_ms = best_ms(
            lambda: ch.query(RAW_FUNNEL_ALL_SITES, parameters=raw),
            lambda: endpoint("/funnel", []),
            lambda: endpoint("/carts/abandoned", [("from", start.isoformat()), ("to", end.isoformat())]),
        )
        result = {
            "events": stored,
            "generate_s": generate_s,
            "site_events": ch.query("SELECT count() FROM events WHERE site = 'shop0'").result_rows[0][0],
            "endpoint_ms": endpoint_ms,
            "raw_ms": raw_ms,
            "raw_all_sites_ms": raw_all_sites_ms,
            "site_30d_endpoint_ms": site_30d_endpoint_ms,
            "abandoned_ms": abandoned_ms,
        }
        return result
    finally:
        tracker.stop()
