"""The flusher's idempotent retry: a segment inserted twice (crash after insert, before delete) lands once."""

import asyncio
import uuid
import zlib

import orjson

from tests.conftest import count_rows
from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.migrate import migrate
from tracker.events import ADDED_IN_0105, COLUMN_NAMES, COLUMN_NAMES_BEFORE_0105, COLUMNS, json_row_columns, json_row_format, row_encoder
from tracker.flusher import Flusher, insert_rows
from tracker.spool import JSON_HEADER, Spool

ENCODE_ROW = row_encoder(COLUMN_NAMES)


def _default(ch_type: str):
    if ch_type.startswith(("Array", "Map")):
        return [] if ch_type.startswith("Array") else {}
    if ch_type.startswith("UUID"):
        return uuid.UUID(int=0)
    return None if ch_type.startswith("Nullable") else 0 if ch_type.startswith(("UInt", "DateTime")) else ""


def stored_row(**values) -> bytes:
    """A row as the pipeline spools it: RowBinary in column order, type defaults where not given."""
    return ENCODE_ROW(tuple(values.get(name, _default(ch_type)) for name, ch_type, _ in COLUMNS))


def json_array_row(**values) -> bytes:
    """A row as the previous version spooled it: a JSON array in column order, times in seconds."""
    default = {"ts": 0, "received_at": 0, "event_id": "00000000-0000-0000-0000-000000000000"}
    return orjson.dumps([values.get(name, default.get(name, _default(ch_type))) for name, ch_type, _ in COLUMNS]) + b"\n"


def old_segment(slot, name: str, rows: list[bytes]) -> None:
    """A segment in the previous version's layout: `<id>.seg`, records of (length, CRC32) and JSON lines."""
    slot.mkdir(parents=True, exist_ok=True)
    payload = b"".join(rows)
    (slot / name).write_bytes(JSON_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)


