"""Sessions, orders and revenue per entry source over a date range, from the traffic rollup
(schema/views/70_traffic_rollup.sql, view daily_traffic).

The pages' channels table reads this until the channels query (attribution, medium, campaign)
exists; it is a stand-in with a plain meaning: sessions by the source they entered from, and
orders and revenue under the source of the session they belong to. The rollup is recomputed
every 5 minutes, so the newest minutes may be missing; its days follow the site's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange

SQL = """
SELECT source, sum(sessions) AS sessions, sum(orders) AS orders, sumMap(revenue) AS revenue
FROM daily_traffic(site = {site:String}, from = {first:Date}, to = {after:Date}, timezone = {tz:String})
GROUP BY source
HAVING sessions > 0 OR orders > 0
ORDER BY sessions DESC, orders DESC, source"""


@dataclass(frozen=True)
class SourcesQuery:
    site: str
    range: TimeRange


def local_days(r: TimeRange) -> tuple[date, date]:
    """The local days the range touches: the first, and the day after the last."""
    tz = ZoneInfo(r.timezone)
    first = r.start.astimezone(tz).date()
    last = (r.end.astimezone(tz) - timedelta(microseconds=1)).date()
    return first, last + timedelta(days=1)


def _revenue(by_currency: dict) -> list[dict]:
    # Per currency, never added up across currencies (as in /stats); orders without a currency
    # count as orders but have no revenue line.
    return [{"currency": c, "revenue": float(round(Decimal(v), 4))} for c, v in sorted(by_currency.items()) if c]


def run_sources(runner: QueryRunner, q: SourcesQuery) -> dict:
    first, after = local_days(q.range)
    params = {"site": q.site, "first": first, "after": after, "tz": q.range.timezone}
    rows = runner.run(SQL, params).dicts()
    total_sessions = sum(r["sessions"] for r in rows)
    sources = [
        {
            "source": r["source"],
            "sessions": r["sessions"],
            "share_of_sessions": round(100.0 * r["sessions"] / total_sessions, 2) if total_sessions else None,
            "orders": r["orders"],
            "revenue": _revenue(r["revenue"]),
        }
        for r in rows
    ]
    return {"sources": sources, "totals": {"sessions": total_sessions, "orders": sum(r["orders"] for r in rows)}}
