"""Capacity figures for docs/operations.md: bytes per event on disk, ClickHouse insert rows and
query events per CPU-second, and tracker events per CPU-second.

    python bench/capacity.py [--events 1000000] [--ingest-seconds 10]

1. Realistic shop events (visitors with sessions of page views, product views, carts, checkouts
   and purchases; URLs, referrers, UTM campaigns, user-agent fields, items) are inserted into an
   embedded ClickHouse in spool-sized batches (TRACKER_FLUSH_MAX_ROWS) the way the flusher does;
   the ClickHouse process's CPU time (/proc/PID/stat) during the inserts gives rows per
   ClickHouse CPU-second. After the inserts the parts are merged (OPTIMIZE FINAL, as background
   merges would) and system.parts gives bytes on disk per row.
2. The tracker (1 worker) takes batches of 20 events from wrk for --ingest-seconds; events
   acknowledged per CPU-second of the worker is the ingest cost per core (ClickHouse's share is
   measured in 1.). Single-event requests too. Needs wrk (`make wrk`).
3. The query API's views (funnel, sessions, abandoned carts) over those events: events read per
   ClickHouse CPU-second.

The machine is shared and has 2 cores: CPU seconds, not wall time, are what these figures divide
by, which is steadier under noisy neighbours than rates. Results go to bench/capacity.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.clickhouse.migrate import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.events import COLUMN_NAMES  # noqa: E402

BATCH = Settings().flush_max_rows
SOURCES = [  # (referrer, utm_source, medium, weight)
    ("https://www.google.com/", "", "organic", 40), ("", "", "none", 25), ("https://www.facebook.com/", "", "social", 8),
    ("", "newsletter", "email", 10), ("https://www.bing.com/", "", "organic", 5), ("", "google", "cpc", 12),
]
BROWSERS = [("Chrome", "131", "Windows", "desktop"), ("Safari", "18", "iOS", "mobile"), ("Chrome", "131", "Android", "mobile"),
            ("Firefox", "133", "Linux", "desktop"), ("Safari", "18", "macOS", "desktop"), ("Edge", "131", "Windows", "desktop"),
            ("Samsung Internet", "27", "Android", "mobile"), ("Safari", "18", "iPadOS", "tablet")]
CATEGORIES = ["shoes", "shirts", "trousers", "jackets", "bags", "hats", "socks", "belts"]


def shop_events(n: int, days: int = 30, seed: int = 1):
    """n events of random shop visits in time order per visitor, as dicts of stored columns."""
    rng = random.Random(seed)
    now = time.time()
    made = 0
    while made < n:
        visitor = rng.getrandbits(64)
        browser = rng.choice(BROWSERS)
        customer = f"cust-{rng.randrange(10**7)}" if rng.random() < 0.2 else ""
        t = now - rng.random() * days * 86400
        for _session in range(1 + int(rng.expovariate(1.5))):
            referrer, utm, medium, _ = rng.choices(SOURCES, weights=[s[3] for s in SOURCES])[0]
            campaign = f"spring-sale-{rng.randrange(20)}" if utm else ""
            cart: list[tuple[str, str, str, float, int]] = []
            for k in range(1 + int(rng.expovariate(0.2))):
                t += rng.expovariate(1 / 40)
                roll = rng.random()
                sku = f"SKU-{rng.randrange(5000):05d}"
                item = (sku, f"Product {sku[4:]}", rng.choice(CATEGORIES), round(rng.uniform(5, 200), 2), rng.randint(1, 3))
                name, items, value, currency, transaction = "page_view", [], None, "", ""
                if roll < 0.35:
                    name, items = "view_item", [item]
                elif roll < 0.45:
                    name, items = "add_to_cart", [item]
                    cart.append(item)
                elif roll < 0.48 and cart:
                    name, items = "begin_checkout", list(cart)
                elif roll < 0.50 and cart:
                    name, items = "purchase", list(cart)
                    transaction = f"T-{rng.getrandbits(40):x}"
                    value = round(sum(p * q for *_, p, q in cart), 2)
                    cart = []
                if items:
                    currency = "EUR"
                path = f"/p/{items[0][0].lower()}" if items else rng.choice(["/", "/c/" + rng.choice(CATEGORIES), "/cart", "/search"])
                query = f"?utm_source={utm}&utm_medium={medium}&utm_campaign={campaign}" if utm and k == 0 else ""
                yield {
                    "site": "shop", "ts": round(t, 3), "received_at": round(t + rng.random(), 3),
                    "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "name": name, "visitor_id": visitor,
                    "session_id": "", "customer_id": customer if name in ("begin_checkout", "purchase") else "",
                    "url": f"https://shop.example{path}{query}", "hostname": "shop.example", "path": path,
                    "referrer": referrer if k == 0 else "", "referrer_host": referrer.split("/")[2] if referrer and k == 0 else "",
                    "source": (utm or (referrer.split("/")[2].split(".")[-2].title() if referrer else "direct")),
                    "medium": medium, "campaign": campaign, "utm_term": "", "utm_content": "",
                    "browser": browser[0], "browser_version": browser[1], "os": browser[2], "device": browser[3], "props": {},
                    "transaction_id": transaction, "value": value, "currency": currency,
                    "items.item_id": [i[0] for i in items], "items.item_name": [i[1] for i in items],
                    "items.item_category": [i[2] for i in items], "items.price": [i[3] for i in items],
                    "items.quantity": [i[4] for i in items],
                    "coupon": "", "shipping": None, "tax": None, "items.discount": [0.0 for _ in items],
                    **{f"items.{k}": ["" for _ in items] for k in ("item_category2", "item_category3", "item_category4",
                                                                  "item_category5", "item_brand", "item_variant")},
                }
                made += 1
                if made >= n:
                    return


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_storage(server: embedded.EmbeddedServer, events: int) -> dict:
    target = Target("127.0.0.1", server.port, database="capacity")
    migrate(target)
    client = connect(target)
    generated = shop_events(events)
    rows = inserted_cpu = inserted_wall = 0.0
    while rows < events:
        batch = [r for _, r in zip(range(BATCH), generated)]
        data = b"".join(orjson.dumps([r[c] for c in COLUMN_NAMES]) + b"\n" for r in batch)
        cpu_before, wall_before = cpu_s(server.process.pid), time.perf_counter()
        client.raw_insert("events", column_names=COLUMN_NAMES, insert_block=data, fmt="JSONCompactEachRow",
                          settings={"insert_deduplication_token": f"capacity-{rows:.0f}"})
        inserted_wall += time.perf_counter() - wall_before
        inserted_cpu += cpu_s(server.process.pid) - cpu_before
        rows += len(batch)
    parts = "SELECT sum(rows), sum(bytes_on_disk), count() FROM system.parts WHERE database = 'capacity' AND table = 'events' AND active"
    before = client.query(parts).result_rows[0]
    client.command("OPTIMIZE TABLE events FINAL")
    after = client.query(parts).result_rows[0]
    columns = client.query(
        "SELECT name, sum(data_compressed_bytes) FROM system.columns WHERE database = 'capacity' AND table = 'events'"
        " GROUP BY name ORDER BY 2 DESC LIMIT 6").result_rows
    return {
        "rows": after[0], "batch_rows": BATCH,
        "bytes_per_event_before_merges": before[1] / before[0], "parts_before_merges": before[2],
        "bytes_per_event": after[1] / after[0],
        "biggest_columns_bytes_per_event": {name: size / after[0] for name, size in columns},
        "insert_rows_per_clickhouse_cpu_s": rows / inserted_cpu,
        "insert_rows_per_wall_s": rows / inserted_wall,
    }


QUERIES = {  # what the query API runs, over the whole 30 days of the generated site
    "funnel (funnel_stages, per visitor)": "SELECT stage_level, count() FROM funnel_stages(site = 'shop', from = {from:DateTime64(3)},"
    " to = {to:DateTime64(3)}, window_s = 86400, gap_s = 0) GROUP BY stage_level",
    "sessions (session_bounds)": "SELECT count(), sum(page_views) FROM session_bounds(site = 'shop', from = {from:DateTime64(3)},"
    " to = {to:DateTime64(3)}, gap_s = 1800)",
    "abandoned carts": "SELECT count(), sum(value) FROM abandoned_carts(site = 'shop', from = {from:DateTime64(3)},"
    " to = {to:DateTime64(3)}, gap_s = 1800, idle_s = 3600, at = {to:DateTime64(3)}, visitors = [], active_from = {from:DateTime64(3)})",
}


def measure_queries(server: embedded.EmbeddedServer) -> dict:
    """Events read per ClickHouse CPU-second by the query API's views (best of 3 runs each)."""
    client = connect(Target("127.0.0.1", server.port, database="capacity"))
    rows = client.query("SELECT count() FROM events").result_rows[0][0]
    span = {"from": datetime.now(timezone.utc) - timedelta(days=31), "to": datetime.now(timezone.utc)}
    out = {}
    for label, sql in QUERIES.items():
        best_cpu = best_wall = float("inf")
        for _ in range(3):
            cpu_before, wall_before = cpu_s(server.process.pid), time.perf_counter()
            client.query(sql, parameters=span)
            best_wall = min(best_wall, time.perf_counter() - wall_before)
            best_cpu = min(best_cpu, cpu_s(server.process.pid) - cpu_before)
        out[label] = {"events": rows, "clickhouse_cpu_s": best_cpu, "wall_s": best_wall,
                      "events_per_clickhouse_cpu_s": rows / max(best_cpu, 0.01)}
    return out


