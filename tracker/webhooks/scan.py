"""Newly abandoned carts of one webhook: a bounded query over the abandoned_carts view.

A cart qualifies when it went idle for longer than the webhook's `idle` (so it is abandoned
now), became abandoned after the webhook was added (adding one does not announce yesterday's
carts), at most `horizon` ago (after a long outage, late reminders are worse than none), and has
no notice for this webhook yet. Cart events are read from `lookback_days` before that, like the
query API does, so the cart's contents and its first activity are the same as there.

A full scan keeps only visitors with cart activity inside that window (a cart's last activity is
such an event), which ClickHouse pushes into part of the carts view's per-visitor work. The
sender runs one at its start and hourly; between them each round is incremental (`after`: what
the previous round covered), reading only the visitors whose cart activity crossed the idle
threshold or arrived since, and only their events (docs/webhooks.md has what that does and does
not catch, and the rows read: bench/webhook_scan.py).

A cart is known by (site, visitor, first activity): its idempotency key is derived from those,
so every sender computes the same key for it, and /carts/recovered finds the notice by them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson

from tracker.clickhouse.client import as_utc
from tracker.queries.carts import CART_COLUMNS, SOURCES, CartQuery, cart_answer, read_params
from tracker.queries.durations import format_duration
from tracker.queries.timerange import TimeRange
from tracker.webhooks.outbox import Notice
from tracker.webhooks.registry import Webhook

EVENT_TYPE = "cart.abandoned"
# A cart's activity, as schema/views/50_carts.sql counts it (tests/webhooks/test_scan.py compares).
CART_ACTIVITY = ("add_to_cart", "remove_from_cart", "view_cart", "begin_checkout", "add_shipping_info", "add_payment_info")
# A late event counts as new if received at most this long before the previous scan: the spool's
# way into ClickHouse (flush interval, a retried insert) takes seconds; longer is left to full scans.
RECEIVED_SLACK = timedelta(minutes=2)
# Visitors an incremental scan passes to the carts view by id; more are read as a subquery.
MAX_CANDIDATES = 1000
# Visitors whose cart activity may have made a cart abandoned since the previous scan (the
# parameters band_from and received_from; for a full scan both are `start`: every such visitor).
_CANDIDATES = """FROM events
    WHERE site = {site:String} AND ts >= {start:DateTime64(3)} AND ts < {idle_end:DateTime64(3)}
        AND name IN {activity:Array(String)}
        AND (ts >= {band_from:DateTime64(3)} OR received_at >= {received_from:DateTime64(3)})"""
# The candidates of an incremental scan, narrowed to visitors with no cart activity or purchase
# since idle_end: any such event means their carts are bought or still active (the carts view's
# rules), so only the visitors whose carts may really be newly abandoned are read by the view.
_CHANGED = """
    SELECT visitor_id FROM events
    WHERE site = {site:String} AND ts >= {start:DateTime64(3)} AND (name IN {activity:Array(String)} OR name = 'purchase')
    GROUP BY visitor_id
    HAVING countIf(ts >= {idle_end:DateTime64(3)}) = 0
        AND countIf(name IN {activity:Array(String)} AND ts < {idle_end:DateTime64(3)}
                    AND (ts >= {band_from:DateTime64(3)} OR received_at >= {received_from:DateTime64(3)})) > 0
    LIMIT {cap:UInt32}"""
_KEYS = uuid.UUID("5d3c3f4e-7b0e-4c55-9a51-6b1f2f0c9a11")  # namespace of the idempotency keys
UTC = timezone.utc


@dataclass(frozen=True)
class ScanWindow:
    now: datetime
    horizon_s: float
    lookback_days: int
    gap_s: int
    limit: int


@dataclass(frozen=True)
class Scanned:
    """How far a webhook's previous scan looked: every cart whose last activity was before idle_end
    (now - idle, at that scan) was considered, with the events received before received_to."""

    idle_end: datetime
    received_to: datetime


def idle_end(hook: Webhook, w: ScanWindow) -> datetime:
    """Carts whose last activity is before this are abandoned at w.now (to the millisecond, as stored)."""
    end = w.now - timedelta(seconds=hook.idle_s)
    return end.replace(microsecond=end.microsecond // 1000 * 1000)


def idempotency_key(site: str, visitor_id: int, started_at: datetime) -> str:
    return str(uuid.uuid5(_KEYS, f"{site}:{visitor_id}:{round(started_at.timestamp() * 1000)}"))


def new_notices(client, hook: Webhook, w: ScanWindow, settings: dict | None = None,
                after: Scanned | None = None) -> list[Notice]:
    """The carts to announce now. after: what this webhook's previous scan covered (None: look at
    the whole window). Then only visitors with cart activity that crossed the idle threshold since
    (ts in [after.idle_end, idle_end)) or that arrived since (received since after.received_to:
    late events, an old timestamp received now) are looked at, and only their events are read."""
    since = max(w.now - timedelta(seconds=hook.idle_s + w.horizon_s), hook.created_at - timedelta(seconds=hook.idle_s))
    end = idle_end(hook, w)
    params = {"site": hook.site, "start": since, "idle_end": end, "activity": list(CART_ACTIVITY),
              "band_from": since, "received_from": since}
    visitors: tuple[int, ...] = ()
    if after is not None:
        params.update(band_from=max(since, after.idle_end), received_from=after.received_to - RECEIVED_SLACK)
        found = client.query(_CHANGED, parameters={**params, "cap": MAX_CANDIDATES + 1}, settings=settings).result_rows
        if not found:
            return []
        if len(found) <= MAX_CANDIDATES:  # else (a burst of late events) they are read as a subquery
            visitors = tuple(sorted(v for (v,) in found))
    # The carts of the query API's abandoned list for the range since..now (read_from is
    # lookback_days before since), so a cart here is the same as there.
    q = CartQuery(hook.site, "abandoned", TimeRange(since, w.now, "UTC"), hook.idle_s, w.gap_s, w.lookback_days, w.now,
                  visitors=visitors)
    # Given the visitors, the view reads their events only; else the candidates filter the carts,
    # which ClickHouse pushes into part of the view's per-visitor work.
    candidates = "1" if visitors else f"visitor_id IN (SELECT visitor_id {_CANDIDATES})"
    rows = client.query(
        f"""
        SELECT {CART_COLUMNS}
        FROM {SOURCES["abandoned"]}
        WHERE last_activity >= {{start:DateTime64(3)}}
            AND {candidates}
            AND (visitor_id, started_at) NOT IN (
                SELECT visitor_id, cart_started_at FROM webhook_outbox
                WHERE webhook_id = {{webhook_id:String}} AND kind = 'notice' AND cart_started_at >= {{read_from:DateTime64(3)}})
        ORDER BY last_activity, visitor_id
        LIMIT {{limit:UInt32}}""",
        parameters={**read_params(q), **params, "webhook_id": hook.webhook_id, "limit": w.limit},
        settings=settings,
    )
    notices = []
    for row in (dict(zip(rows.column_names, r)) for r in rows.result_rows):
        started_at = as_utc(row["started_at"])
        key = idempotency_key(hook.site, row["visitor_id"], started_at)
        notices.append(Notice(hook.webhook_id, key, hook.site, row["visitor_id"], started_at, payload(hook, key, row, w.now)))
    return notices


def payload(hook: Webhook, key: str, row: dict, now: datetime) -> bytes:
    """The delivery's JSON body: the cart as /carts/abandoned lists it (times in UTC)."""
    cart = cart_answer(row, "abandoned", UTC)
    del cart["cart_id"]  # the API's cart number depends on the range read; the notice's `id` is stable
    return orjson.dumps({
        "type": EVENT_TYPE,
        "id": key,
        "site": hook.site,
        "webhook_id": hook.webhook_id,
        "idle": format_duration(hook.idle_s),
        "created_at": now.astimezone(UTC).isoformat(timespec="milliseconds"),
        "cart": cart,
    })


def bought_since_notice(client, notice: Notice) -> bool:
    """Whether the visitor bought after the cart started: that purchase closed the cart."""
    return client.query(
        "SELECT count() > 0 FROM events WHERE site = {site:String} AND visitor_id = {visitor:UInt64}"
        " AND ts >= {started:DateTime64(3)} AND name = 'purchase'",
        parameters={"site": notice.site, "visitor": notice.visitor_id, "started": notice.cart_started_at},
    ).result_rows[0][0] == 1
