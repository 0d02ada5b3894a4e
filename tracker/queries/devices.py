"""Devices, browsers and operating systems: per value of the visit's entry `device`, `browser` or
`os`, visitors, visits, the visits' conversion rate, and the orders placed in those visits with
their revenue per currency.

Semantics (docs/queries.md has the user's version): the figures of /channels with last-touch
attribution (an order counts for the visit it was placed in; tracker/queries/channels.py builds
the visits and the orders), plus the distinct visitors with a visit on the value. A visitor who
came on a phone and on a laptop counts under both; the totals count them once.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.queries import channels, segments
from tracker.queries.runner import QueryRunner
from tracker.queries.stats import revenue_lines
from tracker.queries.timerange import TimeRange

DIMENSIONS = ("device", "browser", "os")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class DeviceQuery:
    site: str
    range: TimeRange
    by: str = "device"
    gap_s: int = 1800
    segment: segments.Segment = ()
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        assert self.by in DIMENSIONS  # the HTTP layer validates; this guards the SQL builder

    def channel_query(self) -> channels.ChannelQuery:
        return channels.ChannelQuery(self.site, self.range, self.by, "last", gap_s=self.gap_s, segment=self.segment)


def _by_dimension(dimensions: tuple[str, ...]) -> str:
    """A visit's or order's `channel` (its entry's values of the dimensions) as one row per
    dimension: (dimension, its value)."""
    return "[" + ", ".join(f"('{d}', channel.{i})" for i, d in enumerate(dimensions, 1)) + "]"


def build_sql(q: DeviceQuery, dimensions: tuple[str, ...], orders: str | None = None) -> tuple[str, str, dict]:
    """Visitors, visits and converted visits per value (and in all), and the orders per value, as
    /channels credits them (last touch): for each of the dimensions (entry fields) in one pass over
    the events, each row naming its `dimension`. /devices asks for its `by` alone; the owner's page
    for every list it shows (tracker/queries/page_visits.py), and `orders` then names its rows of
    attributed_orders_sql (a CTE it shares with the sales cycle)."""
    channel = q.channel_query()
    params = channel.params()
    orders = orders or f"({channels.attributed_orders_sql(channel, params, columns=dimensions)})"
    traffic = f"""
    SELECT grouping(entry_value) AS overall, entry.1 AS dimension, entry.2 AS entry_value, uniqExact(visitor_id) AS visitors, count() AS sessions,
        countIf(purchased) AS converted_sessions
    FROM ({channels.visits_sql(channel, params, "start", columns=dimensions)})
    ARRAY JOIN {_by_dimension(dimensions)} AS entry
    GROUP BY GROUPING SETS ((dimension), (dimension, entry_value))"""
    orders_sql = f"""
    SELECT grouping(entry_value) AS overall, entry.1 AS dimension, entry.2 AS entry_value, currency, count() AS orders,
        sum(ifNull(value, toDecimal64(0, 4))) AS revenue
    FROM {orders}
    ARRAY JOIN {_by_dimension(dimensions)} AS entry
    GROUP BY GROUPING SETS ((dimension, currency), (dimension, entry_value, currency))"""
    return traffic, orders_sql, params


def _figures(traffic: dict | None, revenue: dict) -> dict:
    traffic = traffic or {"visitors": 0, "sessions": 0, "converted_sessions": 0}
    sessions = traffic["sessions"]
    return {
        "visitors": traffic["visitors"],
        "sessions": sessions,
        "orders": sum(n for n, _ in revenue.values()),
        "revenue": revenue_lines(revenue),
        "conversion_rate": round(100.0 * traffic["converted_sessions"] / sessions, 2) if sessions else None,
    }


def of_dimension(dimension: str, traffic_rows: list[dict], order_rows: list[dict]) -> tuple[dict, dict]:
    """One dimension's figures from build_sql's rows: traffic {value: row} and revenue
    {value: {currency: (orders, revenue)}}, key None for all values together (a value can be any
    string, even "total")."""
    traffic = {None if r["overall"] else r["entry_value"]: r for r in traffic_rows if r["dimension"] == dimension}
    revenue: dict = {}
    for r in order_rows:
        if r["dimension"] == dimension:
            revenue.setdefault(None if r["overall"] else r["entry_value"], {})[r["currency"]] = (r["orders"], r["revenue"])
    return traffic, revenue


def devices_answer(q: DeviceQuery, traffic_rows: list[dict], order_rows: list[dict]) -> dict:
    """The answer for q.by from build_sql's rows."""
    traffic, revenue = of_dimension(q.by, traffic_rows, order_rows)
    values = [{"value": v, **_figures(traffic.get(v), revenue.get(v, {}))} for v in (set(traffic) | set(revenue)) - {None}]
    # Most visitors first, then most orders, then by name: a stable order for equal values.
    values.sort(key=lambda v: (-v["visitors"], -v["orders"], v["value"]))
    return {
        "by": q.by,
        "values": values[: q.limit],
        "values_total": len(values),
        "totals": _figures(traffic.get(None), revenue.get(None, {})),
    }


def run_devices(runner: QueryRunner, q: DeviceQuery) -> dict:
    traffic_sql, orders_sql, params = build_sql(q, (q.by,))
    traffic, orders = runner.run_pair(traffic_sql, orders_sql, params)
    return devices_answer(q, traffic.dicts(), orders.dicts())
