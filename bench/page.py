"""The owner's page (/app/SITE, every panel, the default 30-day range) on generated shop events:
its server time, each of its queries' time, CPU and rows read (system.query_log), next to a
baseline from the same run (the stats query alone, as the API runs it).

The events are generated inside ClickHouse (INSERT ... SELECT from numbers()): 20 events per
visitor over 45 days and 4 sites (shop0 has half the visitors), each visitor going through the
shop as far as a hash of its id says: landing and category pages, product views, adds to cart,
the checkout steps (shop2's checkout sends no begin_checkout, as many do), a purchase. A third of
the visitors come back 1-2 days later for the second half of their events (a new visit, from
another source), so there are returning visitors, recovered carts and multi-visit sales cycles.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from bench import harness
from bench.funnel import wait_for_merges
from tracker import kept_sessions
from tracker.clickhouse.client import Target, connect
from tracker.owner.session import COOKIE
from tracker.sites import Site, add_site
from tracker.tokens import create_token

SITES = 4
DAYS = 45
DATABASE = "bench_page"

GENERATE = """
INSERT INTO events (site, ts, received_at, event_id, name, visitor_id, customer_id, url, hostname, path, source, medium, campaign,
                    device, browser, os, transaction_id, value, currency, `items.item_id`, `items.item_name`,
                    `items.item_category`, `items.price`, `items.quantity`)
SELECT
    if(visitor % 2 = 0, 'shop0', concat('shop', toString(1 + visitor % 3))) AS site,
    toDateTime64(now() - {days:UInt32} * 86400 + cityHash64(visitor) % (({days:UInt32} - 3) * 86400) + k * 40
                 + if(returning AND k >= 10, 86400 + cityHash64(visitor, 3) % 86400, 0), 3) AS ts,
    ts AS received_at,
    generateUUIDv4(number) AS event_id,
    multiIf(level > stage, 'page_view',
            level = 1, 'page_view',
            level = 2, if(k % 4 = 3, 'page_view', 'view_item'),
            level = 3, ['add_to_cart', 'view_cart', 'add_to_cart', 'page_view'][1 + k % 4],
            level = 4, [if(site = 'shop2', 'page_view', 'begin_checkout'), 'add_shipping_info', 'add_payment_info', 'page_view'][1 + k % 4],
            k % 4 = 0, 'purchase', 'page_view') AS name,
    visitor AS visitor_id,
    if(stage = 5, concat('C', toString(visitor % 20000)), '') AS customer_id,
    concat('https://', site, '.example', path) AS url,
    concat(site, '.example') AS hostname,
    multiIf(name = 'view_item', concat('/products/', item), name IN ('add_to_cart', 'view_cart'), '/cart',
            name IN ('begin_checkout', 'add_shipping_info', 'add_payment_info'), '/checkout', name = 'purchase', '/thanks',
            ['/', '/category/shoes', '/category/shirts', '/sale', concat('/blog/post-', toString(visitor % 40)),
             concat('/products/', item)][1 + cityHash64(visitor, k) % 6]) AS path,
    ['google', 'direct', 'newsletter', 'facebook', 'instagram', 'bing'][1 + (visitor + (returning AND k >= 10)) % 6] AS source,
    ['organic', 'none', 'email', 'social', 'paid', 'organic'][1 + (visitor + (returning AND k >= 10)) % 6] AS medium,
    if(visitor % 6 IN (2, 4), concat('spring-', toString(visitor % 3)), '') AS campaign,
    ['desktop', 'mobile', 'mobile', 'tablet'][1 + cityHash64(visitor, 4) % 4] AS device,
    ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet'][1 + cityHash64(visitor, 5) % 5] AS browser,
    ['Windows', 'macOS', 'iOS', 'Android', 'Linux'][1 + cityHash64(visitor, 6) % 5] AS os,
    if(name = 'purchase', concat('T', toString(visitor)), '') AS transaction_id,
    if(name IN ('add_to_cart', 'purchase'), toDecimal64(price * quantity, 4), NULL) AS value,
    if(name IN ('add_to_cart', 'purchase', 'view_item'), 'EUR', '') AS currency,
    if(name IN ('view_item', 'add_to_cart', 'purchase'), [item], []) AS `items.item_id`,
    if(name IN ('view_item', 'add_to_cart', 'purchase'), [concat('Product ', item)], []) AS `items.item_name`,
    if(name IN ('view_item', 'add_to_cart', 'purchase'), [['shoes', 'shirts', 'bags'][1 + cityHash64(item) % 3]], []) AS `items.item_category`,
    if(name IN ('view_item', 'add_to_cart', 'purchase'), [toDecimal64(price, 4)], []) AS `items.price`,
    if(name IN ('view_item', 'add_to_cart', 'purchase'), [quantity], []) AS `items.quantity`
