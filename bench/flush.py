"""Flush throughput: spool segments through the real Flusher vs a raw clickhouse-connect insert of the same rows."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.migrate import migrate
from tracker.events import COLUMN_NAMES, row_encoder
from tracker.flusher import Flusher
from tracker.spool import Spool

ROWS = 200_000
SEGMENT_ROWS = 20_000  # the default TRACKER_FLUSH_MAX_ROWS
ROUNDS = 5


def sample_rows(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    now = time.time()
    names = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
    rows = []
    for i in range(n):
        name = names[rnd.randrange(5)]
        items = [("sku-%d" % rnd.randrange(500), "Product", "shoes", 19.99, 1)] if name != "page_view" else []
        rows.append({
            "site": "demo", "ts": round(now - rnd.random() * 86400, 3), "received_at": round(now, 3),
            "event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "name": name,
            "visitor_id": rnd.getrandbits(63), "session_id": "", "customer_id": "",
            "url": "https://shop.example/p/%d" % rnd.randrange(500), "hostname": "shop.example", "path": "/p/%d" % rnd.randrange(500),
            "referrer": "", "referrer_host": "", "source": "Google", "medium": "organic", "campaign": "", "utm_term": "", "utm_content": "",
            "browser": "Firefox", "browser_version": "128", "os": "Linux", "device": "desktop", "props": {},
            "transaction_id": "", "value": 19.99 if items else None, "currency": "EUR" if items else "",
            "items.item_id": [t[0] for t in items], "items.item_name": [t[1] for t in items],
            "items.item_category": [t[2] for t in items], "items.price": [t[3] for t in items], "items.quantity": [t[4] for t in items],
            "coupon": "", "shipping": None, "tax": None, "items.discount": [0.0 for _ in items],
            **{f"items.{k}": ["" for _ in items] for k in ("item_category2", "item_category3", "item_category4", "item_category5",
                                                          "item_brand", "item_variant")},
        })
    return rows


def as_tuple(row: dict) -> list:
    values = [row[c] for c in COLUMN_NAMES]
    for i in (COLUMN_NAMES.index("ts"), COLUMN_NAMES.index("received_at")):
        values[i] = datetime.fromtimestamp(values[i], timezone.utc)
    return values


def as_stored(row: dict) -> tuple:
    """A sample row's values as the pipeline encodes them (tracker/events.py): times in ms, a UUID."""
    values = {**row, "ts": round(row["ts"] * 1000), "received_at": round(row["received_at"] * 1000),
              "event_id": uuid.UUID(row["event_id"])}
    return tuple(values[c] for c in COLUMN_NAMES)


def stored_rows(rows: list[dict]) -> list[bytes]:
    """Rows as the pipeline spools them."""
    encode = row_encoder(COLUMN_NAMES)
    return [encode(as_stored(r)) for r in rows]


def measure_flush(target: Target, directory: Path, rows: int = ROWS) -> dict:
    migrate(target)
    client = connect(target)
    data = sample_rows(rows)
    lines = stored_rows(data)
    tuples = [as_tuple(r) for r in data]

    async def through_flusher() -> float:
        spool = Spool(directory, 10**12, SEGMENT_ROWS, 10**9, 0.0)
        spool.start()
        for start in range(0, rows, 1000):
            await spool.append(lines[start:start + 1000])
        await spool.close()
        flusher = Flusher(spool, target, 1.0)
        started = time.perf_counter()
        assert await flusher.flush_once()
        elapsed = time.perf_counter() - started
        spool.release()
        return elapsed

    def raw_insert() -> float:
        started = time.perf_counter()
        for start in range(0, rows, SEGMENT_ROWS):
            client.insert("events", tuples[start:start + SEGMENT_ROWS], column_names=list(COLUMN_NAMES))
        return time.perf_counter() - started

    # A run takes about a second and single runs here varied by +-30%: alternate the two, keep
    # each one's best.
    flusher_s, raw_s = [], []
    for _ in range(ROUNDS):
        for times, run in ((flusher_s, lambda: asyncio.run(through_flusher())), (raw_s, raw_insert)):
            client.command("TRUNCATE TABLE events")
            times.append(run())
            assert client.query("SELECT count() FROM events").result_rows[0][0] == rows
    return {"rows": rows, "rounds": ROUNDS, "flusher_rows_per_s": rows / min(flusher_s), "raw_rows_per_s": rows / min(raw_s)}
