"""Site statistics per day, week or month (in the site's time zone): visitors, sessions, page
views, orders, revenue and average order value per currency, and the conversion rate.

Visitors, sessions and page views count in the period where the session started (sessions
follow TRACKER_SESSION_GAP_MINUTES); orders and revenue in the period of the order. The
conversion rate is the share of sessions with at least one purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.queries import segments
from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange, bucket_sql


@dataclass(frozen=True)
class StatsQuery:
    site: str
    range: TimeRange
    interval: str
    gap_s: int
    segment: segments.Segment = ()  # `filter`: only the selected sessions and their orders count


def build_sql(q: StatsQuery) -> tuple[str, str, dict]:
    params = {"site": q.site, "start": q.range.start, "end": q.range.end, "gap_s": q.gap_s, "tz": q.range.timezone}
    # The range's sessions, read from kept_sessions where it is current (schema/views/25_kept_sessions.sql).
    session_rows = "kept_session_bounds(site = {site:String}, from = {start:DateTime64(3)}, to = {end:DateTime64(3)}, gap_s = {gap_s:UInt32})"
    order_rows = "orders(site = {site:String}, from = {start:DateTime64(3)}, to = {end:DateTime64(3)})"
    if q.segment:
        session_rows += f" WHERE (visitor_id, toUInt32(started_at)) IN ({segments.session_keys_sql(q.segment, params)})"
        order_rows = (
            f"(SELECT o.* FROM {order_rows} AS o INNER JOIN ({segments.spans_sql(q.segment, params)}) AS m"
            f" ON o.visitor_id = m.visitor_id WHERE {segments.in_spans('o.ts', 'm.spans')})"
        )
    sessions = f"""
    SELECT grouping(period) AS overall, {bucket_sql('started_at', q.interval)} AS period,
        uniqExact(visitor_id) AS visitors, count() AS sessions, sum(page_views) AS page_views,
        countIf(purchase > 0) AS converted_sessions
    FROM {session_rows}
    GROUP BY GROUPING SETS ((), (period))"""
    orders = f"""
    SELECT grouping(period) AS overall, {bucket_sql('ts', q.interval)} AS period, currency,
        count() AS orders, sum(ifNull(value, toDecimal64(0, 4))) AS revenue
    FROM {order_rows}
    GROUP BY GROUPING SETS ((currency), (period, currency))"""
    return sessions, orders, params


def periods(r: TimeRange, interval: str) -> list[date]:
    """Every period that overlaps the range, so charts get zeros instead of gaps."""
    tz = ZoneInfo(r.timezone)
    first = r.start.astimezone(tz).date()
    last = (r.end.astimezone(tz) - timedelta(microseconds=1)).date()
    if interval == "week":
        first -= timedelta(days=first.weekday())
    elif interval == "month":
        first = first.replace(day=1)
    out, current = [], first
    while current <= last:
        out.append(current)
        if interval == "day":
            current += timedelta(days=1)
        elif interval == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def revenue_lines(revenue: dict[str, tuple[int, Decimal]]) -> list[dict]:
    """Per currency (orders, revenue) as answer lines. Amounts in different currencies are never
    added up; orders sent without a currency count as orders but have no revenue line."""
    return [
        {"currency": c, "orders": n, "revenue": float(v), "average_order_value": float(round(v / n, 4)) if n else None}
        for c, (n, v) in sorted(revenue.items())
        if c
    ]


def _figures(traffic: dict | None, revenue: dict[str, tuple[int, Decimal]]) -> dict:
    traffic = traffic or {"visitors": 0, "sessions": 0, "page_views": 0, "converted_sessions": 0}
    orders = sum(n for n, _ in revenue.values())
    sessions = traffic["sessions"]
    return {
        "visitors": traffic["visitors"],
        "sessions": sessions,
        "page_views": traffic["page_views"],
        "orders": orders,
        "revenue": revenue_lines(revenue),
        "conversion_rate": round(100.0 * traffic["converted_sessions"] / sessions, 2) if sessions else None,
    }


def run_stats(runner: QueryRunner, q: StatsQuery) -> dict:
    sessions_sql, orders_sql, params = build_sql(q)
    sessions, orders = runner.run_pair(sessions_sql, orders_sql, params)
    traffic: dict = {}
    for row in sessions.dicts():
        traffic["total" if row["overall"] else row["period"]] = row
    revenue: dict = {}
    for row in orders.dicts():
        key = "total" if row["overall"] else row["period"]
        revenue.setdefault(key, {})[row["currency"]] = (row["orders"], row["revenue"])
    series = [{"period": p.isoformat(), **_figures(traffic.get(p), revenue.get(p, {}))} for p in periods(q.range, q.interval)]
    return {"interval": q.interval, "totals": _figures(traffic.get("total"), revenue.get("total", {})), "series": series}