FROM
(
    SELECT number, intDiv(number, 20) AS visitor, number % 20 AS k, 1 + intDiv(k % 10, 2) AS level,
           cityHash64(visitor, 2) % 3 = 0 AS returning,
           concat('sku-', toString(cityHash64(visitor, 7) % 400)) AS item,
           5 + cityHash64(item) % 95 AS price, toUInt32(1 + visitor % 2) AS quantity,
           multiIf(cityHash64(visitor, 1) % 100 < 45, 1, cityHash64(visitor, 1) % 100 < 72, 2,
                   cityHash64(visitor, 1) % 100 < 86, 3, cityHash64(visitor, 1) % 100 < 93, 4, 5) AS stage
    FROM numbers({events:UInt64})
)
"""

# The embedded ClickHouse keeps no query log unless told to (embedded.start's extra_config).
QUERY_LOG_CONFIG = ("<query_log><database>system</database><table>query_log</table>"
                    "<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>")

# What the page's queries did in ClickHouse, from query_log (log_comment: the endpoint that ran it,
# set by tracker/queries/runner.py; '(other)': the saved funnels, share links and sites read).
QUERY_LOG = """
SELECT if(log_comment = '', '(other)', log_comment), query_duration_ms, ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds'] AS cpu_us,
       read_rows, memory_usage
FROM system.query_log
WHERE type = 'QueryFinish' AND is_initial_query AND current_database = {database:String}
    AND event_time_microseconds >= {start:DateTime64(6)} AND event_time_microseconds <= {end:DateTime64(6)}
    AND query_kind = 'Select' AND query NOT LIKE '%system.query_log%'
