"""One throttled reload of a cached list (sites, query tokens, ingest keys), shared by everyone waiting.

A worker keeps such lists in memory and reloads one when a request names something it does not
know (a site added, a key created a moment ago). Two rules pull against each other:

- a request is told "unknown" only by a list whose load began after the request arrived: an
  older copy may predate the thing it names, and refusing a valid site or key loses events;
- however many unknown names arrive, ClickHouse sees at most one reload every `gap_s`.

So a request meeting an unknown name waits (on the event loop: the load itself runs off it, with
its own deadline) for the next reload the throttle allows, and every request of that moment shares
that one reload. A reload that failed after the request arrived is its answer (ReloadFailed:
ClickHouse is away now, and waiting for another attempt would only double the request's wait);
a list that began loading before the request arrived does not count, and the next one is waited for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

log = logging.getLogger("tracker.reloads")


class ReloadFailed(RuntimeError):
    """No list loaded after the request arrived could be had (ClickHouse down or hung past the wait)."""


class SharedReload:
    def __init__(self, load: Callable[[], Awaitable[None]], gap_s: float, name: str) -> None:
        self._load = load  # loads and keeps the list; raises when it cannot (its own deadline included)
        self.gap_s = gap_s
        self.name = name
        self.loads = 0  # reloads begun, failed ones included
        self.good_from = float("-inf")  # when the last successful reload began (monotonic)
        self._failed_at = float("-inf")  # when the last failed reload ended
        self._failure = ""
        self._started = float("-inf")  # when the last reload began: the throttle counts from here
        self._reload: asyncio.Task | None = None  # the reload running or scheduled, if any
        self._reload_at_s = float("-inf")  # when that reload begins or began

    async def loaded_since(self, since: float, wait_s: float | None = None) -> None:
        """Return once a reload that began at or after `since` (time.monotonic()) has succeeded.

        wait_s: how long to wait for ClickHouse once that reload has begun (None: as long as the
        load's own deadline). Each pass waits for one reload to end, so this ends after at most
        two: the one already running when the request arrived, and the one after it."""
        while self.good_from < since:
            if self._reload is None or self._reload.done():
                if self._failed_at >= since:
                    raise ReloadFailed(f"the {self.name} could not be loaded from ClickHouse: {self._failure}")
                self._reload_at_s = max(time.monotonic(), self._started + self.gap_s)
                self._reload = asyncio.create_task(self._reload_at(self._reload_at_s), name=f"reload {self.name}")
            # shield: a request that stops waiting must not cancel the reload others share
            if wait_s is None:
                await asyncio.shield(self._reload)
                continue
            try:
                await asyncio.wait_for(asyncio.shield(self._reload), max(0.0, self._reload_at_s + wait_s - time.monotonic()))
            except asyncio.TimeoutError:
                raise ReloadFailed(f"ClickHouse did not return the {self.name} within {wait_s:g} s") from None

    async def _reload_at(self, start_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        started = self._started = time.monotonic()
        self.loads += 1
        try:
            await self._load()
        except Exception as exc:  # noqa: BLE001 - keep serving with the last known list
            self._failed_at, self._failure = time.monotonic(), str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            log.warning("%s reload failed", self.name, extra={"cause": self._failure})
            return
        self.good_from = started
