"""Cohorts from the purchases table vs the old SQL over all events, on generated events: rows read
(the deterministic figure) and best time, same run, same answers.

    python bench/cohorts.py [--events 10000000]

Standalone it generates the events of bench/funnel.py (10 sites, 60 days) in an embedded
ClickHouse of its own; `make bench` (bench/run.py) measures it on the funnel benchmark's events.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.funnel import DAYS, GENERATE, SITES, best_ms, wait_for_merges  # noqa: E402
from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.clickhouse.migrate import migrate  # noqa: E402
from tracker.queries.cohorts import ALL_EVENTS_SOURCE, ORDERS_SOURCE, CohortQuery, build_sql, default_start  # noqa: E402
from tracker.queries.timerange import TimeRange  # noqa: E402

# The whole answer before the ClickHouse response starts, so its summary counts every row read.
SETTINGS = {"wait_end_of_query": 1}


def measure_cohorts(ch, site: str = "shop0") -> dict:
    """The cohorts query of `site` (12 months up to now, monthly, churn after 90 days) both ways."""
    now = datetime.now(timezone.utc)
    q = CohortQuery(site, TimeRange(default_start(now, "UTC", "month"), now, "UTC"), "month", 90 * 86400, now)
    runs = {}
    for name, source in (("purchases", ORDERS_SOURCE), ("all_events", ALL_EVENTS_SOURCE)):
        sql, params = build_sql(q, source)
        result = ch.query(sql, parameters=params, settings=SETTINGS)
        runs[name] = (sql, params, result.result_rows, int(result.summary["read_rows"]))
    assert runs["purchases"][2] == runs["all_events"][2], "the two SQL versions disagree"
    wait_for_merges(ch)
    new_ms, old_ms = best_ms(*(lambda r=r: ch.query(r[0], parameters=r[1]) for r in runs.values()))
    return {
        "site_events": ch.query("SELECT count() FROM events WHERE site = {s:String}", parameters={"s": site}).result_rows[0][0],
        "site_purchases": ch.query("SELECT count() FROM purchases WHERE site = {s:String}", parameters={"s": site}).result_rows[0][0],
        "rows": len(runs["purchases"][2]),
        "rows_read": runs["purchases"][3],
        "old_rows_read": runs["all_events"][3],
        "ms": new_ms,
        "old_ms": old_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="funnelhouse-cohorts-") as tmp:
        server = embedded.start(Path(tmp) / "clickhouse")
        try:
            target = Target("127.0.0.1", server.port, database="bench_cohorts")
            migrate(target)
            ch = connect(target)
            ch.command(GENERATE, parameters={"sites": SITES, "days": DAYS, "events": args.events})
            ch.command("OPTIMIZE TABLE events FINAL")
            r = measure_cohorts(ch)
        finally:
            server.stop()
    print(f"{args.events:,} events, {SITES} sites over {DAYS} days; site shop0: {r['site_events']:,} events, "
          f"{r['site_purchases']:,} purchase events; {r['rows']} cohort rows, the same both ways")
    print(f"rows read: {r['rows_read']:,} (purchases table) vs {r['old_rows_read']:,} (all events), "
          f"ratio {r['rows_read'] / max(r['old_rows_read'], 1):.4f}")
    print(f"best time: {r['ms']:.0f} ms vs {r['old_ms']:.0f} ms, ratio {r['ms'] / max(r['old_ms'], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
