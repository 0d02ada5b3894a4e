"""The fast path: decode and validate a whole request body in one pass in C (msgspec, tracker/ingest/event.py).

The structs carry the detailed validator's limits as constraints that msgspec checks while it
decodes. What a constraint cannot say cheaply is checked after, per request where it can be (the
names and URLs of a request, each distinct one once) and per event where it must (timestamps,
currency with a value or an amount, an item's id or name). Whatever this path does not accept goes to the
detailed validator (payload.py), which names every bad field: so this path only has to agree with
it on what is valid and how it is normalised, never on error messages (tests/ingest/test_wire.py
checks that they agree on a random corpus).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta

from tracker.ingest.event import Envelope, Event, Item
from tracker.ingest.payload import NAME, Clock, ip_ok, parse_timestamp_ms

# `.lower().startswith(("http://", "https://"))` in the detailed path: no non-ASCII character lowers to these.
_HTTP = re.compile(r"[hH][tT][tT][pP][sS]?://")
_CURRENCY = re.compile(r"[A-Z]{3}\Z")


@dataclass
class Request:
    """A decoded request body: its events, and the envelope's site and send time if it had one."""

    events: list[Event]
    site: str | None = None
    sent_at: int | float | str | None = None


@dataclass
class Valid:
    events: list[Event]
    chosen_ids: list[bool]  # whether the client chose each event's event_id (a resend can be recognised)


class FastDecoder:
    """Decodes a body that the fast path accepts whole; None for anything else (the detailed path decides)."""

    def __init__(self, max_events: int) -> None:
        self._list = msgspec.json.Decoder(Annotated[list[Event], Meta(min_length=1, max_length=max_events)])
        self._envelope = msgspec.json.Decoder(Envelope)
        self._one = msgspec.json.Decoder(Event)
        self.max_events = max_events

    def decode(self, body: bytes) -> Request | None:
        first = body[:1]
        if first not in (b"[", b"{"):
            first = body.lstrip()[:1]
        try:
            if first == b"[":
                return Request(self._list.decode(body))
            if first != b"{":
                return None
            try:
                envelope = self._envelope.decode(body)
            except msgspec.ValidationError:
                return Request([self._one.decode(body)])
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if not 1 <= len(envelope.events) <= self.max_events:
            return None
        return Request(envelope.events, envelope.site, envelope.sent_at)


def finish(request: Request, now_ms: int, horizon_ms: int) -> Valid | None:
    """Check and normalise decoded events in place, as the detailed validator would; None if any needs its verdict."""
    sent_at_ms = _ms(request.sent_at)
    if request.sent_at is not None and sent_at_ms is None:
        return None
    events = request.events
    if not all(map(_name_ok, {e.name for e in events})):
        return None
    if not all(map(_http_ok, {e.url for e in events})):
        return None
    if not all(map(_ip_ok, {e.client_ip for e in events})):
        return None
    app_referrers = {r for r in {e.referrer for e in events} if not _http_ok(r)}
    chosen = [e.event_id is not None for e in events]
    default_site = request.site
    # The common case inline (a number, no per-event sent_at): a call costs as much as the rest.
    skew = 0 if sent_at_ms is None else now_ms - sent_at_ms
    oldest = now_ms - horizon_ms
    for e in events:
        if not e.site:
            if default_site is None:
                return None  # "is required" or "must not be empty": the detailed path says which
            e.site = default_site
        ts = e.ts
        if ts is None and e.sent_at is UNSET:
            e.ts = now_ms
        elif ts.__class__ is int and e.sent_at is UNSET:
            ts += skew
            if ts < oldest:
                return None
            e.ts = ts if ts < now_ms else now_ms
        elif not _place(e, Clock(now_ms, horizon_ms, sent_at_ms)):  # the rare cases: built only for them
            return None
        if e.event_id is None:
            e.event_id = uuid.uuid4()
        if app_referrers and e.referrer in app_referrers:
            e.referrer = ""  # an app's referrer (android-app://) carries nothing a funnel can use
        if e.props:
            e.props = _props(e.props)
        if e.items or e.value is not None or e.currency or e.shipping is not None or e.tax is not None:
            if not _commerce_ok(e):
                return None
    return Valid(events, chosen)


def _place(e: Event, clock: Clock) -> bool:
    """The event's time on our clock, from an ISO time, a float or its own sent_at; False if invalid."""
    sent_at = clock.sent_at_ms
    if e.sent_at is not UNSET:
        sent_at = _ms(e.sent_at)
        if sent_at is None:
            return False
    if e.ts is None:
        e.ts = clock.now_ms
        return True
    ts = _ms(e.ts)
    e.ts = clock.place(ts, sent_at) if ts is not None else None
    return e.ts is not None


def _commerce_ok(e: Event) -> bool:
    if e.items and not _items_ok(e.items):
        return False
    if e.currency:
        return _CURRENCY.match(e.currency) is not None
    # else: currency is required
    return e.value is None and e.shipping is None and e.tax is None and not any(i.price or i.discount for i in e.items)


def _name_ok(name: str) -> bool:
    return NAME.match(name) is not None


def _http_ok(url: str) -> bool:
    return not url or _HTTP.match(url) is not None


def _ip_ok(text: str) -> bool:
    return not text or ip_ok(text)


def _ms(value: int | float | str | None) -> int | None:
    if value is None or value.__class__ is int:
        return value
    return parse_timestamp_ms(value)


def _items_ok(items: list[Item]) -> bool:
    for item in items:
        if not item.item_id and not item.item_name:
            return False
        if item.price is None:
            item.price = 0.0
        if item.discount is None:
            item.discount = 0.0
    return True


def _props(props: dict) -> dict[str, str]:
    out = {}
    for key, value in props.items():
        kind = value.__class__
        if kind is str:
            out[key] = value
        elif kind is bool:
            out[key] = "true" if value else "false"
        elif kind is float:
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return out
