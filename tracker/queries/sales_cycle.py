"""Sales-cycle time: how long buyers take from their first visit (or first view_item) to the purchase,
overall and per channel: median, 90th percentile and a histogram with fixed buckets.

Semantics (docs/queries.md has the user's version):
  * One cycle per order of the range (the orders of /stats and /channels), credited to a channel
    as /channels credits it (`by`, `attribution`, `lookback`).
  * The cycle ends at the order and starts after the buyer's previous order (so a repeat purchase
    measures its own decision, not the time since the very first visit), within `lookback`:
      visit:     the start of the buyer's earliest visit that began after the previous order and
                 at most `lookback` before this one; an order placed in the same visit as the
                 previous order counts from that visit's start;
      view_item: the buyer's earliest view_item after the previous order and at most `lookback`
                 before this one; orders without one have no cycle (`orders_without_start`).
  * Percentiles interpolate linearly between orders, like the funnel's times.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.queries import segments
from tracker.queries.channels import ChannelQuery, attributed_orders_sql
from tracker.queries.runner import QueryRunner

FROM_EVENTS = ("visit", "view_item")
QUANTILES = (0.5, 0.9)
# Histogram buckets: (label, lower bound in seconds); each runs to the next one's bound.
BUCKETS = (
    ("0-10m", 0),
    ("10m-1h", 600),
    ("1h-1d", 3600),
    ("1d-3d", 86400),
    ("3d-7d", 3 * 86400),
    ("7d-14d", 7 * 86400),
    ("14d-30d", 14 * 86400),
    ("30d+", 30 * 86400),
)


@dataclass(frozen=True)
class SalesCycleQuery:
    channel: ChannelQuery  # range, segment, and how orders are credited to channels
    from_event: str = "visit"

    def __post_init__(self) -> None:
        assert self.from_event in FROM_EVENTS


def build_sql(q: SalesCycleQuery, orders: str | None = None) -> tuple[str, dict]:
    """orders: in place of attributed_orders_sql(q.channel), rows of the same columns (the owner's
    page shares them with its device lists: tracker/queries/page_visits.py)."""
    c = q.channel
    params = {**c.params(), "bounds": [bound for _, bound in BUCKETS]}
    order_rows = "orders(site = {site:String}, from = {lookback_start:DateTime64(3)}, to = {end:DateTime64(3)})"
    # The buyer's previous order in milliseconds (0: none): any order since lookback_start, also
    # one outside the filter: a repeat purchase is one whatever the segment.
    previous = "arrayMax(arrayFilter(t -> t < order_ms, arrayPushFront(p.order_times, 0)))"
    joins = f"""LEFT JOIN
        (
            SELECT visitor_id, groupArray(toUnixTimestamp64Milli(ts)) AS order_times FROM {order_rows} GROUP BY visitor_id
        ) AS p ON a.visitor_id = p.visitor_id"""
    if q.from_event == "visit":
        # Visits start in whole seconds; the order's own visit is the last one (see channels).
        start = f"""arrayFirst(v -> toInt64(v.1) * 1000 > {previous} AND v.1 + {{lookback_s:UInt32}} >= order_sec, visits) AS first_visit,
            if(empty(visits), NULL, 1000 * toInt64(if(first_visit.1 > 0, first_visit.1, visits[-1].1)))"""
    else:
        start = f"""arrayFirst(t -> t > {previous} AND t <= order_ms AND t + 1000 * {{lookback_s:UInt32}} >= order_ms, w.view_times) AS first_view,
            if(first_view = 0, NULL, first_view)"""
        joins += f"""
        LEFT JOIN
        (
            SELECT visitor_id, arraySort(groupArray(toUnixTimestamp64Milli(ts))) AS view_times
            FROM {segments.events_sql(c.segment, params, start="lookback_start")}
            WHERE site = {{site:String}} AND ts >= {{lookback_start:DateTime64(3)}} AND ts < {{end:DateTime64(3)}} AND name = 'view_item'
            GROUP BY visitor_id
        ) AS w ON a.visitor_id = w.visitor_id"""
    quantiles = ", ".join(map(str, QUANTILES))
    sql = f"""
    SELECT grouping(channel) AS overall, channel, count() AS orders, countIf(cycle_s IS NULL) AS without_start,
        quantilesExactInclusiveIf({quantiles})(assumeNotNull(cycle_s), cycle_s IS NOT NULL) AS times,
        sumMapIf([arrayCount(b -> b <= assumeNotNull(cycle_s), {{bounds:Array(UInt32)}})], [toUInt64(1)], cycle_s IS NOT NULL) AS histogram
    FROM
    (
        SELECT a.channel AS channel, toUnixTimestamp64Milli(a.ts) AS order_ms, toUInt32(toDateTime(a.ts)) AS order_sec, a.visits AS visits,
            {start} AS start_ms,
            (order_ms - start_ms) / 1000 AS cycle_s
        FROM {orders or "(" + attributed_orders_sql(c, params) + ")"} AS a
        {joins}
    )
    GROUP BY GROUPING SETS ((), (channel))
    ORDER BY overall DESC, orders - without_start DESC, without_start DESC, channel"""
    return sql, params


def _seconds(value: float) -> float | None:
    return None if value != value else round(float(value), 3)  # NaN: no order had a start


def _figures(row: dict | None) -> dict:
    if row is None:
        row = {"orders": 0, "without_start": 0, "times": [float("nan")] * len(QUANTILES), "histogram": ([], [])}
    counts = dict(zip(*row["histogram"]))
    buckets = [
        {"bucket": label, "from_s": low, "to_s": BUCKETS[i + 1][1] if i + 1 < len(BUCKETS) else None, "orders": counts.get(i + 1, 0)}
        for i, (label, low) in enumerate(BUCKETS)
    ]
    return {
        "orders": row["orders"] - row["without_start"],
        "orders_without_start": row["without_start"],
        "median_time_s": _seconds(row["times"][0]),
        "p90_time_s": _seconds(row["times"][1]),
        "histogram": buckets,
    }


def run_sales_cycle(runner: QueryRunner, q: SalesCycleQuery) -> dict:
    sql, params = build_sql(q)
    return sales_cycle_answer(q, runner.run(sql, params).dicts())


def sort_key(row: dict) -> tuple:
    """build_sql's ORDER BY: the totals first, then most orders with a start, most without, by name."""
    return -row["overall"], -(row["orders"] - row["without_start"]), -row["without_start"], row["channel"]


def sales_cycle_answer(q: SalesCycleQuery, rows: list[dict]) -> dict:
    """The answer from build_sql's rows, in its order."""
    overall = next((r for r in rows if r["overall"]), None)
    groups = [r for r in rows if not r["overall"]]
    return {
        "totals": _figures(overall),
        "channels": [{"value": r["channel"], **_figures(r)} for r in groups[: q.channel.limit]],
        "channels_total": len(groups),
    }
