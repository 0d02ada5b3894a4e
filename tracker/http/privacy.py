"""Data-subject requests: export or delete one person's events (by visitor id or customer id).

    GET    /api/v1/sites/{site}/visitors/{visitor_id}/export     DELETE /api/v1/sites/{site}/visitors/{visitor_id}
    GET    /api/v1/sites/{site}/customers/{customer_id}/export   DELETE /api/v1/sites/{site}/customers/{customer_id}

Same bearer token as the query API. Writes go through a normal (not read-only) client, on the
query runner's threads and with its deadline, so a hung ClickHouse gives a 503, not a hang.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.clickhouse.cluster import Runner
from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import ApiError, FieldError, clickhouse_unavailable
from tracker.http.auth import authorize
from tracker.queries import privacy

log = logging.getLogger("tracker.privacy")
MAX_ID = 128


async def visitor(request: Request) -> Response:
    return await _handle(request, "visitor")


async def customer(request: Request) -> Response:
    return await _handle(request, "customer")


async def _handle(request: Request, kind: str) -> Response:
    site = await authorize(request, request.path_params["site"])
    unknown = sorted(set(request.query_params))
    if unknown:
        raise ApiError(400, "invalid_parameter", "this endpoint takes no query parameters",
                       [FieldError(name[:64], "unknown parameter; this endpoint takes none") for name in unknown])
    raw_id = request.path_params["id"]
    tracker = request.app.state.tracker

    person_id = _visitor_id(raw_id) if kind == "visitor" else _customer_id(raw_id)  # a 400 needs no ClickHouse

    def work():
        runner = Runner.configured(tracker.settings, tracker.target)
        client = runner.client
        if kind == "visitor":
            person = privacy.by_visitor(site.site, person_id)
        else:
            person = privacy.by_customer(client, site.site, person_id)
        if request.method == "DELETE":
            deleted = privacy.delete(runner, person)
            # No ids in the log line: the log must not become a second copy of personal data.
            log.info("personal data deleted", extra={"site": site.site, "by": kind, "events": deleted})
            return {"status": "deleted", "deleted_events": deleted, "visitor_ids": [str(v) for v in person.visitor_ids]}
        events = privacy.export(client, person)
        return {"site": site.site, kind: raw_id, "visitor_ids": [str(v) for v in person.visitor_ids], "events": events}

    try:
        body = await tracker.queries.offload(work)
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None
    return Response(orjson.dumps(body, default=_jsonable), media_type="application/json")


def _visitor_id(raw: str) -> int:
    if not raw.isdigit() or int(raw) >= 2**64:
        raise ApiError(400, "invalid_parameter", "bad visitor id", [FieldError("visitor_id", "must be a whole number below 2^64")])
    return int(raw)


def _customer_id(raw: str) -> str:
    if not raw or len(raw) > MAX_ID:
        raise ApiError(400, "invalid_parameter", "bad customer id", [FieldError("customer_id", f"must be 1-{MAX_ID} characters")])
    return raw


def _jsonable(value):
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
