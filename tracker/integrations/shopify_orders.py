"""A Shopify order (the body of an `orders/paid` webhook) as one `purchase` event of /api/event.

The purchase's transaction_id is the order's numeric id, as a string: the webhook's `id`
(`admin_graphql_api_id` is `gid://shopify/Order/<the same number>`), and what the pixel sends for
checkout_completed (its `checkout.order.id`, with a `gid://shopify/...` prefix removed). So an
order the pixel and the webhook both report is one transaction, and the ingest dedupe keeps the
first to arrive (tracker/ingest/intake.py dedupe_keys).

The signature: Shopify puts base64(HMAC-SHA256(secret, raw body)) in X-Shopify-Hmac-Sha256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from typing import Any

from tracker.errors import FieldError
from tracker.ingest import useragent
from tracker.ingest.event import MAX_ID, MAX_ITEMS, MAX_TEXT, MAX_URL, MAX_USER_AGENT
from tracker.ingest.payload import ip_ok, parse_timestamp_ms

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
# The event_id of an order's purchase is derived from site and order id: a resend is the same event.
EVENT_NAMESPACE = uuid.UUID("5d3c2a8e-6f1b-4c1e-9a57-2f0e8b6d4c31")
_GID = re.compile(r"^gid://shopify/\w+/")
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,4})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
HORIZON_MARGIN_MS = 3_600_000  # an order time this close to the backfill horizon is stored at receive time instead


class OrderError(ValueError):
    """The order lacks what a purchase needs; `fields` name Shopify's fields."""

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("the order cannot be stored as a purchase")
        self.fields = fields


def signature_valid(body: bytes, signature: str, secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("latin-1", "replace"))


def sign(body: bytes, secret: str) -> str:
    """What Shopify sends in X-Shopify-Hmac-Sha256 for `body` (for tests and for `curl` trials)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def order_id(order: dict) -> str | None:
    """The order's number as text, from `id` or else `admin_graphql_api_id`."""
    for raw in (order.get("id"), order.get("admin_graphql_api_id")):
        if isinstance(raw, bool) or raw is None:
            continue
        text = _GID.sub("", str(raw))
        if text.isdigit() and len(text) <= MAX_ID:
            return text
    return None


def customer_hash(customer_key: str, customer_id: Any) -> str:
    """A keyed hash of a Shopify customer id: stable per site, not reversible by counting ids."""
    return hmac.new(bytes.fromhex(customer_key), str(customer_id).encode(), hashlib.sha256).hexdigest()[:32]


def purchase_event(order: Any, site: str, customer_key: str, now_ms: int, horizon_ms: int,
                   shop_domain: str = "") -> dict:
    """The /api/event object for the order; OrderError naming Shopify's fields if it cannot be one."""
    if not isinstance(order, dict):
        raise OrderError([FieldError("order", "must be a JSON object (a Shopify order)")])
    errors: list[FieldError] = []
    transaction = order_id(order)
    if transaction is None:
        errors.append(FieldError("id", "must be the order's numeric id (or admin_graphql_api_id a gid://shopify/Order/ id)"))
    # In the buyer's currency, as the pixel's checkout.totalPrice is: whichever of the two is
    # stored, the order has the same value. Shops selling in one currency have it in both.
    presented = _presentment(order.get("total_price_set"))
    value = presented[0] if presented else _amount(order.get("total_price"))
    currency = presented[1] if presented else order.get("currency")
    if value is None:
        errors.append(FieldError("total_price", "must be an amount like \"59.90\""))
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        errors.append(FieldError("currency", "must be a 3-letter ISO 4217 code like EUR"))
    if errors:
        raise OrderError(errors)
    event: dict[str, Any] = {
        "site": site,
        "name": "purchase",
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{site}/{transaction}")),
        "transaction_id": transaction,
        "value": value,
        "currency": currency,
        "items": _items(order.get("line_items"), currency, order.get("currency")),
        "props": _props(order),
        **_order_fields(order, currency),
    }
    ts = _order_time(order, now_ms, horizon_ms)
    if ts is not None:
        event["ts"] = ts
    customer = order.get("customer")
    if isinstance(customer, dict) and customer.get("id") is not None:
        event["customer_id"] = customer_hash(customer_key, customer["id"])
    event.update(_shopper(order.get("client_details")))
    if "client_ip" not in event:
        # No browser behind the order (POS, draft orders, renewals): not one cookieless visitor of
        # Shopify's own address for all of them, but the customer's, else the order's own.
        event["visitor"] = f"shopify-customer:{event['customer_id']}" if "customer_id" in event else f"shopify-order:{transaction}"
    event.update(_pages(order, shop_domain))
    return event


def _amount(raw: Any) -> float | None:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    return float(raw) if isinstance(raw, str) and _AMOUNT.match(raw.strip()) else None


def _presentment(money_set: Any) -> tuple[float, str] | None:
    """(amount, currency) of a Shopify MoneyBag's presentment_money, if it has a valid one."""
    money = money_set.get("presentment_money") if isinstance(money_set, dict) else None
    if not isinstance(money, dict):
        return None
    amount, currency = _amount(money.get("amount")), money.get("currency_code")
    return (amount, currency) if amount is not None and isinstance(currency, str) and _CURRENCY.match(currency) else None


def _text(raw: Any, limit: int) -> str:
    return str(raw)[:limit] if raw is not None else ""


