"""The realtime panel's data for the page: GET /app/{site}/realtime.json, the query API's
`realtime` answer (tracker/http/query.py execute(), the same code and data path), for the page's
cookie session instead of a bearer token, so the panel's script can poll it with a same-origin
fetch. Owners and shared links may read it. Errors are the API's JSON error shape, not pages.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tracker.errors import ApiError
from tracker.http.query import BY_NAME, Params, execute
from tracker.http.responses import json_response
from tracker.owner.pages import SECURITY_HEADERS
from tracker.owner.session import PageError, SignInNeeded, viewer_of

NEWEST_SHOWN = 10  # the newest events listed on the panel


async def realtime_json(request: Request) -> Response:
    try:
        viewer = await viewer_of(request, request.path_params["site"])
    except SignInNeeded as exc:
        raise ApiError(401, "unauthorized", exc.reason or "sign in on /app first") from None
    except PageError as exc:
        raise ApiError(exc.status, "forbidden" if exc.status == 403 else "unknown_site", exc.message) from None
    params = Params({"limit": str(NEWEST_SHOWN)}, BY_NAME["realtime"])
    result = await execute(request.app.state.tracker, viewer.site, "realtime", params)
    return json_response(result, headers=SECURITY_HEADERS)


def routes() -> list[BaseRoute]:
    return [Route("/app/{site:site_id}/realtime.json", realtime_json)]
