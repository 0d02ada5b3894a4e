"""The flusher's idempotent retry: a segment inserted twice (crash after insert, before delete) lands once."""

import asyncio

from tests.conftest import count_rows
from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.flusher import Flusher
from tracker.spool import Spool


def test_reinserting_a_segment_does_not_duplicate_rows(tmp_path, clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    row = (
        b'{"site":"demo","ts":1790000000.5,"received_at":1790000000.6,"event_id":"%s","name":"page_view",'
        b'"visitor_id":1,"currency":"","value":null}\n'
    )

    async def scenario():
        spool = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        spool.start()
        await spool.append([row % (b"00000000-0000-4000-8000-%012d" % i) for i in range(50)])
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