def measure_ingest(tmp: Path, server: embedded.EmbeddedServer, seconds: float) -> dict:
    """Events per CPU-second of one tracker worker: single-event requests (what browsers send) and
    batches of 20 (a shop backend or a batching client)."""
    tracker = harness.start_tracker(tmp / "tracker", f"{server.url}/capacity_ingest", 1, tmp / "tracker.log")
    out = {}
    try:
        for batch in (1, 20):
            harness.wrk(tracker.url, 2, 32, batch=batch)  # warm-up
            cpu_before, ch_before = tracker.cpu_s(), cpu_s(server.process.pid)
            run = harness.wrk(tracker.url, seconds, 32, batch=batch)
            tracker_cpu, ch_cpu = tracker.cpu_s() - cpu_before, cpu_s(server.process.pid) - ch_before
            events = (run.requests - run.non_2xx) * batch
            out[f"batch_{batch}"] = {
                "events": events, "seconds": seconds, "events_per_wall_s": events / seconds,
                "tracker_cpu_s": tracker_cpu, "events_per_tracker_cpu_s": events / tracker_cpu,
                "clickhouse_cpu_s_meanwhile": ch_cpu, "p99_ms": run.p99_ms,
            }
    finally:
        tracker.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--ingest-seconds", type=float, default=10.0)
    parser.add_argument("--skip-ingest", action="store_true", help="only the storage and insert figures (no wrk needed)")
    args = parser.parse_args()
    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="funnelhouse-capacity-") as tmp:
        server = embedded.start(Path(tmp) / "clickhouse")
        try:
            results["storage"] = measure_storage(server, args.events)
            print(json.dumps(results["storage"], indent=2), flush=True)
            results["queries"] = measure_queries(server)
            print(json.dumps(results["queries"], indent=2), flush=True)
            if not args.skip_ingest:
                results["ingest"] = measure_ingest(Path(tmp), server, args.ingest_seconds)
                print(json.dumps(results["ingest"], indent=2), flush=True)
        finally:
            server.stop()
    (Path(__file__).parent / "capacity.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
