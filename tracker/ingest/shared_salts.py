"""The daily salts of the cookieless visitor id, kept in ClickHouse so that every ingest node and
worker uses the same one: a visitor whose requests reach two nodes keeps one visitor id.

The table (schema/migrations/0070_visitor_salts.sql) holds today's salt and tomorrow's. Whoever
needs a day's salt first creates it: a random candidate inserted with the insert_deduplication_token
`visitor-salt:<day>`, so of candidates inserted at once only the first is stored, and then read
back. Readers take argMin(salt, (created, salt)) per day, so even if two candidates were stored (a
cluster without shared deduplication) every node reads the same winner, and a node that used its
own candidate for a moment switches to the winner at its next refresh.

Each worker keeps the salts in memory: `current()` runs per event on the event loop and never
touches ClickHouse. A background task (`keep_fresh_forever`) reads them on the control threads
every SALT_REFRESH_S and just after midnight UTC; tomorrow's salt is created a day ahead, so a node
that cannot reach ClickHouse at midnight still switches to the shared salt of the new day. A node
that has no shared salt for today (ClickHouse unreachable at its start and the whole day before)
does not refuse events: it uses the node's own daily salt in the data directory (tracker/ingest/
salts.py, shared by its workers, as before the shared salts) and moves to the shared salt once
ClickHouse answers; its visitors of that time count apart from the same visitors on other nodes.

The previous day's salt is deleted as before: when a day starts, the first refresh of any node
drops the past days' partitions (their parts leave the disk, they are not merely masked), the
workers forget them, and the node's own daily salt files of other days are deleted, so nobody can
recompute or link yesterday's visitor ids. A node whose clock runs behind never re-creates a day
the others have already left (see `_offer_missing`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time
from typing import Awaitable, Callable, TypeVar

from tracker.ingest.salts import DailySalts

T = TypeVar("T")
log = logging.getLogger("tracker.salts")

TABLE = "visitor_salts"
SALT_REFRESH_S = 60.0  # how soon a worker learns a winner that differs from its own candidate
SALT_RETRY_S = 5.0  # after a failed refresh
# The first refresh, before the worker serves: it may wait longer than a request's control call
# (the worker waited for its migrations already), so that a busy ClickHouse at start does not
# make the node hash its first visitors with a salt of its own.
START_DEADLINE_S = 30.0
AFTER_MIDNIGHT_S = 1.0  # the refresh that drops yesterday's salt runs this long after midnight UTC
EPOCH = dt.date(1970, 1, 1)
_READ = f"SELECT day, argMin(salt, (created, salt)) FROM {TABLE} GROUP BY day"


def day_number(now: float) -> int:
    """Days since the epoch, UTC."""
    return int(now // 86_400)


def fetch(client, now: float) -> dict[int, bytes]:
    """Today's and tomorrow's shared salts by day number, each created if missing; past days' deleted.

    Blocking: call it on a ClickHouse thread."""
    today = day_number(now)
    stored = _read(client)
    if _offer_missing(client, stored, today):
        stored = _read(client)
    for day in [d for d in stored if d < today]:
        client.command(f"ALTER TABLE {TABLE} DROP PARTITION {{day:Date}}", parameters={"day": EPOCH + dt.timedelta(days=day)})
    return {day: salt for day, salt in stored.items() if day >= today}


def _read(client) -> dict[int, bytes]:
    return {(day - EPOCH).days: bytes.fromhex(salt) for day, salt in client.query(_READ).result_rows}


def _offer_missing(client, stored: dict[int, bytes], today: int) -> bool:
    """Insert a candidate for today and tomorrow where none is stored; True if any was offered.

    Not for a day that others have left: a node whose clock runs behind (still "today" for it, the
    others' yesterday, already dropped) would otherwise re-create the salt of a day that is over."""
    newest = max(stored, default=today)
    missing = [day for day in (today, today + 1) if day not in stored and newest <= day + 1]
    now = dt.datetime.now(dt.timezone.utc)
    for day in missing:
        date = EPOCH + dt.timedelta(days=day)
        # The salt travels in the insert's body, never in query text (which system.query_log keeps).
        client.insert(TABLE, [[date, secrets.token_bytes(32).hex(), now]], column_names=["day", "salt", "created"],
                      settings={"insert_deduplication_token": f"visitor-salt:{date.isoformat()}"})
    return bool(missing)


class SharedSalts:
    """The worker's salts: `current(now)` is what tracker/ingest/steps.py VisitorIds hashes with."""

    def __init__(self, fallback: DailySalts) -> None:
        self.fallback = fallback  # the node's own daily salt, while no shared one is known
        self._shared: dict[int, bytes] = {}  # day number -> salt, as last read from ClickHouse
        self._day = -1  # the day _salt is for; -1 after learn(), so the next call looks again
        self._salt = b""
        self._warned_day = -1
        self._refreshed = False

    def current(self, now: float | None = None) -> bytes:
        now = time.time() if now is None else now
        day = day_number(now)
        if day != self._day:
            salt = self._shared.get(day)
            if salt is None:
                salt = self.fallback.current(now)
                if self._warned_day != day:
                    self._warned_day = day
                    log.warning("no shared visitor salt for today yet: this node's own until ClickHouse answers")
            self._salt, self._day = salt, day
            self._shared = {d: s for d, s in self._shared.items() if d >= day}  # yesterday's is forgotten
        return self._salt

    @property
    def shared_today(self) -> bool:
        return day_number(time.time()) in self._shared

    def learn(self, salts: dict[int, bytes], now: float | None = None) -> None:
        """The salts fetch() read. What ClickHouse says wins; a day it no longer holds but this
        worker still needs (its clock a little behind another node's) stays until its midnight."""
        today = day_number(time.time() if now is None else now)
        self._shared = {d: s for d, s in {**self._shared, **salts}.items() if d >= today}
        self._day = -1

    async def refresh(self, run: Callable[[Callable[[], T]], Awaitable[T]], client: Callable[[], object]) -> bool:
        """One fetch on the caller's ClickHouse threads (`run`, with its deadline); False if it failed."""
        now = time.time()
        try:
            salts = await run(lambda: self._fetch_and_prune(client(), now))
        except Exception as exc:  # unreachable, hung or failing: the known salts stay in use
            log.warning("visitor salts not refreshed", extra={"cause": str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__})
            self._refreshed = False
            return False
        self.learn(salts, now)
        self._refreshed = True
        return True

    def load(self, client) -> None:
        """A blocking refresh, for commands without an event loop (the CLI's import)."""
        now = time.time()
        self.learn(self._fetch_and_prune(client, now), now)
        self._refreshed = True

    def _fetch_and_prune(self, client, now: float) -> dict[int, bytes]:
        salts = fetch(client, now)
        self.fallback.prune(now)
        return salts

    async def keep_fresh_forever(self, run: Callable[[Callable[[], T]], Awaitable[T]], client: Callable[[], object]) -> None:
        """Refresh every SALT_REFRESH_S (SALT_RETRY_S while failing or without today's), and just after midnight UTC."""
        while True:
            wait = SALT_REFRESH_S if self._refreshed and self.shared_today else SALT_RETRY_S
            await asyncio.sleep(min(wait, 86_400 - time.time() % 86_400 + AFTER_MIDNIGHT_S))
            await self.refresh(run, client)
