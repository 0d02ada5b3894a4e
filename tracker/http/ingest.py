"""POST /api/event: size limit, parse with orjson, validate, run the pipeline, spool, 202.

A raw ASGI endpoint that the app calls before Starlette (tracker/app.py): this is the hot path,
and Starlette's middleware, router and Request/Response objects cost it about as much as its own
validation did. So CORS, timing and the last-resort 500 are answered here.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

import orjson

from tracker import metrics
from tracker.config import Settings
from tracker.errors import ApiError, FieldError, internal_error_body
from tracker.http.deadlines import BodyDeadlines
from tracker.http.timing import RouteTimer
from tracker.ingest.payload import Clock, Event, parse_event, parse_timestamp_ms
from tracker.ingest.steps import RequestInfo
from tracker.sites import SitesUnavailable
from tracker.spool import SpoolFull
from tracker.tally import TALLY


ACCEPTED_TYPES = (b"application/json", b"text/plain", b"")  # text/plain: navigator.sendBeacon
JSON = (b"content-type", b"application/json")
PATH = "/api/event"

log = logging.getLogger("tracker.http")


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


class IngestEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        self.any_origin = "*" in origins
        self.origins = {o.encode() for o in origins}
        self.timer = RouteTimer()

    async def __call__(self, scope, receive, send) -> None:
        started = time.perf_counter()
        headers = dict(scope["headers"])  # ASGI header names are lower-case bytes
        origin = headers.get(b"origin")
        cors = self._cors(origin)
        status, extra = 500, []
        try:
            if scope["method"] == "OPTIONS":
                status = await self._preflight(send, headers, cors)
                return
            if scope["method"] != "POST":
                raise ApiError(405, "method_not_allowed", "use POST", headers={"Allow": "POST, OPTIONS"})
            status, body = 202, await self.handle(scope, receive, headers, origin)
        except ApiError as exc:
            status, body = exc.status, orjson.dumps(exc.body())
            extra = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
        except ClientGone:
            status = 499  # nginx's figure for "client closed the request": counted, never sent
            return
        except Exception as exc:  # noqa: BLE001 - a bug must still answer in the one error shape
            log.error("unhandled error", exc_info=exc, extra={"path": PATH})
            status, body = 500, orjson.dumps(internal_error_body())
        finally:
            self.timer.record(PATH, status, time.perf_counter() - started)
        await send({"type": "http.response.start", "status": status,
                    "headers": [JSON, (b"content-length", str(len(body)).encode()), *cors, *extra]})
        await send({"type": "http.response.body", "body": body})

    def _cors(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        if origin is None:
            return []
        if self.any_origin:
            return [(b"access-control-allow-origin", b"*")]
        if origin in self.origins:
            return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        return []

    async def _preflight(self, send, headers, cors) -> int:
        if b"access-control-request-method" not in headers:
            status, extra = 204, [(b"allow", b"POST, OPTIONS")]
        elif not cors:
            raise ApiError(403, "origin_not_allowed", "this origin may not send events here (TRACKER_CORS_ORIGINS)")
        else:
            status, extra = 200, [
                (b"access-control-allow-methods", b"POST"),
                (b"access-control-allow-headers", b"content-type"),
                (b"access-control-max-age", b"86400"),
            ]
        await send({"type": "http.response.start", "status": status, "headers": [*cors, *extra]})
        await send({"type": "http.response.body", "body": b""})
        return status

    async def handle(self, scope, receive, headers, origin: bytes | None) -> bytes:
        tracker = scope["app"].state.tracker  # scope["app"]: the Starlette app, set by TrackerApp
        settings = self.settings
        received_at_ms = int(time.time() * 1000)
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type not in ACCEPTED_TYPES:
            raise ApiError(415, "unsupported_media_type",
                           f"send JSON as application/json or text/plain, not {content_type.decode(errors='replace')[:100]}")
        body = await read_body(receive, headers, settings.max_body_bytes, settings.body_timeout_s, tracker.body_deadlines)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None

        raw_events, site, sent_at = unpack(data)
        if len(raw_events) > settings.max_events_per_request:
            raise ApiError(413, "too_many_events", f"at most {settings.max_events_per_request} events per request")
        if not raw_events:
            raise ApiError(400, "no_events", "the request holds no events", [FieldError("events", "must not be empty")])
        TALLY.inc(metrics.EVENTS_RECEIVED, len(raw_events))
        ip = client_ip(scope, headers, settings)
        limit(tracker.ip_limiter, ip, len(raw_events), "this client")

        origin_text = origin.decode("latin-1") if origin is not None else None
        clock = Clock(received_at_ms, settings.backfill_horizon_days * 86_400_000, sent_at)
        arrived = time.monotonic()  # site lists loaded since then answer for every event here
        valid: list[Event] = []
        rejected: list[dict] = []
        per_site: dict[str, int] = {}
        for index, raw in enumerate(raw_events):
            prefix = f"events[{index}]"
            parsed = parse_event(raw, clock, prefix, default_site=site)
            if isinstance(parsed, Event):
                parsed = await check_site(tracker, parsed, origin_text, prefix, arrived)
            if isinstance(parsed, Event):
                valid.append(parsed)
                per_site[parsed.site] = per_site.get(parsed.site, 0) + 1
            else:
                rejected.append({"index": index, "fields": [e.as_dict() for e in parsed]})
                metrics.EVENTS_REJECTED.labels(rejection_reason(parsed)).inc()
        if not valid:
            fields = [FieldError(**f) for r in rejected for f in r["fields"]]
            raise ApiError(400, "invalid_events", "no event in the request is valid", fields)

        for site_id, n in per_site.items():
            limit(tracker.site_limiter, site_id, n, f"site {site_id}")
        user_agent = headers.get(b"user-agent", b"").decode("latin-1")
        outcome = tracker.pipeline.run(valid, RequestInfo(ip, user_agent, received_at_ms, origin_text))
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
        TALLY.inc(metrics.EVENTS_ACCEPTED, len(outcome.lines))
        return orjson.dumps({"accepted": len(outcome.lines), "dropped": outcome.dropped, "rejected": rejected})


async def read_body(receive, headers, max_bytes: int, timeout_s: float, deadlines: BodyDeadlines) -> bytes:
    if headers.get(b"content-encoding", b"identity").lower() != b"identity":
        # Compressed bodies are refused outright: no decompression bombs to defuse.
        raise ApiError(415, "unsupported_media_type", "send the body uncompressed (no Content-Encoding)")
    declared = headers.get(b"content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")
    chunks, size = [], 0
    task = deadlines.start(timeout_s)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
    except asyncio.CancelledError:
        if deadlines.expired(task):
            raise ApiError(408, "request_timeout", f"the body did not arrive within {timeout_s:g} s") from None
        raise
    finally:
        deadlines.finish(task)


def limit(limiter, key: str, cost: int, who: str) -> None:
    wait = limiter.take(key, cost)
    if wait:
        metrics.EVENTS_REJECTED.labels("rate_limited").inc(cost)
        raise ApiError(
            429, "rate_limited", f"{who} sends events faster than allowed; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def rejection_reason(errors: list[FieldError]) -> str:
    return "unknown_site" if any(e.reason == "unknown site" for e in errors) else "invalid"


def unpack(data) -> tuple[list, str | None, int | None]:
    """One event, an array of events, or {"events": [...], "site": ..., "sent_at": ...}."""
    if isinstance(data, list):
        return data, None, None
    if isinstance(data, dict) and "events" in data:
        unknown = sorted(set(data) - {"events", "site", "sent_at"})
        if unknown:
            raise ApiError(400, "invalid_events", "unknown field in the envelope", [FieldError(str(unknown[0])[:64], "unknown field")])
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


async def check_site(tracker, event: Event, origin: str | None, prefix: str, arrived: float) -> Event | list[FieldError]:
    try:
        site = await tracker.sites.lookup(event.site, arrived)
    except SitesUnavailable:
        # Not "unknown site": the site may have been added a moment ago. The snippet retries a 503.
        raise ApiError(
            503, "site_list_unavailable",
            f"site {event.site[:64]!r} is not in this worker's site list and the list could not be reloaded just now; retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    if site is None:
        return [FieldError(f"{prefix}.site", "unknown site")]
    if not site.allows_origin(origin):
        return [FieldError(f"{prefix}.site", f"origin {origin[:200]} is not allowed to send events for this site")]
    return event


def client_ip(scope, headers, settings: Settings) -> str:
    if settings.trust_proxy_headers:
        forwarded = headers.get(b"x-forwarded-for")
        if forwarded:
            return forwarded.split(b",", 1)[0].strip().decode("latin-1")
    client = scope.get("client")
    return client[0] if client else ""
