"""What one webhook scan costs ClickHouse: rows read per scan (the deterministic figure) and CPU time
(noisy on a shared machine), full window vs incremental, on a seeded history.

    python bench/webhook_scan.py [--events 1000000] [--days 14] [--scans 6]

One site, visitors of 20 events each spread over --days ending now, a share of them leaving carts
(the generator of bench/funnel.py). A webhook with a 1 h idle. The scans are run as the sender runs
them, TRACKER_WEBHOOK_INTERVAL_S (30 s) apart in simulated time: the first is a full scan, the
following ones incremental; the same scans are also run with the full window for comparison.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import query_cost  # noqa: E402
from bench.funnel import GENERATE, wait_for_merges  # noqa: E402
from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.clickhouse.migrate import migrate  # noqa: E402
from tracker.webhooks import outbox, scan  # noqa: E402
from tracker.webhooks.registry import Webhook  # noqa: E402

INTERVAL_S = 30
HORIZON_S = 24 * 3600


def run(events: int, days: int, scans: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="funnelhouse-scan-") as tmp:
        server = embedded.start(Path(tmp) / "clickhouse", extra_config=query_cost.QUERY_LOG)
        try:
            target = Target("127.0.0.1", server.port, database="bench_scan")
            migrate(target)
            ch = connect(target)
            ch.command(GENERATE.replace("concat('shop', toString(visitor % {sites:UInt32}))", "'shop'"),
                       parameters={"sites": 1, "days": days, "events": events})
            ch.command("OPTIMIZE TABLE events FINAL")
            wait_for_merges(ch)
            now = datetime.now(timezone.utc)
            hook = Webhook("bench", "shop", "http://127.0.0.1:9/", 3600, now - timedelta(days=30), "whsec_x")
            figures = {"events": events, "days": days, "scans": scans, "full": [], "incremental": []}
            # The steady state: every cart abandoned within the horizon so far is in the outbox.
            while True:
                queued = scan.new_notices(ch, hook, scan.ScanWindow(now, HORIZON_S, 14, 1800, 500))
                for notice in queued:
                    outbox.add_notice(ch, notice, now)
                if len(queued) < 500:
                    break
            after = scan.Scanned(scan.idle_end(hook, scan.ScanWindow(now, HORIZON_S, 14, 1800, 500)), now)
            for i in range(1, scans + 1):
                at = now + timedelta(seconds=i * INTERVAL_S)
                window = scan.ScanWindow(at, HORIZON_S, 14, 1800, 500)
                found = {}
                for kind in ("full", "incremental"):
                    comment = query_cost.tag()
                    found[kind] = scan.new_notices(ch, hook, window, settings={"log_comment": comment},
                                                   after=after if kind == "incremental" else None)
                    spent = query_cost.cost(ch, comment)
                    figures[kind].append({"rows_read": spent.rows_read, "cpu_s": spent.cpu_s, "carts": len(found[kind])})
                # Both scans must find the same new carts before their costs mean anything.
                assert sorted(n.idempotency_key for n in found["full"]) == sorted(n.idempotency_key for n in found["incremental"]), \
                    (i, len(found["full"]), len(found["incremental"]))
                for notice in found["full"]:
                    outbox.add_notice(ch, notice, at)
                after = scan.Scanned(scan.idle_end(hook, window), at)
            return figures
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--scans", type=int, default=6)
    args = parser.parse_args()
    figures = run(args.events, args.days, args.scans)
    print(f"{args.events:,} events over {args.days} days, one site, a webhook with a 1 h idle, scans {INTERVAL_S} s apart")
    print(f"{'scan':>4} {'full rows read':>15} {'incremental':>12} {'ratio':>7} {'full CPU s':>10} {'incr CPU s':>10} {'carts':>6}")
    for i, (full, incremental) in enumerate(zip(figures["full"], figures["incremental"]), start=1):
        ratio = incremental["rows_read"] / max(full["rows_read"], 1)
        print(f"{i:>4} {full['rows_read']:>15,} {incremental['rows_read']:>12,} {ratio:>7.3f} {full['cpu_s']:>10.2f}"
              f" {incremental['cpu_s']:>10.2f} {full['carts']:>3}/{incremental['carts']:<3}")
    full = sum(f["rows_read"] for f in figures["full"]) / len(figures["full"])
    incremental = sum(f["rows_read"] for f in figures["incremental"]) / len(figures["incremental"])
    print(f"mean rows read per scan: full {full:,.0f}, incremental {incremental:,.0f}, ratio {incremental / max(full, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
