"""Helpers for the query tests: a migrated database, hand-written events inserted directly, a runner.

Events are inserted straight into `events` (not through ingest) so fixtures can use any time and
the exact columns a rule needs; tests/test_random_journeys.py goes through POST /api/event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.events import COLUMN_NAMES
from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange

# A Monday 7 to 13 days ago at 10:00 UTC: recent enough for the events table's retention TTL
# (older rows vanish at insert) and for the cart lookback, fixed within a test run.
_today = datetime.now(timezone.utc).date()
T0 = datetime.combine(_today - timedelta(days=_today.weekday() + 7), time(10), timezone.utc)


def at(seconds: float = 0, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def event(name: str, ts: datetime, visitor: int = 1, site: str = "shop", **fields) -> dict:
    """One events row; items as a list of (item_id, price, quantity[, item_name])."""
    items = fields.pop("items", [])
    row = {
        "site": site, "ts": ts, "received_at": ts, "event_id": uuid.uuid4(), "name": name, "visitor_id": visitor,
        "session_id": "", "customer_id": "", "url": "", "hostname": "shop.example", "path": "/", "referrer": "",
        "referrer_host": "", "source": "direct", "medium": "none", "campaign": "", "utm_term": "", "utm_content": "",
        "browser": "Firefox", "browser_version": "128", "os": "Linux", "device": "desktop", "props": {},
        "transaction_id": "", "value": None, "currency": "", "coupon": "", "shipping": None, "tax": None,
    }
    row.update(fields)
    if row["value"] is not None:
        row["value"] = Decimal(str(row["value"]))
    row["items.item_id"] = [i[0] for i in items]
    row["items.item_name"] = [i[3] if len(i) > 3 else "" for i in items]
    for text in ("item_category", "item_category2", "item_category3", "item_category4", "item_category5", "item_brand",
                 "item_variant"):
        row[f"items.{text}"] = ["" for _ in items]
    row["items.price"] = [Decimal(str(i[1])) for i in items]
    row["items.quantity"] = [i[2] for i in items]
    row["items.discount"] = [Decimal(0) for _ in items]
    return row


def insert(ch, rows: list[dict]) -> None:
    ch.insert("events", [[r[c] for c in COLUMN_NAMES] for r in rows], column_names=list(COLUMN_NAMES))


def day_range(start: datetime = T0 - timedelta(days=1), days: int = 3, tz: str = "UTC") -> TimeRange:
    return TimeRange(start, start + timedelta(days=days), tz)


@dataclass
class Db:
    ch: object
    runner: QueryRunner


@pytest.fixture
def db(clickhouse, database, ch) -> Db:
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    return Db(ch, QueryRunner(target, max_execution_s=30, max_memory_bytes=2 << 30))
