"""Runs the query API's SQL: read-only, bounded in time and memory, values only as bound parameters.

readonly=2 (not 1) because over HTTP the query settings themselves must still be accepted.
Each thread keeps its own client (tracker/clickhouse/threads.py). Handlers hand their work to `offload`: it runs on the runner's own threads, never on the
event loop, and a request whose ClickHouse does not answer within `deadline_s` (the execution
limit plus GRACE_S) gets ClickHouseUnavailable, a 503, instead of waiting for a hung server.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.threads import ClickHouseThreads, ClickHouseUnavailable
from tracker.queries.errors import QueryLimit

T = TypeVar("T")

# ClickHouse error codes that mean "this query is too big", not "the tracker is broken".
_LIMIT_CODES = ("Code: 159.", "Code: 241.", "Code: 158.", "Code: 396.")
# Beyond max_execution_time: the answer's transfer, and ClickHouse noticing its own time limit.
GRACE_S = 3
THREADS = 8  # query API requests in ClickHouse at once per worker; more wait their turn (within the deadline)
# Which endpoint a query runs for, as ClickHouse's log_comment: system.query_log then says what
# each query of a page was for (bench/page.py reads it). Set by tracker/http/query.py execute().
QUERY_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("query_label", default="")
# The OS niceness of this task's queries in ClickHouse (its `os_thread_priority`; 0: as the server's).
# The owner's page lowers it for every panel but its longest query (tracker/owner/pages.py): the
# page is CPU-bound, and that query's serial work then runs first instead of finishing last.
QUERY_NICENESS: contextvars.ContextVar[int] = contextvars.ContextVar("query_niceness", default=0)
# The answers of one page's queries, by query (see shared_answers): set, the tasks a page gathers
# share the dict (a context copy is shallow), so each distinct query of the page runs once.
_PAGE_ANSWERS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("page_answers", default=None)


@contextlib.contextmanager
def shared_answers() -> Iterator[None]:
    """Within it (and in the tasks started within it), a query identical to one this block already
    ran or is running gets that one's answer: a page whose panels ask the same query (its three
    lists of pages) runs it once, however its queries are scheduled."""
    token = _PAGE_ANSWERS.set({})
    try:
        yield
    finally:
        _PAGE_ANSWERS.reset(token)


@dataclass(frozen=True)
class Rows:
    columns: tuple[str, ...]
    rows: list[tuple]

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]


class QueryRunner:
    def __init__(self, target: Target, max_execution_s: float, max_memory_bytes: int) -> None:
        self.target = target
        self.settings = {
            "readonly": 2,
            "max_execution_time": max_execution_s,
            "max_memory_usage": max_memory_bytes,
            # On a cluster, IN/JOIN subqueries over the Distributed events table read each shard's
            # local table: events are sharded by visitor and every such subquery joins per visitor,
            # so each shard has all it needs (tests/test_cluster_queries.py compares with one server;
            # the default, deny, refuses these queries). A single server has no Distributed table.
            "distributed_product_mode": "local",
            # Decompressed blocks from the server's uncompressed cache (docs/operations.md), which
            # ClickHouse skips by default for any read over 1M rows. A site's range is what the
            # page's queries and its next load read again: 19 % less CPU for the page on 10M events.
            "use_uncompressed_cache": 1,
            "merge_tree_max_rows_to_use_cache": 1 << 40,
            "merge_tree_max_bytes_to_use_cache": 1 << 50,
        }
        self.deadline_s = math.ceil(max_execution_s) + GRACE_S
        self._threads = ClickHouseThreads("clickhouse-query", THREADS, self.connect)
        # For run_beside: as many as there are query threads, so each can have one query beside it.
        # Their clients are theirs too (ClickHouseThreads keeps one per calling thread).
        self._beside = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="clickhouse-beside")
        self._running: dict[str, Future] = {}  # identical queries in ClickHouse now, by their text and parameters
        self._running_lock = threading.Lock()

    def connect(self, **settings):
        """A client whose calls give up when a request would: at the deadline."""
        return connect(self.target, read_timeout_s=self.deadline_s, **settings)

    def client(self):
        """The calling query thread's client, for small reads and writes of tables other than
        events (saved funnels); only work handed to `offload` may call it."""
        return self._threads.client()

    async def offload(self, work: Callable[[], T]) -> T:
        """work() (which calls `run`) on the runner's threads; ClickHouseUnavailable past deadline_s.
        The caller's context (QUERY_LABEL) goes along: executor threads do not inherit it."""
        context = contextvars.copy_context()
        return await self._threads.run(lambda: context.run(work), self.deadline_s)

    def run_beside(self, sql: str, parameters: dict) -> Future:
        """`run` started on a thread beside the calling query thread, which goes on with its own
        query meanwhile: a small query whose answer the other does not need (the funnel's check for
        events never sent) then adds no time. The future's result is run's. Like run, it ends by
        the client's read timeout (deadline_s), so waiting for it never outlasts the request."""
        return self._beside.submit(contextvars.copy_context().run, self.run, sql, parameters)

    def run_pair(self, first: str, second: str, parameters: dict) -> tuple[Rows, Rows]:
        """The rows of two queries of the same parameters (an endpoint's two halves), asked at once:
        the second beside this thread while it runs the first."""
        beside = self.run_beside(second, parameters)
        return self.run(first, parameters), beside.result()

    def run(self, sql: str, parameters: dict) -> Rows:
        """The query's rows. A query identical (text and parameters) to one already running waits
        for that one's answer instead of running again (owners reloading one page), and within
        shared_answers() to one already answered too."""
        key = f"{sql}\x00{sorted(parameters.items())!r}"
        page = _PAGE_ANSWERS.get()
        answers = self._running if page is None else page
        with self._running_lock:
            answer = answers.get(key)
            owner = answer is None
            if owner:
                answer = answers[key] = Future()
        if not owner:
            return answer.result()  # the running query's caller has the deadline: it ends by then
        try:
            rows = self._run(sql, parameters)
            answer.set_result(rows)
            return rows
        except BaseException as exc:
            answer.set_exception(exc)
            raise
        finally:
            if page is None:
                with self._running_lock:
                    del self._running[key]

    def _run(self, sql: str, parameters: dict) -> Rows:
        try:
            label, niceness = QUERY_LABEL.get(), QUERY_NICENESS.get()
            settings = {**self.settings, "log_comment": label} if label else self.settings
            if niceness:
                settings = {**settings, "os_thread_priority": niceness}
            result = self._threads.client().query(sql, parameters=parameters, settings=settings)
        except OperationalError as exc:
            self._threads.forget_client()  # reconnect next time
            raise ClickHouseUnavailable(str(exc)[:300]) from None
        except DatabaseError as exc:
            if any(code in str(exc) for code in _LIMIT_CODES):
                raise QueryLimit(str(exc)[:300]) from None
            raise
        return Rows(tuple(result.column_names), result.result_rows)

    def close(self) -> None:
        self._threads.close()
        self._beside.shutdown(wait=False, cancel_futures=True)