def test_reinserting_a_segment_does_not_duplicate_rows(tmp_path, clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    rows = [stored_row(site="demo", ts=1790000000500, received_at=1790000000600, name="page_view", visitor_id=1,
                       event_id=uuid.UUID("00000000-0000-4000-8000-%012d" % i)) for i in range(50)]

    async def scenario():
        spool = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        spool.start()
        await spool.append(rows)
        await spool.close()
        flusher = Flusher(spool, target, 1.0)
        [segment] = spool.segments()
        assert await asyncio.to_thread(flusher._insert, segment)
        # The process "crashed" before forgetting the segment: the next start inserts it again.
        assert await asyncio.to_thread(flusher._insert, segment)
        assert await flusher.flush_once()
        spool.release()
        return spool

    spool = asyncio.run(scenario())
    assert count_rows(ch) == 50
    assert ch.query("SELECT uniqExact(event_id), min(ts), max(name) FROM events").result_rows[0][0] == 50
    assert spool.segments() == []


def test_segments_of_the_previous_version_are_flushed_after_an_upgrade(tmp_path, clickhouse, database, ch):
    """JSON lines left in the spool by the version before RowBinary go in as JSON, each once, with new rows beside them."""
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    slot = tmp_path / "slot-0"
    old_segment(slot, "00000000000000000001-9-00000001.seg", [json_array_row(
        site="demo", ts=1790000000.5, received_at=1790000000.6, name="old_array", visitor_id=1,
        event_id="00000000-0000-4000-8000-%012d" % i) for i in range(4)])
    old_segment(slot, "00000000000000000002-9-00000002.seg", [orjson.dumps({
        "site": "demo", "ts": 1790000000.5, "received_at": 1790000000.6, "name": "old_object", "visitor_id": 1,
        "event_id": "00000000-0000-4000-9000-%012d" % i}) + b"\n" for i in range(2)])

    async def scenario():
        spool = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        spool.start()
        await spool.append([stored_row(site="demo", ts=1790000000500, received_at=1790000000600, name="new",
                                       event_id=uuid.uuid4()) for _ in range(3)])
        await spool.close()
        assert [s.row_format for s in spool.segments()] == [None, None, "RowBinary"]
        flusher = Flusher(spool, target, 1.0)
        old = spool.segments()[0]
        assert await asyncio.to_thread(flusher._insert, old)  # inserted, then a crash before the delete
        assert await flusher.flush_once()
        spool.release()
        return spool

    spool = asyncio.run(scenario())
    assert spool.segments() == []
    assert ch.query("SELECT name, count(), min(toUnixTimestamp64Milli(ts)) FROM events GROUP BY name ORDER BY name").result_rows == [
        ("new", 3, 1790000000500), ("old_array", 4, 1790000000500), ("old_object", 2, 1790000000500)]


def test_orphaned_slot_of_a_dead_worker_is_adopted(tmp_path, clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    rows = [stored_row(site="demo", ts=1790000000500, received_at=1790000000600, name="x", visitor_id=1,
                       event_id=uuid.UUID("00000000-0000-4000-8000-00000000000%d" % i)) for i in range(3)]

    async def scenario():
        dead = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        survivor = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        dead.start()
        survivor.start()
        await dead.append(rows)
        # The worker died with its segment still open, and its threads with it: a spare segment
        # its prep thread was still writing would otherwise appear after the adoption.
        dead._prep.shutdown(wait=True)
        dead.release()
        await Flusher(survivor, target, 1.0)._adopt_orphans()
        await survivor.close()
        survivor.release()
        return dead.slot

    dead_slot = asyncio.run(scenario())
    assert count_rows(ch) == 3
    assert not list(dead_slot.glob("*.seg")) and not list(dead_slot.glob("*.active"))


def test_shutdown_flushes_every_acknowledged_event(make_settings, ch):
    """Stopping the app sends what the spool holds, with no flush before it. (The race that
    Flusher.halt closes, the loop waking on the final seal after the spool's thread was shut down,
    was seen under load only; this run does not force it.)"""
    from starlette.testclient import TestClient

    from tests.conftest import BROWSER_UA
    from tracker.app import create_app

    settings = make_settings(flush_interval_s=60.0)  # nothing is flushed before the shutdown
    events = [{"site": "demo", "name": "page_view", "url": f"https://shop.example/p/{i}"} for i in range(30)]
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert client.post("/api/event", json={"events": events}).status_code == 202
    assert count_rows(ch) == 30


def test_segments_spooled_before_the_ga4_columns_read_them_as_empty(clickhouse, database, ch):
    """Migration 0105 added columns: rows an older version spooled (shorter arrays, or objects) still insert,
    and their items read an empty brand and a 0 discount each."""
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    old = {"site": "demo", "ts": 1790000000.5, "received_at": 1790000000.6, "name": "purchase", "visitor_id": 1,
           "event_id": "00000000-0000-4000-8000-000000000001", "props": {}, "currency": "EUR", "value": 20,
           "items.item_id": ["a", "b"], "items.item_name": ["A", "B"], "items.item_category": ["", ""],
           "items.price": [5, 15], "items.quantity": [1, 1]}
    array = json_array_row(**old)
    short = orjson.dumps([v for v, name in zip(orjson.loads(array), [c for c, _, _ in COLUMNS]) if name not in ADDED_IN_0105]) + b"\n"
    assert json_row_columns(short) == COLUMN_NAMES_BEFORE_0105 and json_row_columns(array) == COLUMN_NAMES
    obj = orjson.dumps({**old, "event_id": "00000000-0000-4000-8000-000000000002"}) + b"\n"
    client = connect(target)
    insert_rows(client, short, "old-arrays", json_row_format(short))
    insert_rows(client, obj, "old-objects", json_row_format(obj))
    rows = ch.query("SELECT coupon, shipping, tax, items.item_brand, items.item_category5, items.discount, items.item_id"
                    " FROM events ORDER BY event_id").result_rows
    assert [(r[0], r[1], r[2], r[3], r[4], [float(d) for d in r[5]], r[6]) for r in rows] == [
        ("", None, None, ["", ""], ["", ""], [0.0, 0.0], ["a", "b"])] * 2
