"""Realtime: visitors in the last 30 minutes and the newest events of a site, for the `realtime`
endpoint and the panel on the owner's page (which polls it).

It reads the events table like every other query (no second store), so an event shows here once
the flusher has inserted it: within TRACKER_FLUSH_INTERVAL_S of its acknowledgement. "Now" is the
tracker's clock, taken when the request arrives, so the window is the 30 minutes before it (ingest
stores no event later than its arrival, tracker/ingest/payload.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tracker.queries.runner import QueryRunner

WINDOW = timedelta(minutes=30)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

FIGURES_SQL = """
SELECT uniqExact(visitor_id) AS visitors, countIf(name = 'page_view') AS page_views, count() AS events
FROM events
WHERE site = {site:String} AND ts >= {since:DateTime64(3)}
"""

NEWEST_SQL = """
SELECT ts, name, path, source, device, value, currency
FROM events
WHERE site = {site:String} AND ts >= {since:DateTime64(3)}
ORDER BY ts DESC, event_id
LIMIT {limit:UInt32}
"""


@dataclass(frozen=True)
class RealtimeQuery:
    site: str
    timezone: str
    now: datetime
    limit: int = DEFAULT_LIMIT

    @property
    def since(self) -> datetime:
        return self.now - WINDOW


def _time(value: datetime, tz: ZoneInfo) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(tz).isoformat(timespec="milliseconds")


def run_realtime(runner: QueryRunner, q: RealtimeQuery) -> dict:
    params = {"site": q.site, "since": q.since, "limit": q.limit}
    figures_rows, newest_rows = runner.run_pair(FIGURES_SQL, NEWEST_SQL, params)
    (figures,) = figures_rows.dicts()
    tz = ZoneInfo(q.timezone)
    newest = [
        {**row, "ts": _time(row["ts"], tz), "value": None if row["value"] is None else float(row["value"])}
        for row in newest_rows.dicts()
    ]
    return {
        "since": _time(q.since, tz),
        "as_of": _time(q.now, tz),
        "timezone": q.timezone,
        "visitors": figures["visitors"],
        "page_views": figures["page_views"],
        "events": figures["events"],
        "newest": newest,
    }
