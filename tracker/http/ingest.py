"""POST /api/event: thin handler. Size limit, parse with orjson, validate, run the pipeline, spool, 202."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker import metrics
from tracker.errors import ApiError, FieldError
from tracker.http.responses import json_response
from tracker.ingest.payload import Clock, Event, parse_event, parse_timestamp_ms
from tracker.ingest.steps import RequestInfo
from tracker.spool import SpoolFull

ACCEPTED_TYPES = ("application/json", "text/plain", "")  # text/plain: navigator.sendBeacon


async def ingest(request: Request) -> Response:
    if request.method == "OPTIONS":  # not a CORS preflight (the middleware answers those)
        return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})
    tracker = request.app.state.tracker
    settings = tracker.settings
    received_at_ms = int(time.time() * 1000)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in ACCEPTED_TYPES:
        raise ApiError(415, "unsupported_media_type", f"send JSON as application/json or text/plain, not {content_type}")
    body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None

    raw_events, site, sent_at = unpack(data)
    if len(raw_events) > settings.max_events_per_request:
        raise ApiError(413, "too_many_events", f"at most {settings.max_events_per_request} events per request")
    if not raw_events:
        raise ApiError(400, "no_events", "the request holds no events", [FieldError("events", "must not be empty")])
    metrics.EVENTS_RECEIVED.inc(len(raw_events))
    ip = client_ip(request, settings)
    limit(tracker.ip_limiter, ip, len(raw_events), "this client")

    clock = Clock(received_at_ms, settings.backfill_horizon_days * 86_400_000, sent_at)
    origin = request.headers.get("origin")
    valid: list[Event] = []
    rejected: list[dict] = []
    for index, raw in enumerate(raw_events):
        prefix = f"events[{index}]"
        parsed = parse_event(raw, clock, prefix, default_site=site)
        if isinstance(parsed, Event):
            parsed = check_site(tracker, parsed, origin, prefix)
        if isinstance(parsed, Event):
            valid.append(parsed)
        else:
            rejected.append({"index": index, "fields": [e.as_dict() for e in parsed]})
            metrics.EVENTS_REJECTED.labels("invalid" if parsed[0].reason != "unknown site" else "unknown_site").inc()
    if not valid:
        fields = [FieldError(**f) for r in rejected for f in r["fields"]]
        raise ApiError(400, "invalid_events", "no event in the request is valid", fields)

    for site_id, n in Counter(e.site for e in valid).items():
        limit(tracker.site_limiter, site_id, n, f"site {site_id}")
    outcome = tracker.pipeline.run(valid, RequestInfo(ip, request.headers.get("user-agent", ""), received_at_ms, origin))
    for reason, n in outcome.dropped.items():
        metrics.EVENTS_DROPPED.labels(reason).inc(n)
    try:
        await tracker.spool.append(outcome.lines)
    except SpoolFull:
        raise ApiError(
            503, "spool_full", "the tracker cannot store more events right now; retry later",
            headers={"Retry-After": str(settings.spool_retry_after_s)},
        ) from None
    tracker.pipeline.recent.remember(outcome.event_ids)
    metrics.EVENTS_ACCEPTED.inc(len(outcome.lines))
    return json_response({"accepted": len(outcome.lines), "dropped": outcome.dropped, "rejected": rejected}, 202)


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        # Compressed bodies are refused outright: no decompression bombs to defuse.
        raise ApiError(415, "unsupported_media_type", "send the body uncompressed (no Content-Encoding)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    raise ApiError(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")
    except TimeoutError:
        raise ApiError(408, "request_timeout", f"the body did not arrive within {timeout_s:g} s") from None
    return bytes(body)


def limit(limiter, key: str, cost: int, who: str) -> None:
    wait = limiter.take(key, cost)
    if wait:
        metrics.EVENTS_REJECTED.labels("rate_limited").inc(cost)
        raise ApiError(
            429, "rate_limited", f"{who} sends events faster than allowed; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def unpack(data) -> tuple[list, str | None, int | None]:
    """One event, an array of events, or {"events": [...], "site": ..., "sent_at": ...}."""
    if isinstance(data, list):
        return data, None, None
    if isinstance(data, dict) and "events" in data:
        unknown = sorted(set(data) - {"events", "site", "sent_at"})
        if unknown:
            raise ApiError(400, "invalid_events", "unknown field in the envelope", [FieldError(unknown[0][:64], "unknown field")])
        if not isinstance(data["events"], list):
            raise ApiError(400, "invalid_events", "events must be an array", [FieldError("events", "must be an array")])
        site = data.get("site")
        if site is not None and not isinstance(site, str):
            raise ApiError(400, "invalid_events", "site must be a string", [FieldError("site", "must be a string")])
        sent_at = None
        if data.get("sent_at") is not None:
            sent_at = parse_timestamp_ms(data["sent_at"])
            if sent_at is None:
                raise ApiError(400, "invalid_events", "bad sent_at", [FieldError("sent_at", "must be milliseconds since the epoch or an ISO-8601 time")])
        return data["events"], site, sent_at
    if isinstance(data, dict):
        return [data], None, None
    raise ApiError(400, "invalid_events", "send an event object, an array of events or {\"events\": [...]}", [FieldError("body", "must be an object or an array")])


def check_site(tracker, event: Event, origin: str | None, prefix: str) -> Event | list[FieldError]:
    site = tracker.sites.get(event.site)
    if site is None:
        return [FieldError(f"{prefix}.site", "unknown site")]
    if not site.allows_origin(origin):
        return [FieldError(f"{prefix}.site", f"origin {origin[:200]} is not allowed to send events for this site")]
    return event


def client_ip(request: Request, settings) -> str:
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",", 1)[0].strip()
    return request.client.host if request.client else ""
