"""POST /integrations/shopify/{site}/orders: Shopify's `orders/paid` webhook, stored as a server-side purchase.

    read the raw body (size and time limits of tracker/http/ingest.py)
    check X-Shopify-Hmac-Sha256 against the site's secret (shopify_secrets.py)   401 unauthorized
    map the order to a purchase (shopify_orders.py)                             400 invalid_order
    hand it to the ingest intake as a backend's event of this site              as /api/event
    200 only once the purchase is durable (or dropped as a duplicate: already stored)

Nothing is stored before the signature checks out. The intake is the one of /api/event: the
same spool, the same rate limit per site, and the same transaction dedupe, so the pixel's
checkout_completed and this webhook (and Shopify's retries of it) count as one order.
"""

from __future__ import annotations

import logging
import time

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import ApiError, FieldError, clickhouse_unavailable
from tracker.http.ingest import STATUS, ClientGone, client_ip, read_body
from tracker.http.responses import json_response
from tracker.ingest.refusal import Refused
from tracker.ingest.steps import RequestInfo
from tracker.integrations import shopify_checkouts, shopify_orders
from tracker.integrations.shopify_orders import SIGNATURE_HEADER, OrderError
from tracker.integrations.shopify_secrets import ShopSecrets

PATH = "/integrations/shopify/{site}/orders"
# Orders with many line items are large (Shopify sends every tax line and price set of each):
# more room than /api/event's TRACKER_MAX_BODY_BYTES, still bounded.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Topics whose body is an order that counts as a purchase; others get 200 (so Shopify does not
# retry them) and store nothing.
PURCHASE_TOPICS = ("orders/paid", "orders/create")

log = logging.getLogger("tracker.integrations")


async def orders(request: Request) -> Response:
    tracker = request.app.state.tracker
    settings = tracker.settings
    site = request.path_params["site"]
    headers = dict(request.scope["headers"])
    received_at_ms = int(time.time() * 1000)
    try:
        body = await read_body(request.receive, headers, MAX_BODY_BYTES, settings.body_timeout_s, tracker.body_deadlines)
    except ClientGone:
        return Response(status_code=499)  # nobody is left to read an answer

    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise _unauthorized("missing: Shopify signs every webhook")
    shop = await _secrets(tracker, site)
    if shop is None or not shopify_orders.signature_valid(body, signature, shop.webhook_secret):
        shop = await _secrets(tracker, site, fresh=True)  # the secret may have been changed a moment ago
        if shop is None:
            raise _unauthorized(f"no Shopify secret is set for site {site[:64]!r} (python -m tracker shopify secret SITE)")
        if not shopify_orders.signature_valid(body, signature, shop.webhook_secret):
            raise _unauthorized("does not match the body signed with the site's Shopify secret")

    topic = request.headers.get("x-shopify-topic", "orders/paid")
    if topic not in PURCHASE_TOPICS:
        return json_response({"accepted": 0, "dropped": {}, "rejected": [], "ignored": f"topic {topic[:64]} is no purchase"})
    try:
        order = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    try:
        event = shopify_orders.purchase_event(order, site, shop.customer_key, received_at_ms,
                                              settings.backfill_horizon_days * 86_400_000,
                                              request.headers.get("x-shopify-shop-domain", ""))
    except OrderError as exc:
        raise ApiError(400, "invalid_order", "the order cannot be stored as a purchase", exc.fields) from None

    token = order.get("checkout_token")
    if isinstance(token, str) and 0 < len(token) <= 256:
        event.update(await _checkout_shopper(tracker, site, token))

    # As a backend of the site: no per-IP limit (Shopify is one address for every shop), the
    # buyer's IP and User-Agent from the order stand in for Shopify's own.
    info = RequestInfo(client_ip(request.scope), "", received_at_ms, None, key_site=site)
    try:
        receipt = await tracker.intake.accept(orjson.dumps({"site": site, "events": [event]}), info)
    except Refused as refused:
        retry = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s is not None else {}
        raise ApiError(STATUS[refused.reason], refused.reason, refused.message, refused.fields, retry) from None
    log.info("shopify order", extra={"site": site, "accepted": receipt.accepted, "dropped": receipt.dropped,
                                     "webhook_id": request.headers.get("x-shopify-webhook-id", "")[:64]})
    return json_response({"accepted": receipt.accepted, "dropped": receipt.dropped, "rejected": receipt.rejected})


async def _secrets(tracker, site: str, fresh: bool = False) -> ShopSecrets | None:
    cache = tracker.shopify_secrets
    if not fresh:
        found = cache.cached(site)
        if found is not None:
            return found
    try:
        return await tracker.run_control(lambda: cache.lookup(site, tracker.control.client, fresh))
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None


async def _checkout_shopper(tracker, site: str, token: str) -> dict[str, str]:
    """The pixel's visitor and session of the order's checkout; {} if none, or if ClickHouse cannot
    say in time: the purchase is stored all the same (with the buyer's IP and User-Agent)."""
    try:
        return await tracker.run_control(lambda: shopify_checkouts.shopper_of(tracker.control.client(), site, token))
    except Exception as exc:  # noqa: BLE001 - an enrichment: never the reason an order is lost
        log.warning("checkout visitor lookup failed", extra={"site": site, "cause": str(exc)[:300]})
        return {}


def _unauthorized(reason: str) -> ApiError:
    return ApiError(401, "unauthorized", "the webhook's signature is not valid for this site",
                    [FieldError(SIGNATURE_HEADER, reason)])
