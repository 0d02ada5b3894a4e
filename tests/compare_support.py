"""A shop history in three periods for the comparison tests (API and pages), site `shop` in
Europe/Berlin. The range shown is DAYS (three local days around T0); with compare=previous the
three days before it, with compare=year the same days 52 weeks earlier.

Visitor i of a period (i = 0, 1, ...), 15 minutes apart from the period's first visit:
  page_view from SOURCES[period][i % 3]; view_item if i is even; add_to_cart if i % 3 == 0;
  begin_checkout and purchase of 10 + i EUR if i % 4 == 0.
  shown range:  12 visitors (google, newsletter, instagram): 3 orders, 42 EUR
  previous:      8 visitors (google, newsletter, bing):      2 orders, 24 EUR
  a year before: 5 visitors (google):                        2 orders, 24 EUR
One more visit lies just before the previous period and must count nowhere.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.query_support import T0, event, insert

TZ = "Europe/Berlin"
DAY = timedelta(days=1)
DAYS = {"from": (T0.date() - DAY).isoformat(), "to": (T0.date() + DAY).isoformat()}
PREVIOUS_DAYS = {"from": (T0.date() - 4 * DAY).isoformat(), "to": (T0.date() - 2 * DAY).isoformat()}
YEAR_DAYS = {k: (date.fromisoformat(v) - timedelta(days=364)).isoformat() for k, v in DAYS.items()}
SOURCES = {"shown": ("google", "newsletter", "instagram"), "previous": ("google", "newsletter", "bing"), "year": ("google",)}


def local_midnight(day: str) -> str:
    return datetime.combine(date.fromisoformat(day), time(), ZoneInfo(TZ)).isoformat()


def _period(name: str, base: datetime, first_visitor: int, count: int) -> list[dict]:
    rows = []
    for i in range(count):
        v, t = first_visitor + i, base + timedelta(minutes=15 * i)
        sources = SOURCES[name]
        rows.append(event("page_view", t, v, source=sources[i % len(sources)]))
        if i % 2 == 0:
            rows.append(event("view_item", t + timedelta(seconds=30), v, items=[("sku-1", 10, 1, "Shoe")]))
        if i % 3 == 0:
            rows.append(event("add_to_cart", t + timedelta(seconds=60), v, items=[("sku-1", 10, 1, "Shoe")], value=10, currency="EUR"))
        if i % 4 == 0:
            rows.append(event("begin_checkout", t + timedelta(seconds=90), v, value=10 + i, currency="EUR"))
            rows.append(event("purchase", t + timedelta(seconds=120), v, transaction_id=f"{name}-{i}", value=10 + i, currency="EUR"))
    return rows


def seed(ch) -> None:
    insert(ch, [
        *_period("shown", T0, 1000, 12),
        *_period("previous", T0 - 3 * DAY, 2000, 8),
        *_period("year", T0 - timedelta(days=364), 3000, 5),
        event("page_view", T0 - 5 * DAY, 4000, source="google"),  # before the previous period
    ])
