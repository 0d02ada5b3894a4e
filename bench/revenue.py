"""Cohort and product query times on generated data (not part of `make bench`: run it by hand).

    .venv/bin/python bench/revenue.py [--customers 250000] [--events 5000000]

One site: `customers` customers with 1 to 8 orders each over the last 365 days (a third of them
guests without customer_id, two currencies, 1 to 3 item lines per order from 2,000 items), plus
`events` view_item / add_to_cart events over the last 30 days. The queries run through the same
QueryRunner as the API; each time is the best of 3 after a warm-up. Guests' orders carry a new
visitor id each (as cookieless ids on different days), so there are more customers than
`customers`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.clickhouse.migrate import migrate  # noqa: E402
from tracker.queries.carts import CartQuery, run_carts  # noqa: E402
from tracker.queries.cohorts import CohortQuery, run_cohorts  # noqa: E402
from tracker.queries.products import ProductQuery, run_abandoned, run_products  # noqa: E402
from tracker.queries.runner import QueryRunner  # noqa: E402
from tracker.queries.timerange import TimeRange  # noqa: E402

ORDERS = """
INSERT INTO events (site, ts, received_at, event_id, name, visitor_id, customer_id, transaction_id, value, currency,
                    `items.item_id`, `items.item_name`, `items.item_category`, `items.price`, `items.quantity`)
SELECT 'shop', ts, ts, generateUUIDv4(number), 'purchase',
    cityHash64(customer, n) AS visitor_id,
    if(customer % 3 = 0, '', concat('c-', toString(customer))),
    concat('T', toString(number)),
    toDecimal64(10 + number % 90, 4), if(customer % 5 = 0, 'USD', 'EUR'),
    arrayMap(i -> concat('sku-', toString((number + i * 7) % 2000)), range(lines)),
    arrayMap(i -> 'Item', range(lines)), arrayMap(i -> '', range(lines)),
    arrayMap(i -> toDecimal64(5 + i, 4), range(lines)), arrayMap(i -> toUInt32(1 + i), range(lines))
FROM
(
    SELECT number, intDiv(number, 8) AS customer, number % 8 AS n, 1 + number % 3 AS lines,
        toDateTime64(now() - 365 * 86400 + cityHash64(customer) % (300 * 86400) + n * (cityHash64(customer, 2) % (20 * 86400)), 3) AS ts
    FROM numbers({customers:UInt64} * 8)
    WHERE n < 1 + cityHash64(intDiv(number, 8), 1) % 8
)
"""

BROWSING = """
INSERT INTO events (site, ts, received_at, event_id, name, visitor_id, currency,
                    `items.item_id`, `items.item_name`, `items.item_category`, `items.price`, `items.quantity`)
SELECT 'shop', ts, ts, generateUUIDv4(number), if(number % 4 = 0, 'add_to_cart', 'view_item'),
    intDiv(number, 10), 'EUR', [concat('sku-', toString(cityHash64(number) % 2000))], ['Item'], [''], [toDecimal64(9.5, 4)], [toUInt32(1)]
FROM (SELECT number, toDateTime64(now() - 30 * 86400 + number % (30 * 86400 - 7200), 3) AS ts FROM numbers({events:UInt64}))
"""


def best_s(work, repeat: int = 3) -> float:
    work()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        spent.append(time.perf_counter() - started)
    return min(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=250_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clickhouse = embedded.start(Path(tmp) / "clickhouse")
        try:
            target = Target("127.0.0.1", clickhouse.port, database="bench_revenue")
            connect(target, database=False).command("CREATE DATABASE IF NOT EXISTS bench_revenue")
            migrate(target)
            ch = connect(target)
            ch.command(ORDERS, parameters={"customers": args.customers})
            ch.command(BROWSING, parameters={"events": args.events})
            ch.command("OPTIMIZE TABLE events FINAL")
            orders = ch.query("SELECT count() FROM events WHERE name = 'purchase'").result_rows[0][0]
            runner = QueryRunner(target, max_execution_s=300, max_memory_bytes=8 << 30)
            now = datetime.now(timezone.utc)
            year = TimeRange(now - timedelta(days=365), now, "UTC")
            month = TimeRange(now - timedelta(days=30), now, "UTC")
            abandoned = CartQuery("shop", "abandoned", month, 3600, 1800, 14, now, limit=50)
            cohorts = run_cohorts(runner, CohortQuery("shop", year, "month", 90 * 86400, now))["cohorts"]
            customers = sum(c["customers"] for c in cohorts)
            rows = [
                ("cohorts, 12+ months", best_s(lambda: run_cohorts(runner, CohortQuery("shop", year, "month", 90 * 86400, now)))),
                ("cohorts, 53 weeks", best_s(lambda: run_cohorts(runner, CohortQuery("shop", year, "week", 90 * 86400, now)))),
                ("products, 30 days", best_s(lambda: run_products(runner, ProductQuery("shop", month)))),
                ("abandoned items, 30 days", best_s(lambda: run_abandoned(runner, abandoned))),
                ("  /carts/abandoned, same carts", best_s(lambda: run_carts(runner, abandoned))),  # the view both read
            ]
            print(f"{orders:,} orders of {customers:,} customers over 365 days; {args.events:,} view/add events over 30 days")
            for name, seconds in rows:
                print(f"  {name:<28} {seconds * 1000:8.0f} ms")
        finally:
            clickhouse.stop()


if __name__ == "__main__":
    main()
