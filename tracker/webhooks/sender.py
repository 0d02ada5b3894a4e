"""The webhook sender: a background task in each worker that queues newly abandoned carts in the
outbox and delivers the notices that are due.

One worker per node sends: the one holding the file lock data/webhooks/lock (if it dies, the OS
frees the lock and another worker takes over at its next round); the others only try the lock.
Across nodes, the outbox's claims (outbox.py) make sure each attempt has one sender.

Nothing here blocks the event loop or waits on a receiver: ClickHouse calls run on the sender's
own thread (tracker/clickhouse/threads.py), and each delivery is a task of its own, an httpx request with a total deadline of
TRACKER_WEBHOOK_TIMEOUT_S, so a receiver that never answers holds up neither ingest nor other
deliveries; its attempt fails at the deadline and is retried later.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
import time
from datetime import datetime, timedelta, timezone
from importlib.metadata import version

import httpx

from tracker import metrics
from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.threads import ClickHouseThreads
from tracker.config import Settings
from tracker.spool import try_lock
from tracker.webhooks import outbox, scan
from tracker.webhooks.registry import Webhook, list_webhooks
from tracker.webhooks.signing import ATTEMPT_HEADER, EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature

log = logging.getLogger("tracker.webhooks")

SCAN_LIMIT = 500  # new carts per webhook and round; more wait for the next round
MAX_IN_FLIGHT = 50  # deliveries under way at once; more wait for the next round
OUTBOX_MARGIN = timedelta(hours=1)  # notices are read back this long past their retry period
# The scan is the query API's abandoned-cart query in cost, but nobody waits on it: it gets up to the
# client's read timeout (60 s) rather than TRACKER_QUERY_MAX_EXECUTION_S, so a big shop's carts are
# still found on a slow day.
SCAN_SETTINGS = {"max_execution_time": 55}
CALL_DEADLINE_S = 65  # past the client's read timeout: a hung ClickHouse fails the round, no more
# Between full scans (the webhook's whole window), each round reads only what changed since the
# previous one (scan.new_notices `after`); the full scan catches what that cannot see: events that
# reached ClickHouse more than scan.RECEIVED_SLACK after they were received (a spool backlog).
FULL_SCAN_EVERY = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class WebhookSender:
    def __init__(self, settings: Settings, target: Target) -> None:
        self.settings = settings
        self.target = target
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.retry_for = timedelta(hours=settings.webhook_retry_for_h)
        # The claim outlives the request's deadline by enough to record its outcome.
        self.lease = timedelta(seconds=2 * settings.webhook_timeout_s + 5)
        self._clickhouse = ClickHouseThreads("webhooks", 1, lambda: connect(target))
        self._http: httpx.AsyncClient | None = None
        self._lock = None
        self._hooks: dict[str, Webhook] = {}
        self._in_flight: dict[tuple[str, str], asyncio.Task] = {}
        self._scanned: dict[str, scan.Scanned] = {}  # per webhook: what its last scan covered
        self._full_scan_at: dict[str, datetime] = {}  # per webhook: its last full scan
        self.scans = {"full": 0, "incremental": 0}  # for tests and logs
        self._task: asyncio.Task | None = None
        self.rounds = 0  # rounds completed, for tests and logs
        self._user_agent = f"funnelhouse/{version('funnelhouse')}"

    def start(self) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.webhook_timeout_s),
            limits=httpx.Limits(max_connections=MAX_IN_FLIGHT),
            follow_redirects=False,
        )
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        """No new rounds; deliveries under way get up to the timeout + 5 s to finish and record their
        outcome (else a restart would send them again). Those cut short stay claimed and go out
        again once their lease ends."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        in_flight = list(self._in_flight.values())
        if in_flight:
            await asyncio.wait(in_flight, timeout=self.settings.webhook_timeout_s + 5)
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        if self._http:
            await self._http.aclose()
        self._clickhouse.close()
        if self._lock:
            self._lock.close()
            self._lock = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # noqa: BLE001 - ClickHouse away: try again next round
                log.warning("webhook round failed", extra={"cause": str(exc)[:300]})
            await asyncio.sleep(self.settings.webhook_interval_s)

    def _elected(self) -> bool:
        if self._lock is None:
            self._lock = try_lock(self.settings.data_path / "webhooks")
        return self._lock is not None

    async def _db(self, work, *args):
        """work(client, *args) on the sender's ClickHouse thread."""
        return await self._clickhouse.run(lambda: work(self._clickhouse.client(), *args), CALL_DEADLINE_S)

    async def run_once(self) -> None:
        """One round: queue newly abandoned carts, start the deliveries that are due."""
        if not self._elected():
            return
        now = _now()
        hooks = await self._db(list_webhooks)
        self._hooks = {h.webhook_id: h for h in hooks}
        if not hooks:
            metrics.WEBHOOK_OUTBOX_DEPTH.set(0)
            self.rounds += 1
            return
        s = self.settings
        window = scan.ScanWindow(now, self.retry_for.total_seconds(), s.cart_lookback_days, s.session_gap_minutes * 60, SCAN_LIMIT)
        for hook in hooks:
            await self._scan(hook, window)
        since = now - self.retry_for - OUTBOX_MARGIN
        for due in await self._db(outbox.due, hooks, now, since, MAX_IN_FLIGHT):
            key = (due.notice.webhook_id, due.notice.idempotency_key)
            if key in self._in_flight or len(self._in_flight) >= MAX_IN_FLIGHT:
                continue
            task = asyncio.create_task(self._attempt(due), name=f"webhook-{key[1]}")
            self._in_flight[key] = task
            task.add_done_callback(lambda _, key=key: self._in_flight.pop(key, None))
        metrics.WEBHOOK_OUTBOX_DEPTH.set(await self._db(outbox.depth, hooks, since))
        self.rounds += 1

    async def _scan(self, hook: Webhook, window: scan.ScanWindow) -> None:
        """Queue the hook's newly abandoned carts; remember what was covered only once all are queued."""
        full_at = self._full_scan_at.get(hook.webhook_id)
        full = full_at is None or window.now - full_at >= FULL_SCAN_EVERY
        after = None if full else self._scanned.get(hook.webhook_id)
        self.scans["full" if after is None else "incremental"] += 1
        notices = await self._db(functools.partial(scan.new_notices, settings=SCAN_SETTINGS, after=after), hook, window)
        for notice in notices:
            await self._db(outbox.add_notice, notice, window.now)
            metrics.WEBHOOK_NOTICES.inc()
        if len(notices) >= window.limit:
            return  # more carts wait: the next round looks at the same stretch again
        self._scanned[hook.webhook_id] = scan.Scanned(scan.idle_end(hook, window), window.now)
        if after is None:
            self._full_scan_at[hook.webhook_id] = window.now

    async def _attempt(self, due: outbox.Due) -> None:
        hook = self._hooks.get(due.notice.webhook_id)
        try:
            now = _now()
            if hook is None:
                return  # removed meanwhile
            if now >= due.noticed_at + self.retry_for:
                await self._db(outbox.record_closed, due, now, "gave_up")
                metrics.WEBHOOK_DELIVERIES.labels("gave_up").inc()
                log.warning("webhook delivery given up", extra={"webhook": hook.webhook_id, "key": due.notice.idempotency_key,
                                                                "attempts": due.attempt - 1})
                return
            if await self._db(scan.bought_since_notice, due.notice):
                await self._db(outbox.record_closed, due, now, "bought")
                metrics.WEBHOOK_DELIVERIES.labels("bought").inc()
                return
            if not await self._db(outbox.claim, due, self.owner, now, now + self.lease):
                return  # another sender has this attempt
            outcome, status, error = await self._post(hook, due)
            done = _now()
            if outcome == "delivered":
                await self._db(outbox.record_delivered, due, done, status)
            else:
                retry_at = done + timedelta(seconds=outbox.retry_delay(due.attempt, self.settings.webhook_retry_first_s))
                await self._db(outbox.record_failed, due, done, retry_at, status, error)
                log.warning("webhook delivery failed, will retry", extra={
                    "webhook": hook.webhook_id, "key": due.notice.idempotency_key, "attempt": due.attempt,
                    "outcome": outcome, "status": status, "cause": error, "retry_at": retry_at.isoformat()})
            metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        except Exception as exc:  # noqa: BLE001 - the claim's lease ends and the next round retries
            log.warning("webhook attempt interrupted", extra={"key": due.notice.idempotency_key, "cause": str(exc)[:300]})

    async def _post(self, hook: Webhook, due: outbox.Due) -> tuple[str, int, str]:
        """(outcome, HTTP status or 0, error text) of one POST."""
        body = due.notice.payload
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            IDEMPOTENCY_HEADER: due.notice.idempotency_key,
            SIGNATURE_HEADER: signature(hook.secret, int(time.time()), body),
            EVENT_HEADER: scan.EVENT_TYPE,
            ATTEMPT_HEADER: str(due.attempt),
        }
        timeout = self.settings.webhook_timeout_s
        try:
            # httpx's timeout bounds each read; this bounds the whole exchange (a slow trickle too).
            async with asyncio.timeout(timeout):
                response = await self._http.post(hook.url, content=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            return "timeout", 0, f"no answer within {timeout:g} s"
        except httpx.HTTPError as exc:
            return "connection_error", 0, str(exc) or type(exc).__name__
        if 200 <= response.status_code < 300:
            return "delivered", response.status_code, ""
        return "http_error", response.status_code, response.text[:200]
