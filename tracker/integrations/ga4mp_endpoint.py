"""POST /mp/collect and POST /debug/mp/collect: GA4 Measurement Protocol hits over HTTP.

    /mp/collect?measurement_id=SITE&api_secret=KEY
        authenticate  api_secret is an ingest key of SITE                401 unauthorized (nothing stored)
        read          body size and time limits, JSON                    413, 408, 415, 400 invalid_json
        translate     the MP body as our events (ga4mp.py)               400 invalid_events (nothing stored)
        store         Intake.store: the same limits, dedupe, spool as    429, 503
                      /api/event with a key
        answer        204, no body (what GA4 answers), once durable

A request is stored whole or not at all: a GA4 answer has no body to list a rejected event in
beside a success, so a 2xx says every event is on disk (or dropped as a bot or a resend). Errors
are in the one error shape (tracker/errors.py), with the field paths of the MP body.

    /debug/mp/collect   the same checks, nothing stored: 200 {"validationMessages": [...]}
                        in GA4's shape (an empty list: the request would be stored)
"""

from __future__ import annotations

import time

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker import metrics
from tracker.errors import ApiError, FieldError
from tracker.http.ingest import ACCEPTED_TYPES, STATUS, ClientGone, client_ip, read_body
from tracker.http.responses import json_response
from tracker.ingest import keys
from tracker.ingest.intake import Validated, dedupe_keys
from tracker.ingest.payload import Clock
from tracker.ingest.refusal import Refused
from tracker.ingest.steps import RequestInfo
from tracker.integrations.ga4mp import Issue, translate
from tracker.tally import TALLY

SECRET = "api_secret"
SITE = "measurement_id"


async def collect(request: Request) -> Response:
    tracker = request.app.state.tracker
    arrived = time.monotonic()
    received_at_ms = int(time.time() * 1000)
    secret, site = await _authenticate(tracker, request)
    data = _parse(await _body(request))
    translation = translate(data, site, Clock(received_at_ms, tracker.intake.reader.horizon_ms))
    if translation.issues:
        # Counted as /api/event counts its events: received, and here all of them refused.
        TALLY.inc(metrics.EVENTS_RECEIVED, translation.received)
        metrics.EVENTS_REJECTED.labels("invalid").inc(translation.received)
        raise ApiError(400, "invalid_events", "the Measurement Protocol request cannot be stored; nothing of it was "
                       "(check it with POST /debug/mp/collect)", [i.field_error() for i in translation.issues])
    events = translation.events
    batch = Validated(events, dedupe_keys(events, [True] * len(events)), list(range(len(events))), len(events))
    headers = request.headers
    info = RequestInfo(client_ip(request.scope), headers.get("user-agent", ""),
                       received_at_ms, key=secret, key_site=site)
    try:
        await tracker.intake.store(batch, info, arrived)
    except Refused as refused:
        raise _error(refused) from None
    return Response(status_code=204)


async def debug_collect(request: Request) -> Response:
    """What /mp/collect would refuse the request for, as GA4's validation server says it."""
    tracker = request.app.state.tracker
    issues: list[Issue] = []
    try:
        _, site = await _authenticate(tracker, request)
    except ApiError as exc:
        if exc.status != 401:
            raise
        issues += [Issue(f.path, f.reason) for f in exc.fields]
        site = request.query_params.get(SITE) or ""
    body = await _body(request)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        issues.append(Issue("body", f"is not valid JSON: {exc}"))
    else:
        issues += translate(data, site, Clock(int(time.time() * 1000), tracker.intake.reader.horizon_ms)).issues
    return json_response({"validationMessages": [i.validation_message() for i in issues]})


async def _authenticate(tracker, request: Request) -> tuple[str, str]:
    """(api_secret, site): the secret must be an ingest key, and measurement_id its site. Else 401."""
    secret = request.query_params.get(SECRET, "")
    site = request.query_params.get(SITE, "")
    if not secret:
        raise _unauthorized(SECRET, "is required: an ingest key of the site (python -m tracker key create SITE)")
    key_site = None
    if secret.startswith(keys.INGEST_KEYS.prefix):  # anything else cannot be a key: no reload of the key list
        try:
            key_site = await keys.authenticate(tracker.intake.ingest_keys, secret, tracker.intake.look_up_key)
        except Refused as refused:
            if refused.reason != "unauthorized":
                raise _error(refused) from None
    if key_site is None:
        raise _unauthorized(SECRET, "is not a valid ingest key (unknown or revoked; create one with: "
                                    "python -m tracker key create SITE)")
    if site != key_site:
        raise _unauthorized(SITE, "is required: the site id of the api_secret's key" if not site
                            else "is not the site of this api_secret")
    return secret, site


async def _body(request: Request) -> bytes:
    tracker = request.app.state.tracker
    headers = _raw_headers(request)
    content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if content_type not in ACCEPTED_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"send JSON as application/json or text/plain, not {content_type.decode(errors='replace')[:100]}")
    settings = tracker.settings
    try:
        return await read_body(request.receive, headers, settings.max_body_bytes, settings.body_timeout_s,
                               tracker.body_deadlines)
    except ClientGone:  # nobody to answer; counted as nginx counts it
        raise ApiError(499, "client_closed_request", "the client closed the connection before its body arrived") from None


def _parse(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


def _raw_headers(request: Request) -> dict[bytes, bytes]:
    return dict(request.scope["headers"])


def _unauthorized(path: str, reason: str) -> ApiError:
    return ApiError(401, "unauthorized", "the api_secret is not an ingest key of the measurement_id's site; "
                    "nothing was stored", [FieldError(path, reason)])


def _error(refused: Refused) -> ApiError:
    headers = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s is not None else {}
    return ApiError(STATUS[refused.reason], refused.reason, refused.message, refused.fields, headers)
