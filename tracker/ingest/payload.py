"""Validate and normalise one event from the client, with short field errors: the detailed validator.

The accepted fields are documented in docs/events.md. Unknown fields are errors, so a typo in
a shop's integration shows up at once instead of as silently missing data. Requests normally pass
the compiled fast path (tracker/ingest/wire.py); this validator runs for those it does not accept,
and is what names each bad field.
"""

from __future__ import annotations

import math
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tracker.errors import FieldError
from tracker.ingest.event import (
    MAX_ID, MAX_IP, MAX_ITEMS, MAX_NAME, MAX_PROP_KEY, MAX_PROP_VALUE, MAX_PROPS, MAX_QUANTITY, MAX_TEXT, MAX_TS,
    MAX_TS_TEXT, MAX_URL, MAX_USER_AGENT, MAX_VALUE, Event, Item,
)

NAME = re.compile(r"^[A-Za-z0-9_.:\- ]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

EVENT_FIELDS = frozenset(Event.__struct_fields__)
ITEM_FIELDS = frozenset(Item.__struct_fields__)
# An item's optional texts (GA4's names), each at most MAX_TEXT characters.
ITEM_TEXTS = ("item_category", "item_category2", "item_category3", "item_category4", "item_category5",
              "item_brand", "item_variant")


@dataclass(frozen=True)
class Clock:
    """Receive-time context for timestamps: now, the client's send time, and the backfill horizon."""

    now_ms: int
    horizon_ms: int
    sent_at_ms: int | None = None

    def place(self, ts_ms: int, sent_at_ms: int | None) -> int | None:
        """The event's time on our clock, at most now; None when it is older than the horizon."""
        if sent_at_ms is not None:
            ts_ms += self.now_ms - sent_at_ms  # the client's clock is off by as much as its send time
        if ts_ms < self.now_ms - self.horizon_ms:
            return None
        return min(ts_ms, self.now_ms)  # no events from the future


class _Errors:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[FieldError] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(FieldError(f"{self.prefix}.{path}" if self.prefix else path, reason))


def parse_event(raw: Any, clock: Clock, prefix: str = "", default_site: str | None = None) -> Event | list[FieldError]:
    errors = _Errors(prefix)
    if not isinstance(raw, dict):
        return [FieldError(prefix or "event", "must be an object")]
    for key in raw:
        if key not in EVENT_FIELDS:
            errors.add(str(key)[:64], "unknown field")

    site = _string(raw, "site", errors, MAX_NAME, required=default_site is None) or default_site or ""
    name = _string(raw, "name", errors, MAX_NAME, required=True)
    if name and not NAME.match(name):
        errors.add("name", "may contain only letters, digits, space and _ . : -")
    url = _url(raw, "url", errors)
    referrer = _url(raw, "referrer", errors)
    event_id = _event_id(raw, errors)
    ts_ms = _timestamp(raw, clock, errors)
    value = _number(raw, "value", errors, -MAX_VALUE, MAX_VALUE)
    currency = _string(raw, "currency", errors, 3)
    if currency and not _CURRENCY.match(currency):
        errors.add("currency", "must be a 3-letter ISO 4217 code in capitals, like EUR")
    coupon = _string(raw, "coupon", errors, MAX_TEXT)
    shipping = _number(raw, "shipping", errors, -MAX_VALUE, MAX_VALUE)
    tax = _number(raw, "tax", errors, -MAX_VALUE, MAX_VALUE)
    items = _items(raw.get("items"), errors)
    if not currency:
        if value is not None or any(i.price for i in items):
            errors.add("currency", "is required when value or item prices are given")
        elif shipping is not None or tax is not None or any(i.discount for i in items):
            errors.add("currency", "is required when shipping, tax or item discounts are given")
    props = _props(raw.get("props"), errors)
    visitor = _string(raw, "visitor", errors, MAX_ID)
    session = _string(raw, "session", errors, MAX_ID)
    customer_id = _string(raw, "customer_id", errors, MAX_ID)
    transaction_id = _string(raw, "transaction_id", errors, MAX_ID)
    client_ip = _string(raw, "client_ip", errors, MAX_IP)
    if client_ip and not ip_ok(client_ip):
        errors.add("client_ip", "must be an IPv4 or IPv6 address")
    user_agent = _string(raw, "user_agent", errors, MAX_USER_AGENT)
    if errors.items:
        return errors.items
    return Event(
        site=site, name=name, ts=ts_ms, event_id=event_id, url=url, referrer=referrer, visitor=visitor,
        session=session, customer_id=customer_id, props=props, transaction_id=transaction_id, value=value,
        currency=currency, coupon=coupon, shipping=shipping, tax=tax, items=items, client_ip=client_ip,
        user_agent=user_agent,
    )


def ip_ok(text: str) -> bool:
    """An IPv4 or IPv6 address (socket's C parser: a tenth of ipaddress's cost, which an import pays per row)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):  # ValueError: an embedded NUL
            pass
    return False


def parse_timestamp_ms(value: Any) -> int | None:
    """Milliseconds since the epoch from a number (ms) or an ISO-8601 string; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if math.isfinite(value) and 0 <= value < MAX_TS else None
    if isinstance(value, str) and len(value) <= MAX_TS_TEXT:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return int(parsed.timestamp() * 1000)
    return None


def _timestamp(raw: dict, clock: Clock, errors: _Errors) -> int:
    if "sent_at" in raw:
        sent_at = parse_timestamp_ms(raw["sent_at"])
        if sent_at is None:
            errors.add("sent_at", "must be milliseconds since the epoch or an ISO-8601 time")
    else:
        sent_at = clock.sent_at_ms
    if "ts" not in raw or raw["ts"] is None:
        return clock.now_ms
    ts = parse_timestamp_ms(raw["ts"])
    if ts is None:
        errors.add("ts", "must be milliseconds since the epoch or an ISO-8601 time")
        return clock.now_ms
    placed = clock.place(ts, sent_at)
    if placed is None:
        errors.add("ts", f"is older than the backfill horizon of {clock.horizon_ms // 86_400_000} days")
        return clock.now_ms
    return placed


def _string(raw: dict, key: str, errors: _Errors, max_len: int, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            errors.add(key, "is required")
        return ""
    if not isinstance(value, str):
        errors.add(key, "must be a string")
        return ""
    if required and not value:
        errors.add(key, "must not be empty")
    if len(value) > max_len:
        errors.add(key, f"is longer than {max_len} characters")
        return ""
    return value


def _url(raw: dict, key: str, errors: _Errors) -> str:
    value = _string(raw, key, errors, MAX_URL)
    if value and not value.lower().startswith(("http://", "https://")):
        # Referrers of apps (android-app://) are real but carry nothing a funnel can use.
        if key == "referrer":
            return ""
        errors.add(key, "must be an http(s) URL")
        return ""
    return value


def _event_id(raw: dict, errors: _Errors) -> uuid.UUID | None:
    value = raw.get("event_id")
    if value is None:
        return uuid.uuid4()
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    errors.add("event_id", "must be a UUID string")
    return None


def _number(raw: dict, key: str, errors: _Errors, low: float, high: float, path: str | None = None) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors.add(path or key, "must be a number")
        return None
    if not low <= value <= high:
        errors.add(path or key, f"must be between {low:g} and {high:g}")
        return None
    return float(value)


def _props(value: Any, errors: _Errors) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add("props", "must be an object of strings and numbers")
        return {}
    if len(value) > MAX_PROPS:
        errors.add("props", f"has more than {MAX_PROPS} keys")
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        path = f"props.{str(key)[:MAX_PROP_KEY]}"
        if not key or len(key) > MAX_PROP_KEY:
            errors.add(path, f"keys must be 1-{MAX_PROP_KEY} characters")
        elif isinstance(item, bool):
            out[key] = "true" if item else "false"
        elif isinstance(item, str):
            if len(item) > MAX_PROP_VALUE:
                errors.add(path, f"is longer than {MAX_PROP_VALUE} characters")
            else:
                out[key] = item
        elif isinstance(item, (int, float)) and math.isfinite(item):
            out[key] = repr(item) if isinstance(item, float) else str(item)
        else:
            errors.add(path, "must be a string, number or boolean")
    return out


def _items(value: Any, errors: _Errors) -> list[Item]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("items", "must be an array of objects")
        return []
    if len(value) > MAX_ITEMS:
        errors.add("items", f"has more than {MAX_ITEMS} entries")
        return []
    out = []
    for i, item in enumerate(value):
        path = f"items[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be an object")
            continue
        for key in item:
            if key not in ITEM_FIELDS:
                errors.add(f"{path}.{str(key)[:64]}", "unknown field")
        sub = _Errors("")
        item_id = _string(item, "item_id", sub, MAX_ID)
        item_name = _string(item, "item_name", sub, MAX_TEXT)
        texts = {key: _string(item, key, sub, MAX_TEXT) for key in ITEM_TEXTS}
        price = _number(item, "price", sub, 0, MAX_VALUE)
        discount = _number(item, "discount", sub, 0, MAX_VALUE)
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
            sub.add("quantity", f"must be a whole number from 0 to {MAX_QUANTITY}")
        if not item_id and not item_name:
            sub.add("item_id", "item_id or item_name is required")
        for error in sub.items:
            errors.add(f"{path}.{error.path}", error.reason)
        if not sub.items:
            out.append(Item(item_id=item_id, item_name=item_name, price=price or 0.0, quantity=int(quantity),
                            discount=discount or 0.0, **texts))
    return out
