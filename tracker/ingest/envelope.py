"""The shape of a request body for the detailed path: one event, an array, or an envelope; and its size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tracker.errors import FieldError
from tracker.ingest.payload import parse_timestamp_ms
from tracker.ingest.refusal import Refused

ENVELOPE_FIELDS = frozenset({"events", "site", "sent_at"})


@dataclass
class RawRequest:
    events: list[Any]  # as parsed, each still to be validated
    site: str | None = None
    sent_at_ms: int | None = None


def parse_body(body: bytes, max_events: int) -> RawRequest:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused("invalid_json", f"the body is not valid JSON: {exc}") from None
    request = unpack(data)
    if len(request.events) > max_events:
        raise Refused("too_many_events", f"at most {max_events} events per request")
    if not request.events:
        raise Refused("no_events", "the request holds no events", [FieldError("events", "must not be empty")])
    return request


def unpack(data: Any) -> RawRequest:
    """One event, an array of events, or {"events": [...], "site": ..., "sent_at": ...}."""
    if isinstance(data, list):
        return RawRequest(data)
    if isinstance(data, dict) and "events" in data:
        unknown = sorted(set(data) - ENVELOPE_FIELDS)
        if unknown:
            raise _invalid("unknown field in the envelope", str(unknown[0])[:64], "unknown field")
        if not isinstance(data["events"], list):
            raise _invalid("events must be an array", "events", "must be an array")
        site = data.get("site")
        if site is not None and not isinstance(site, str):
            raise _invalid("site must be a string", "site", "must be a string")
        sent_at = None
        if data.get("sent_at") is not None:
            sent_at = parse_timestamp_ms(data["sent_at"])
            if sent_at is None:
                raise _invalid("bad sent_at", "sent_at", "must be milliseconds since the epoch or an ISO-8601 time")
        return RawRequest(data["events"], site, sent_at)
    if isinstance(data, dict):
        return RawRequest([data])
    raise _invalid("send an event object, an array of events or {\"events\": [...]}", "body", "must be an object or an array")


def _invalid(message: str, path: str, reason: str) -> Refused:
    return Refused("invalid_events", message, [FieldError(path, reason)])
