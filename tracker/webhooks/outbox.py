"""The webhook outbox: an append-only log in ClickHouse (table webhook_outbox), shared by every
worker and every ingest node that talks to the same ClickHouse.

Why ClickHouse and not the local disk: the carts come from ClickHouse and several nodes may run
senders, so the record of what was announced has to be where all of them look. Exclusivity
comes from ClickHouse's insert deduplication: each row is inserted with a token that names it
(`notice`, `claim` or `outcome` of attempt n), and of several inserts with one token only the
first is stored, atomically (60 races of 6 concurrent inserts here left one row each time). A
sender that inserted a claim reads it back and sends only if the stored claim is its own.
(The insert's written_rows cannot tell: it reports 1 for a deduplicated insert too.)

Per webhook and cart the log holds: `notice` (attempt 0, with the body), then per attempt n a
`claim` (its due_at is the end of the claimer's lease) and `failed` (due_at: the retry) or
`delivered`; `gave_up` when the retry period is over, or `bought` when the cart was bought before
a delivery got through (a reminder then would only annoy the buyer). Guarantees: every attempt is made by at
most one process; a notice is delivered again only if its sender died (or lost ClickHouse)
between claiming an attempt and recording its outcome: then, once the lease ends, the next
attempt goes out with the same body and Idempotency-Key. So delivery is at least once, and
exactly once for receivers that drop repeated keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.clickhouse.client import as_utc
from tracker.webhooks.registry import Webhook

MAX_RETRY_DELAY_S = 3600.0
_COLUMNS = [
    "webhook_id", "idempotency_key", "attempt", "kind", "at", "due_at", "owner", "site", "visitor_id",
    "cart_started_at", "payload", "status", "error",
]


@dataclass(frozen=True)
class Notice:
    """One abandoned cart to announce to one webhook."""

    webhook_id: str
    idempotency_key: str
    site: str
    visitor_id: int
    cart_started_at: datetime
    payload: bytes  # the JSON body, the same on every attempt


@dataclass(frozen=True)
class Due:
    """A notice whose next attempt may be made now."""

    notice: Notice
    noticed_at: datetime
    attempt: int  # the attempt to make: 1 for the first


def retry_delay(attempt: int, first_s: float) -> float:
    """Seconds to wait after failed attempt n: first_s, doubling, at most an hour."""
    return min(first_s * 2 ** (attempt - 1), MAX_RETRY_DELAY_S)


def _insert(client, n: Notice, attempt: int, kind: str, token: str, at: datetime, due_at: datetime,
            owner: str = "", payload: bytes = b"", status: int = 0, error: str = "") -> None:
    row = [n.webhook_id, n.idempotency_key, attempt, kind, at, due_at, owner, n.site, n.visitor_id,
           n.cart_started_at, payload.decode(), status, error[:500]]
    client.insert(
        "webhook_outbox", [row], column_names=_COLUMNS,
        settings={"insert_deduplication_token": f"{n.webhook_id}:{n.idempotency_key}:{attempt}:{token}"},
    )


def add_notice(client, notice: Notice, now: datetime) -> None:
    """Queue the notice; a second add of the same one (another sender found the cart too) is a no-op."""
    _insert(client, notice, 0, "notice", "notice", now, now, payload=notice.payload)


def claim(client, due: Due, owner: str, now: datetime, lease_until: datetime) -> bool:
    """Try to become the one sender of this attempt; True if the stored claim is ours."""
    n = due.notice
    _insert(client, n, due.attempt, "claim", "claim", now, lease_until, owner=owner)
    rows = client.query(
        "SELECT owner FROM webhook_outbox WHERE webhook_id = {webhook_id:String} AND idempotency_key = {key:String}"
        " AND attempt = {attempt:UInt32} AND kind = 'claim'",
        parameters={"webhook_id": n.webhook_id, "key": n.idempotency_key, "attempt": due.attempt},
    ).result_rows
    return [r[0] for r in rows] == [owner]


def record_delivered(client, due: Due, now: datetime, status: int) -> None:
    _insert(client, due.notice, due.attempt, "delivered", "outcome", now, now, status=status)


def record_failed(client, due: Due, now: datetime, retry_at: datetime, status: int, error: str) -> None:
    _insert(client, due.notice, due.attempt, "failed", "outcome", now, retry_at, status=status, error=error)


def record_closed(client, due: Due, now: datetime, kind: str) -> None:
    """Close the notice without delivering it: kind is `gave_up` or `bought`."""
    _insert(client, due.notice, due.attempt, kind, "closed", now, now)


_OPEN = """
    FROM webhook_outbox
    WHERE webhook_id IN {webhook_ids:Array(String)} AND at >= {since:DateTime64(3)}
    GROUP BY webhook_id, idempotency_key
    -- Rows of notices older than `since` are cut off: only whole histories count.
    HAVING countIf(kind = 'notice') > 0 AND countIf(kind IN ('delivered', 'gave_up', 'bought')) = 0"""


def due(client, webhooks: list[Webhook], now: datetime, since: datetime, limit: int) -> list[Due]:
    """Open notices whose next attempt is due (new, failed and past their retry time, or claimed
    by a sender whose lease ran out), oldest first; only notices queued after `since` are read."""
    rows = client.query(
        f"""
        SELECT webhook_id, idempotency_key, any(site), any(visitor_id), any(cart_started_at),
            anyIf(payload, kind = 'notice'), minIf(at, kind = 'notice') AS noticed_at, max(attempt),
            argMax(due_at, (attempt, toInt8(kind))) AS next_at
        {_OPEN} AND next_at <= {{now:DateTime64(3)}}
        ORDER BY next_at
        LIMIT {{limit:UInt32}}""",
        parameters={"webhook_ids": [h.webhook_id for h in webhooks], "since": since, "now": now, "limit": limit},
    ).result_rows
    return [Due(Notice(r[0], r[1], r[2], r[3], as_utc(r[4]), r[5].encode()), as_utc(r[6]), r[7] + 1) for r in rows]


def depth(client, webhooks: list[Webhook], since: datetime) -> int:
    """Open notices (not delivered, given up or bought): the outbox depth."""
    return client.query(
        f"SELECT count() FROM (SELECT 1 {_OPEN})",
        parameters={"webhook_ids": [h.webhook_id for h in webhooks], "since": since},
    ).result_rows[0][0]
