"""Moves sealed spool segments into ClickHouse: one insert per segment, retried until it lands.

Each insert carries the segment id as insert_deduplication_token, so a retry after an insert
that did land (crash before the segment was deleted, timeout after the server committed) is a
no-op in ClickHouse instead of a duplicate. Segments of dead workers (slots nobody holds a lock
on) are adopted and flushed too.

The flusher's file and ClickHouse work runs on a thread of its own: an insert into a hung
ClickHouse blocks it until INSERT_READ_TIMEOUT_S, and that must hold up neither the event loop
nor asyncio's default executor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

from tracker import metrics
from tracker.clickhouse.client import Target, connect
from tracker.events import COLUMN_NAMES, ROW_FORMAT, json_row_columns, json_row_format
from tracker.spool import Segment, Spool, adopted

log = logging.getLogger("tracker.flusher")

MAX_BACKOFF_S = 30.0
# Inserts are at most TRACKER_FLUSH_MAX_BYTES and take about a second at worst; past this the
# server is taken to be hung and the insert is retried later (its deduplication token keeps a
# retry of an insert that did land from adding rows).
INSERT_READ_TIMEOUT_S = 30
T = TypeVar("T")
# On a cluster `events` is a Distributed table: a foreground insert returns only once every shard
# has committed its rows (so the segment is deleted only then), and each shard receives the
# segment's token, so a retry after a partial failure is a no-op where it had already landed.
# A single server ignores the setting.
# input_format_parallel_parsing=0: a segment (20,000 rows, 6 MB) is parsed by the insert's own
# thread instead of being cut into chunks for a pool of parser threads; that pool's hand-offs cost
# more than they save at this size: 4.64 -> 4.10 us CPU per row in ClickHouse's own accounting
# (system.query_log, bench/clickhouse_cost.py, same run), and half the insert's wall time.
# (Only text formats are parsed in parallel: it matters for the JSON segments of earlier versions.)
INSERT_SETTINGS = {"distributed_foreground_insert": 1, "input_format_parallel_parsing": 0}


class Flusher:
    def __init__(self, spool: Spool, target: Target, interval_s: float) -> None:
        self.spool = spool
        self.target = target
        self.interval_s = interval_s
        self._client = None
        self._backoff = 0.0
        self._task: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flusher")

    async def _off_loop(self, work: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="flusher")

    async def halt(self) -> None:
        """Stop the background loop. Called before the spool closes: the loop seals segments on the
        spool's own thread, which a closed spool has shut down (the loop then died with an error and
        the shutdown flush was skipped)."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def stop(self, deadline_s: float) -> None:
        """Stop the loop, then flush what the spool holds for at most `deadline_s`; the rest stays on disk."""
        await self.halt()
        end = time.monotonic() + deadline_s
        while self.spool.segments() and time.monotonic() < end:
            if not await self.flush_once():
                await asyncio.sleep(min(0.5, max(0.0, end - time.monotonic())))
        left = len(self.spool.segments())
        if left:
            log.warning("shutdown left segments in the spool for the next start", extra={"segments": left})
        self._thread.shutdown(wait=False)

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.spool.sealed.wait(), timeout=self.interval_s)
            except asyncio.TimeoutError:
                pass
            self.spool.sealed.clear()
            await self.spool.seal_if_older(self.interval_s)
            if not await self.flush_once():
                self._backoff = min(MAX_BACKOFF_S, max(0.5, self._backoff * 2))
                await asyncio.sleep(self._backoff)
                self.spool.sealed.set()  # try again even if nothing new arrives
            else:
                self._backoff = 0.0
            await self._adopt_orphans()

    async def flush_once(self) -> bool:
        """Insert and delete every sealed segment of our slot, oldest first; False at the first failure."""
        for segment in self.spool.segments():
            if not await self._off_loop(self._insert, segment):
                return False
            # Off the event loop: deleting a file waits for an ext4 journal commit, which waits
            # for ClickHouse's writes (tens of ms under load, seen as ingest p99).
            await self._off_loop(self.spool.forget, segment)
        return True

    def _insert(self, segment: Segment) -> bool:
        data, rows = segment.read()
        if not rows:
            return True
        started = time.perf_counter()
        try:
            if self._client is None:
                self._client = connect(self.target, read_timeout_s=INSERT_READ_TIMEOUT_S)
            insert_rows(self._client, data, segment.token, segment.row_format or json_row_format(data))
        except Exception as exc:  # noqa: BLE001 - any failure means: keep the segment, retry later
            self._client = None
            metrics.FLUSH_FAILURES.inc()
            metrics.CLICKHOUSE_UP.set(0)
            log.error(
                "flush failed, will retry",
                extra={"segment": segment.token, "rows": rows, "cause": str(exc).splitlines()[0][:300]},
            )
            return False
        elapsed = time.perf_counter() - started
        metrics.CLICKHOUSE_UP.set(1)
        metrics.FLUSH_BATCHES.inc()
        metrics.FLUSH_ROWS.inc(rows)
        metrics.FLUSH_LATENCY.observe(elapsed)
        log.info(
            "flushed",
            extra={"segment": segment.token, "rows": rows, "bytes": len(data), "ms": round(elapsed * 1000, 1)},
        )
        return True

    async def _adopt_orphans(self) -> None:
        for slot in self.spool.other_slots():
            await self._off_loop(self._flush_orphan, slot)

    def _flush_orphan(self, slot: Path) -> None:
        with adopted(slot) as segments:  # none while a live worker owns the slot
            for segment in segments:
                if not self._insert(segment):
                    return
                segment.path.unlink()


def insert_rows(client, data: bytes, token: str, fmt: str = ROW_FORMAT) -> None:
    """One insert of rows encoded in `fmt` (tracker/events.py); a retry with the same token stores them once."""
    client.raw_insert(
        "events",
        column_names=COLUMN_NAMES if fmt == ROW_FORMAT else json_row_columns(data),
        insert_block=data,
        fmt=fmt,
        settings=INSERT_SETTINGS | {"insert_deduplication_token": token},
    )
