"""Blocking ClickHouse calls on threads of their own, awaited with a deadline.

clickhouse-connect is synchronous, and creating a client already queries the server, so a
ClickHouse that hangs (SIGSTOP, a stuck network path: not a refused connection) blocks the
calling thread until the client's read timeout. On the event loop that would stall every request
of the worker; in asyncio's default executor (a handful of threads, shared with other work) a few
such calls would starve everything else queued there. So each kind of ClickHouse work gets a
small pool of its own, and the awaiting side stops waiting at a deadline and answers
ClickHouseUnavailable; the thread itself is freed by the client's read timeout. A call still
queued when its caller gives up never runs, so a hang leaves no backlog of stale work.

Each thread keeps its own client (clients are not thread-safe, and creating one costs a round
trip: 150-330 ms measured on a busy 2-core machine, against 40-80 ms for the site list query).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

T = TypeVar("T")


class ClickHouseUnavailable(RuntimeError):
    """ClickHouse could not be reached or did not answer in time (becomes a 503 where a client waits)."""


class ClickHouseThreads:
    def __init__(self, name: str, threads: int, connect: Callable[[], Client]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._connect = connect
        self._local = threading.local()

    def client(self) -> Client:
        """The calling thread's client, created on first use."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._connect()
        return client

    def forget_client(self) -> None:
        """After a connection failure: the calling thread connects afresh next time."""
        self._local.client = None

    def _guarded(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except OperationalError:
            self.forget_client()
            raise

    async def run(self, work: Callable[[], T], deadline_s: float) -> T:
        """work() on one of the pool's threads; ClickHouseUnavailable if it fails to connect or takes longer than deadline_s."""
        # Cancelling the asyncio future at the deadline also cancels the pool's future: if work()
        # has not started yet, it never will.
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._guarded, work)
        try:
            return await asyncio.wait_for(future, deadline_s)
        except asyncio.TimeoutError:
            raise ClickHouseUnavailable(f"ClickHouse did not answer within {deadline_s:g} s") from None
        except OperationalError as exc:  # connection refused, reset or timed out
            raise ClickHouseUnavailable(str(exc).splitlines()[0][:300]) from None

    def close(self) -> None:
        # Threads blocked in a hung call end at their client's read timeout; nobody waits for them.
        self._pool.shutdown(wait=False, cancel_futures=True)
