"""ClickHouse calls on threads of their own: a hung server costs a caller its deadline, nothing more."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from tests.processes import free_port
from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.threads import ClickHouseThreads, ClickHouseUnavailable


def test_a_hung_clickhouse_costs_callers_their_deadline_and_leaves_no_backlog(tmp_path):
    server = embedded.start(tmp_path / "ch", free_port())
    target = Target("127.0.0.1", server.port, database="default")
    threads = ClickHouseThreads("test-clickhouse", 2, lambda: connect(target, read_timeout_s=2))
    started: list[int] = []

    def query(n: int):
        started.append(n)
        return threads.client().query("SELECT 1").result_rows

    async def during_hang():
        calls = asyncio.gather(*(threads.run(lambda n=n: query(n), 0.5) for n in range(5)), return_exceptions=True)
        # asyncio's default executor is not involved, so other thread work goes on meanwhile.
        other = await asyncio.wait_for(asyncio.to_thread(sum, [1, 2]), 5)
        return await calls, other

    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        outcomes, other = asyncio.run(during_hang())
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    try:
        assert other == 3
        assert all(isinstance(o, ClickHouseUnavailable) for o in outcomes), outcomes
        assert "did not answer within 0.5 s" in str(outcomes[0])
        assert len(started) <= 2  # calls still queued when their callers gave up never ran

        async def after_hang():
            return await threads.run(lambda: threads.client().query("SELECT 1").result_rows, 30)

        assert asyncio.run(after_hang()) == [(1,)]
    finally:
        threads.close()
        server.stop()


def test_a_refused_connection_is_clickhouse_unavailable():
    target = Target("127.0.0.1", free_port(), database="default")  # nobody listens there
    threads = ClickHouseThreads("test-clickhouse", 1, lambda: connect(target))

    async def call():
        return await threads.run(threads.client, 30)

    try:
        with pytest.raises(ClickHouseUnavailable, match="(?i)refused|connect"):
            asyncio.run(call())
    finally:
        threads.close()
