"""Query API SQL runs read-only, with bound parameters, inside time limits."""

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.queries.errors import QueryLimit
from tracker.queries.runner import QueryRunner


def test_cannot_write(db):
    with pytest.raises(DatabaseError, match="readonly"):
        db.runner.run("INSERT INTO sites (site, version) VALUES ('x', 1)", {})
    with pytest.raises(DatabaseError, match="readonly"):
        db.runner.run("DROP TABLE events", {})
    assert db.ch.query("SELECT count() FROM events").result_rows == [(0,)]


def test_values_are_bound_not_spliced(db):
    sneaky = "x' OR 1 = 1 --"
    assert db.runner.run("SELECT {v:String}", {"v": sneaky}).rows == [(sneaky,)]


def test_time_limit_becomes_query_limit(db):
    slow = QueryRunner(db.runner.target, max_execution_s=0.2, max_memory_bytes=1 << 30)
    with pytest.raises(QueryLimit):
        slow.run("SELECT sum(sleepEachRow(0.1)) FROM numbers(10) SETTINGS max_block_size = 1", {})


def test_unreachable_clickhouse_is_clickhouse_unavailable(db):
    from dataclasses import replace
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = QueryRunner(replace(db.runner.target, port=port), 5, 1 << 30)
    with pytest.raises(ClickHouseUnavailable):
        runner.run("SELECT 1", {})


class _CountingLock:
    """The runner's lock, counting how often it was taken (each run() takes it first to look up
    the queries running now), so a test knows a second caller has looked."""

    def __init__(self) -> None:
        import threading

        self._lock, self.taken, self.changed = threading.Lock(), 0, threading.Condition()

    def __enter__(self):
        self._lock.acquire()
        with self.changed:
            self.taken += 1
            self.changed.notify_all()

    def __exit__(self, *exc) -> None:
        self._lock.release()

    def wait_taken(self, times: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.taken >= times, timeout=30)


def test_identical_queries_at_once_run_once(db):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    runner = QueryRunner(db.runner.target, 10, 1 << 30)
    runner._running_lock = lock = _CountingLock()
    release, calls, real_run = threading.Event(), [], runner._run

    def held_run(sql, parameters):
        calls.append(sql)
        assert release.wait(30)
        return real_run(sql, parameters)

    runner._run = held_run
    sql, params = "SELECT generateUUIDv4() AS id, {v:String} AS v", {"v": "page"}
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(runner.run, sql, params)
        lock.wait_taken(1)  # the first is running (held)
        second = pool.submit(runner.run, sql, params)
        other = pool.submit(runner.run, sql, {"v": "other page"})  # other parameters: a query of its own
        lock.wait_taken(3)
        release.set()
        answers = first.result(30), second.result(30), other.result(30)
    assert len(calls) == 2  # the identical one did not run again
    assert answers[0] is answers[1] and answers[2].rows[0][1] == "other page"
    # Once answered, the same query runs afresh: a new UUID.
    runner._run = real_run
    assert runner.run(sql, params).rows[0][0] != answers[0].rows[0][0]


def test_a_failed_query_leaves_nothing_behind(db):
    runner = QueryRunner(db.runner.target, 10, 1 << 30)
    with pytest.raises(DatabaseError):
        runner.run("SELECT no_such_column FROM events", {})
    assert runner._running == {}  # nothing left behind: the next identical query runs
    with pytest.raises(DatabaseError):
        runner.run("SELECT no_such_column FROM events", {})


def test_within_shared_answers_a_query_answered_before_is_not_run_again(db):
    import asyncio

    from tracker.queries.runner import shared_answers

    runner = QueryRunner(db.runner.target, 10, 1 << 30)
    sql, params = "SELECT generateUUIDv4() AS id", {}

    async def page() -> list:
        async def panel():
            return (await runner.offload(lambda: runner.run(sql, params))).rows[0][0]

        with shared_answers():
            first = await panel()  # answered before the next two start: shared all the same
            return [first, *await asyncio.gather(panel(), panel())]

    ids = asyncio.run(page())
    assert len(set(ids)) == 1
    assert len(set(asyncio.run(page()) + ids)) == 2  # another page: its own run
    assert runner.run(sql, params).rows[0][0] not in ids  # outside any page: runs afresh
    runner.close()


def test_run_beside_runs_while_the_caller_queries(db):
    import time

    from tracker.queries.runner import QUERY_LABEL

    runner = QueryRunner(db.runner.target, 10, 1 << 30)
    QUERY_LABEL.set("beside-test")
    beside = runner.run_beside("SELECT 'beside-probe', sum(sleepEachRow(0.05)) FROM numbers(40) SETTINGS max_block_size = 1", {})
    # The caller is free meanwhile: its own queries see the one beside it still running, under the
    # caller's label (the context goes along), until it answers.
    deadline, seen = time.monotonic() + 30, []
    while not seen and time.monotonic() < deadline:
        seen = runner.run("SELECT Settings['log_comment'] FROM system.processes WHERE query LIKE '%beside-probe%'"
                          " AND query NOT LIKE '%system.processes%'", {}).rows
    assert seen == [("beside-test",)] and not beside.done()
    assert beside.result(30).rows == [("beside-probe", 0)]
    runner.close()


def test_a_tasks_niceness_reaches_clickhouse_as_os_thread_priority(db):
    import contextvars

    from tracker.queries.runner import QUERY_NICENESS

    def niceness_seen() -> int:
        return int(db.runner.run("SELECT getSetting('os_thread_priority')", {}).rows[0][0])

    assert niceness_seen() == 0
    context = contextvars.copy_context()
    context.run(QUERY_NICENESS.set, 10)
    assert context.run(niceness_seen) == 10
    assert niceness_seen() == 0  # only the context that set it
