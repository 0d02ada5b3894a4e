"""POST /api/event over HTTP: CORS, content type, body size and time limits, and the status of each outcome.

What happens to the events is tracker/ingest/intake.py's business. A raw ASGI endpoint that the
app calls before Starlette (tracker/app.py): this is the hot path, and Starlette's middleware,
router and Request/Response objects cost it about as much as its own validation did. So CORS,
timing and the last-resort 500 are answered here.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson

from tracker.config import Settings
from tracker.errors import ApiError, internal_error_body
from tracker.http.deadlines import BodyDeadlines
from tracker.http.timing import RouteTimer
from tracker.ingest.keys import bearer
from tracker.ingest.refusal import Refused
from tracker.ingest.steps import RequestInfo


ACCEPTED_TYPES = (b"application/json", b"text/plain", b"")  # text/plain: navigator.sendBeacon
JSON = (b"content-type", b"application/json")
PATH = "/api/event"
# The status of each reason tracker/ingest refuses a whole request for.
STATUS = {
    "invalid_json": 400,
    "invalid_events": 400,
    "no_events": 400,
    "too_many_events": 413,
    "unauthorized": 401,
    "rate_limited": 429,
    "site_list_unavailable": 503,  # the site may exist: clients retry
    "spool_full": 503,
    "keys_unavailable": 503,
}

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
        request = RequestInfo(
            client_ip(scope), headers.get(b"user-agent", b"").decode("latin-1"), received_at_ms,
            origin.decode("latin-1") if origin is not None else None,
            key=bearer(headers[b"authorization"].decode("latin-1")) if b"authorization" in headers else None,
        )
        try:
            receipt = await tracker.intake.accept(body, request)
        except Refused as refused:
            headers = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s is not None else {}
            if refused.reason == "unauthorized":
                headers["WWW-Authenticate"] = 'Bearer realm="ingest"'
            raise ApiError(STATUS[refused.reason], refused.reason, refused.message, refused.fields, headers) from None
        return orjson.dumps({"accepted": receipt.accepted, "dropped": receipt.dropped, "rejected": receipt.rejected})


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


def client_ip(scope) -> str:
    # Behind a trusted proxy, TrackerApp has already put the shopper's address here (tracker/http/proxy.py).
    client = scope.get("client")
    return client[0] if client else ""
