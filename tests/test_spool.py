import asyncio

import pytest

from tracker.spool import HEADER, Segment, Spool, SpoolFull


def make_spool(root, **kw):
    args = dict(max_bytes=10_000_000, segment_rows=1000, segment_bytes=10_000_000, commit_interval_s=0.001)
    args.update(kw)
    return Spool(root, **args)


def lines(n, start=0):
    return [b'{"n":%d}\n' % i for i in range(start, start + n)]


def test_concurrent_appends_share_a_commit_and_survive_close(tmp_path):
    async def scenario():
        spool = make_spool(tmp_path)
        spool.start()
        await asyncio.gather(*(spool.append(lines(2, 2 * i)) for i in range(50)))
        await spool.close()
        spool.release()
        return spool

    spool = asyncio.run(scenario())
    [segment] = spool.segments()
    data, rows = segment.read()
    assert rows == 100
    assert sorted(data.splitlines()) == sorted(b"".join(lines(100)).splitlines())
    # 50 appends, far fewer fsynced records: group commit at work.
    raw = segment.path.read_bytes()
    records, offset = 0, 0
    while offset < len(raw):
        length, _ = HEADER.unpack_from(raw, offset)
        offset += HEADER.size + length
        records += 1
    assert records < 50


def test_segments_seal_at_the_row_limit(tmp_path):
    async def scenario():
        spool = make_spool(tmp_path, segment_rows=10)
        spool.start()
        for i in range(5):
            await spool.append(lines(5, 5 * i))
        sealed = len(spool.segments())
        await spool.close()
        spool.release()
        return sealed, spool

    sealed_before_close, spool = asyncio.run(scenario())
    assert sealed_before_close == 2
    assert sum(s.read()[1] for s in spool.segments()) == 25


def test_full_spool_refuses_new_events(tmp_path):
    async def scenario():
        spool = make_spool(tmp_path, max_bytes=100)
        spool.start()
        await spool.append(lines(5))
        with pytest.raises(SpoolFull):
            await spool.append(lines(20))
        await spool.close()
        spool.release()

    asyncio.run(scenario())


def test_torn_tail_is_skipped_and_earlier_records_kept(tmp_path):
    async def scenario():
        spool = make_spool(tmp_path)
        spool.start()
        await spool.append(lines(3))
        await spool.append(lines(3, 3))
        await spool.close()
        spool.release()
        return spool.segments()[0]

    segment = asyncio.run(scenario())
    raw = segment.path.read_bytes()
    segment.path.write_bytes(raw[:-4])  # the last record lost its end in a crash
    data, rows = segment.read()
    assert rows == 3
    assert data == b"".join(lines(3))


def test_a_crashed_workers_open_segment_is_sealed_on_restart(tmp_path):
    async def write_and_crash():
        spool = make_spool(tmp_path)
        spool.start()
        await spool.append(lines(4))
        spool.release()  # no close(): the process died with the segment open
        return spool.slot

    slot = asyncio.run(write_and_crash())
    assert list(slot.glob("*.active"))
    restarted = make_spool(tmp_path)
    assert restarted.slot == slot
    assert [s.read()[1] for s in restarted.segments()] == [4]
    restarted.release()


def test_two_live_spools_take_different_slots(tmp_path):
    first, second = make_spool(tmp_path), make_spool(tmp_path)
    assert first.slot != second.slot
    first.release()
    second.release()


def test_segment_token_is_its_unique_name(tmp_path):
    a, b = Segment(tmp_path / "1-2-aa.seg"), Segment(tmp_path / "1-2-bb.seg")
    assert (a.token, b.token) == ("1-2-aa", "1-2-bb")