"""


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else (values[0] if values else 0.0)


def measure_page(tmp: Path, clickhouse, events: int, repeat: int = 7, extra_env: dict[str, str] | None = None) -> dict:
    tracker = harness.start_tracker(
        tmp / "page-tracker", f"{clickhouse.url}/{DATABASE}", 1, tmp / "page-tracker.log",
        # 10M events on a loaded 2-core machine: the page must answer, not hit the API's 10 s limit.
        {"TRACKER_QUERY_MAX_EXECUTION_S": "120", **(extra_env or {})},
    )
    try:
        ch = connect(Target("127.0.0.1", clickhouse.port, database=DATABASE))
        for i in range(SITES):
            add_site(ch, Site(f"shop{i}", timezone="UTC"))
        _, token = create_token(ch, "shop0", "bench")
        stored = ch.query("SELECT count() FROM events").result_rows[0][0]
        generate_s = 0.0
        if stored < events:  # a second measure_page on the same ClickHouse reuses the events
            started = time.perf_counter()
            ch.command(GENERATE, parameters={"days": DAYS, "events": events})
            generate_s = time.perf_counter() - started
            ch.command("OPTIMIZE TABLE events FINAL")  # as after ClickHouse's background merges
            stored = ch.query("SELECT count() FROM events").result_rows[0][0]
        wait_for_merges(ch)
        # As a minute after the events arrived: the sessions kept for the panels (schema/views/25_kept_sessions.sql).
        kept_sessions.refresh_now(ch)

        http = httpx.Client(base_url=tracker.url, cookies={COOKIE: token}, headers={"authorization": f"Bearer {token}"}, timeout=300)
        deadline = time.monotonic() + 30  # the tracker reloads the site list every few seconds
        while http.get("/api/v1/sites/shop0/stats").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.5)

        def get_page() -> None:
            r = http.get("/app/shop0")
            assert r.status_code == 200 and "Abandoned" in r.text, (r.status_code, r.text[:500])

        def get_stats() -> None:
            r = http.get("/api/v1/sites/shop0/stats", params={"interval": "day"})
            assert r.status_code == 200, r.text

        get_page(), get_stats()  # warm-up: first reads come from disk
        page_ms, stats_ms, windows = [], [], []
        for _ in range(repeat):  # alternating, so a noisy moment on this shared machine hits both alike
            start = datetime.now(timezone.utc)
            started = time.perf_counter()
            get_page()
            page_ms.append((time.perf_counter() - started) * 1000)
            windows.append((start, datetime.now(timezone.utc)))
            started = time.perf_counter()
            get_stats()
            stats_ms.append((time.perf_counter() - started) * 1000)
        ch.command("SYSTEM FLUSH LOGS")
        per_query: dict[str, dict[str, list[float]]] = {}
        page_cpu_us, page_rows, page_queries = [], [], []
        for start, end in windows:
            rows = ch.query(QUERY_LOG, parameters={"database": DATABASE, "start": start.replace(tzinfo=None),
                                                    "end": end.replace(tzinfo=None)}).result_rows
            page_cpu_us.append(sum(r[2] for r in rows))
            page_rows.append(sum(r[3] for r in rows))
            page_queries.append(len(rows))
            seen: dict[str, list[float]] = {}
            for label, ms, cpu_us, read_rows, memory in rows:
                figures = seen.setdefault(label, [0, 0, 0, 0])
                figures[0], figures[1], figures[2], figures[3] = max(figures[0], ms), figures[1] + cpu_us, figures[2] + read_rows, figures[3] + 1
            for label, (ms, cpu_us, read_rows, n) in seen.items():
                entry = per_query.setdefault(label, {"ms": [], "cpu_ms": [], "read_rows": [], "queries": []})
                entry["ms"].append(ms), entry["cpu_ms"].append(cpu_us / 1000), entry["read_rows"].append(read_rows), entry["queries"].append(n)
        site_events = ch.query(
            "SELECT count() FROM events WHERE site = 'shop0' AND ts >= now() - INTERVAL 30 DAY").result_rows[0][0]
        return {
            "events": stored,
            "generate_s": generate_s,
            "site_30d_events": site_events,
            "repeat": repeat,
            "server_ms_median": _median(page_ms),
            "server_ms_p90": _p90(page_ms),
            "server_ms": page_ms,
            "stats_alone_ms_median": _median(stats_ms),
            "ratio_to_stats": _median(page_ms) / max(_median(stats_ms), 1e-9),
            "clickhouse_cpu_ms_median": _median(page_cpu_us) / 1000,
            "read_rows_median": _median(page_rows),
            "queries_median": _median(page_queries),
            # Per endpoint: its slowest query's time, and CPU and rows read summed over its queries.
            "per_query": {label: {"ms_median": _median(f["ms"]), "cpu_ms_median": _median(f["cpu_ms"]),
                                  "read_rows_median": _median(f["read_rows"]), "queries": _median(f["queries"])}
                          for label, f in sorted(per_query.items(), key=lambda item: -_median(item[1]["ms"]))},
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }
    finally:
        tracker.stop()


def table(result: dict) -> str:
    lines = [f"{'query (log_comment)':32} {'ms':>8} {'CPU ms':>8} {'rows read':>12} {'n':>3}"]
    for label, f in result["per_query"].items():
        lines.append(f"{label:32} {f['ms_median']:8.0f} {f['cpu_ms_median']:8.0f} {f['read_rows_median']:12,.0f} {f['queries']:3.0f}")
    return "\n".join(lines)


if __name__ == "__main__":  # the page alone: python -m bench.page [events] [repeat] [kept directory]
    import json
    import sys
    import tempfile

    from tracker.clickhouse import embedded

    with tempfile.TemporaryDirectory(prefix="funnelhouse-page-") as tmp:
        # A kept directory keeps its ClickHouse data: the next run reuses the generated events.
        home = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(tmp)
        server = embedded.start(home / "clickhouse", extra_config=QUERY_LOG_CONFIG)
        try:
            result = measure_page(Path(tmp), server, int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000,
                                  int(sys.argv[2]) if len(sys.argv) > 2 else 7)
        finally:
            server.stop()
    print(json.dumps({k: v for k, v in result.items() if k != "per_query"}, indent=2))
    print(table(result))
