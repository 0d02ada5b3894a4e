"""Saved funnels in the query API, with the same token as the queries:

    GET    /api/v1/sites/{site}/funnels               the site's funnels, the default (`shop`) first
    POST   /api/v1/sites/{site}/funnels               save a new one (JSON definition) -> 201
    GET    /api/v1/sites/{site}/funnels/{funnel_id}   one funnel
    PUT    /api/v1/sites/{site}/funnels/{funnel_id}   replace its definition (for `shop`: edit the default)
    DELETE /api/v1/sites/{site}/funnels/{funnel_id}   remove it (for `shop`: back to the built-in)

Run one with GET .../funnel?funnel=ID. The work (reads and writes of a small table) runs on the
query threads (tracker/http/query.py offload), never on the event loop.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import ApiError, FieldError
from tracker.http.auth import authorize
from tracker.http.query import offload
from tracker.http.responses import json_response
from tracker.queries.durations import parse_duration
from tracker.saved_funnels import edits, store

MAX_BODY_BYTES = 64 * 1024


def default_window_s(tracker) -> int:
    return parse_duration(tracker.settings.funnel_default_window)


def _no_query_parameters(request: Request) -> None:
    unknown = sorted(set(request.query_params))
    if unknown:
        raise ApiError(400, "invalid_parameters", "this endpoint takes no query parameters",
                       [FieldError(name[:64], "unknown parameter; this endpoint takes none") for name in unknown])


async def _body(request: Request):
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", f"a funnel definition is at most {MAX_BODY_BYTES // 1024} KB")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the body must be a JSON object: {\"name\": ..., \"steps\": [...]}") from None


def answer(client, funnel) -> dict:
    """A funnel as the API shows it, its never-sent event names flagged (a query of event_names)."""
    return funnel.as_dict(store.never_sent_names(client, funnel.site, [funnel]))


async def collection(request: Request) -> Response:
    site = await authorize(request, request.path_params["site"])
    _no_query_parameters(request)
    tracker = request.app.state.tracker
    window = default_window_s(tracker)
    if request.method == "POST":
        body = await _body(request)

        def create():
            client = tracker.queries.client()
            return answer(client, edits.create(client, site.site, body, window))

        return json_response(await offload(tracker, create), 201)

    def listing():
        client = tracker.queries.client()
        funnels = store.list_funnels(client, site.site, window)
        never = store.never_sent_names(client, site.site, funnels)
        return {"site": site.site, "funnels": [f.as_dict(never) for f in funnels]}

    return json_response(await offload(tracker, listing))


async def item(request: Request) -> Response:
    site = await authorize(request, request.path_params["site"])
    _no_query_parameters(request)
    tracker = request.app.state.tracker
    funnel_id, window = request.path_params["funnel_id"], default_window_s(tracker)
    body = await _body(request) if request.method == "PUT" else None

    def work():
        client = tracker.queries.client()
        if request.method == "PUT":
            return answer(client, edits.update(client, site.site, funnel_id, body, window))
        if request.method == "DELETE":
            return {"site": site.site, "funnel_id": funnel_id, "status": edits.remove(client, site.site, funnel_id, window)}
        return answer(client, edits.find(client, site.site, funnel_id, window))

    return json_response(await offload(tracker, work))