def _money(money_set: Any, raw: Any, currency: str, shop_currency: Any) -> float | None:
    """An amount in `currency`: a MoneyBag's presentment money in it, else the shop-currency amount
    `raw` when the shop's currency is it; None when the order has it only in another currency."""
    presented = _presentment(money_set)
    if presented and presented[1] == currency:
        return presented[0]
    return _amount(raw) if shop_currency == currency else None


def _order_fields(order: dict, currency: str) -> dict:
    """The order's coupon (its first discount code), shipping and tax, in the value's currency."""
    out: dict[str, Any] = {}
    shop_currency = order.get("currency")
    shipping_set = order.get("total_shipping_price_set")
    shop_shipping = shipping_set.get("shop_money") if isinstance(shipping_set, dict) else None
    shipping = _money(shipping_set, shop_shipping.get("amount") if isinstance(shop_shipping, dict) else None,
                      currency, shop_currency)
    tax = _money(order.get("total_tax_set"), order.get("total_tax"), currency, shop_currency)
    if shipping is not None:
        out["shipping"] = shipping
    if tax is not None:
        out["tax"] = tax
    codes = order.get("discount_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], dict) and isinstance(codes[0].get("code"), str):
        out["coupon"] = codes[0]["code"][:MAX_TEXT]
    return out


def _items(lines: Any, currency: str, shop_currency: Any) -> list[dict]:
    """Line items as our items: product id (the pixel's item_id), title, vendor as brand, variant
    title, unit price before discounts and the line's discount per unit, in `currency` (the value's;
    left out when the order has them only in another), quantity."""
    items = []
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        item_id = _text(line.get("product_id") if line.get("product_id") is not None else line.get("variant_id"), MAX_ID)
        name = _text(line.get("title") or line.get("name"), MAX_TEXT)
        if not item_id and not name:
            continue
        item: dict[str, Any] = {"item_id": item_id, "item_name": name}
        for key, field in (("vendor", "item_brand"), ("variant_title", "item_variant")):
            if isinstance(line.get(key), str) and line[key]:
                item[field] = line[key][:MAX_TEXT]
        price = _money(line.get("price_set"), line.get("price"), currency, shop_currency)
        if price is not None:
            item["price"] = price
        quantity = line.get("quantity")
        if isinstance(quantity, int) and not isinstance(quantity, bool) and 0 <= quantity <= 1_000_000:
            item["quantity"] = quantity
        discount = _line_discount(line, currency, shop_currency)
        if discount and item.get("quantity"):
            item["discount"] = round(discount / item["quantity"], 4)
        items.append(item)
    return items[:MAX_ITEMS]  # the order's value stays its total_price


def _line_discount(line: dict, currency: str, shop_currency: Any) -> float | None:
    """What the line's discounts took off it: its discount_allocations (Shopify's way), else the
    older total_discount; None when some of it is known only in another currency."""
    allocations = line.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        amounts = [_money(a.get("amount_set"), a.get("amount"), currency, shop_currency) if isinstance(a, dict) else None
                   for a in allocations]
        return None if None in amounts else sum(amounts)
    return _money(line.get("total_discount_set"), line.get("total_discount"), currency, shop_currency)


def _props(order: dict) -> dict:
    props = {"via": "shopify_webhook"}
    for key, prop in (("order_name", order.get("name")), ("source_name", order.get("source_name"))):
        if isinstance(prop, str) and prop != "":
            props[key] = prop[:512]
    token = order.get("checkout_token")
    if isinstance(token, str) and token:
        props["checkout_token"] = token[:512]  # as the pixel's checkout events carry it
    return props


def _order_time(order: dict, now_ms: int, horizon_ms: int) -> int | None:
    """When the order was placed, unless that is about to fall behind the backfill horizon
    (an order paid weeks later): then the receive time, so the purchase is not refused."""
    for key in ("processed_at", "created_at"):
        ts = parse_timestamp_ms(order.get(key))
        if ts is not None:
            return ts if now_ms - ts < horizon_ms - HORIZON_MARGIN_MS else None
    return None


def _shopper(details: Any) -> dict:
    """The buyer's IP and User-Agent as Shopify saw them: the same cookieless visitor hash as the
    pixel's events of that day get from the same browser. Never stored (docs/events.md)."""
    if not isinstance(details, dict):
        return {}
    out = {}
    ip = details.get("browser_ip")
    if isinstance(ip, str) and ip_ok(ip):
        out["client_ip"] = ip
    agent = details.get("user_agent")
    # An agent our bot filter would drop is left out rather than losing a paid order.
    if isinstance(agent, str) and 0 < len(agent) <= MAX_USER_AGENT and useragent.describe(agent) is not None:
        out["user_agent"] = agent
    return out


def _pages(order: dict, shop_domain: str) -> dict:
    """The visit's landing page (its UTM tags and click ids give the order's source) and referrer."""
    out = {}
    landing = order.get("landing_site")
    if isinstance(landing, str) and landing.startswith("/") and shop_domain:
        url = f"https://{shop_domain}{landing}"
        if len(url) <= MAX_URL:
            out["url"] = url
    referrer = order.get("referring_site")
    if isinstance(referrer, str) and referrer.startswith(("http://", "https://")) and len(referrer) <= MAX_URL:
        out["referrer"] = referrer
    return out
