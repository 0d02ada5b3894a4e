import asyncio

import pytest

import zlib

from tracker.events import ROW_FORMAT
from tracker.spool import HEADER, JSON_HEADER, PREALLOCATE_MIN, Segment, Spool, SpoolFull


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
        length, *_ = HEADER.unpack_from(raw, offset)
        offset += HEADER.size + length
        records += 1
    assert records < 50


def test_segments_seal_at_the_row_limit(tmp_path):
    async def scenario():
        spool = make_spool(tmp_path, segment_rows=10)
        spool.start()
        for i in range(5):
            await spool.append(lines(5, 5 * i))
        for _ in range(100):  # segments are sealed on the prep thread, right after the append
            if len(spool.segments()) == 2:
                break
            await asyncio.sleep(0.02)
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
    a, b = Segment(tmp_path / "1-2-aa.RowBinary.seg"), Segment(tmp_path / "1-2-bb.seg")
    assert (a.token, b.token) == ("1-2-aa", "1-2-bb")
    assert (a.row_format, b.row_format) == ("RowBinary", None)


def test_segments_are_named_with_the_format_of_their_rows_and_count_rows_of_any_bytes(tmp_path):
    """Binary rows hold no newlines to count: each record carries its row count."""
    rows = [b"\n\n\x00", b"", b"\x07"]

    async def scenario():
        spool = make_spool(tmp_path)
        spool.start()
        await spool.append(rows)
        await spool.close()
        spool.release()
        return spool

    [segment] = asyncio.run(scenario()).segments()
    assert segment.path.name.endswith(f".{ROW_FORMAT}.seg") and segment.row_format == ROW_FORMAT
    assert segment.read() == (b"".join(rows), 3)


def test_a_segment_of_json_lines_from_the_previous_version_is_read_after_an_upgrade(tmp_path):
    """The previous version's layout: `<id>.seg`, records of an 8-byte header (length, CRC32) and JSON lines."""
    slot = tmp_path / "slot-0"
    slot.mkdir()
    records = [b"".join(lines(2)), b"".join(lines(3, 2))]
    raw = b"".join(JSON_HEADER.pack(len(r), zlib.crc32(r)) + r for r in records)
    (slot / "00000000000000000001-7-aabbccdd.seg").write_bytes(raw + JSON_HEADER.pack(40, 1) + b'{"torn"')
    (slot / "00000000000000000002-7-aabbccdd.active").write_bytes(raw)  # open when the old version stopped
    spool = make_spool(tmp_path)
    try:
        old = spool.segments()
        assert [s.token for s in old] == ["00000000000000000001-7-aabbccdd", "00000000000000000002-7-aabbccdd"]
        assert [s.row_format for s in old] == [None, None]
        assert [s.read() for s in old] == [(b"".join(lines(5)), 5)] * 2
    finally:
        spool.release()


def test_next_segment_is_written_zeros_prepared_ahead_and_dropped_on_close(tmp_path):
    """Appends go into blocks already written and synced (no journal commit per sync); nothing is left behind."""
    async def scenario():
        spool = make_spool(tmp_path)
        spool.start()
        await asyncio.wrap_future(spool._spare)  # the first spare, prepared at start
        await spool.append(lines(3))
        await asyncio.wrap_future(spool._spare)  # the next one, prepared as the first was taken
        files = {p.name: p.read_bytes() for p in spool.slot.glob("*.active")}
        await spool.close()
        spool.release()
        return spool, files

    spool, files = asyncio.run(scenario())
    written = [data for data in files.values() if data[:4] != bytes(4)]
    spares = [data for data in files.values() if data[:4] == bytes(4)]
    assert len(written) == 1 and len(spares) == 1
    assert len(written[0]) == PREALLOCATE_MIN and len(spares[0]) == PREALLOCATE_MIN
    assert spares[0] == bytes(PREALLOCATE_MIN)
    assert not list(spool.slot.glob("*.active"))  # the unused spare is deleted on close
    [segment] = spool.segments()
    assert segment.read() == (b"".join(lines(3)), 3)
    assert segment.path.stat().st_size == HEADER.size + len(b"".join(lines(3)))  # zeros cut at seal


def test_an_unused_spare_left_by_a_crash_is_deleted_on_restart(tmp_path):
    async def crash():
        spool = make_spool(tmp_path)
        spool.start()
        spool._spare.result(timeout=10)
        spool.release()
        return spool.slot

    slot = asyncio.run(crash())
    assert len(list(slot.glob("*.active"))) == 1
    restarted = make_spool(tmp_path)
    assert not list(slot.glob("*.active")) and restarted.segments() == []
    restarted.release()
