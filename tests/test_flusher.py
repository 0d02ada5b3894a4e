"""The flusher's idempotent retry: a segment inserted twice (crash after insert, before delete) lands once."""

import asyncio

import orjson

from tests.conftest import count_rows
from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.events import COLUMNS
from tracker.flusher import Flusher
from tracker.spool import Spool


def array_row(**values) -> bytes:
    """A row as the pipeline spools it: a JSON array in column order, type defaults where not given."""
    def default(ch_type: str):
        if ch_type.startswith(("Array", "Map")):
            return [] if ch_type.startswith("Array") else {}
        return None if ch_type.startswith("Nullable") else 0 if ch_type.startswith("UInt") else ""
    return orjson.dumps([values.get(name, default(ch_type)) for name, ch_type, _ in COLUMNS]) + b"\n"


def test_reinserting_a_segment_does_not_duplicate_rows(tmp_path, clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    rows = [array_row(site="demo", ts=1790000000.5, received_at=1790000000.6, name="page_view", visitor_id=1,
                      event_id="00000000-0000-4000-8000-%012d" % i) for i in range(50)]

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
    assert spool.segments() == []


def test_orphaned_slot_of_a_dead_worker_is_adopted(tmp_path, clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    # JSON objects: segments spooled before rows became arrays are still inserted after an upgrade.
    row = b'{"site":"demo","ts":1790000000.5,"received_at":1790000000.6,"event_id":"00000000-0000-4000-8000-00000000000%d","name":"x","visitor_id":1}\n'

    async def scenario():
        dead = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        survivor = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        dead.start()
        survivor.start()
        await dead.append([row % i for i in range(3)])
        dead.release()  # the worker died with its segment still open
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
