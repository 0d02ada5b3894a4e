"""JSON responses (orjson) and the rendering of the one error shape."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import ApiError, error_body, internal_error_body

log = logging.getLogger("tracker.http")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 400: "bad_request"}


def json_response(data, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


async def api_error(request: Request, exc: ApiError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)


async def http_error(request: Request, exc: HTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return json_response(error_body(code, str(exc.detail)), exc.status_code, getattr(exc, "headers", None))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return json_response(internal_error_body(), 500)


EXCEPTION_HANDLERS = {ApiError: api_error, HTTPException: http_error, Exception: server_error}
