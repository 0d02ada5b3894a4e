"""The baseline: a bare Starlette endpoint that only reads and parses the body, then answers 202.

Served with the same uvicorn settings as the tracker, so the ratio isolates the tracker's own work
(validation, enrichment, durable spool write)."""

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def event(request: Request) -> Response:
    data = orjson.loads(await request.body())
    count = len(data["events"]) if isinstance(data, dict) and "events" in data else 1
    return Response(orjson.dumps({"accepted": count}), status_code=202, media_type="application/json")


app = Starlette(routes=[Route("/api/event", event, methods=["POST"])])
