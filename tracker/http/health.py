"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

import asyncio
import os

from starlette.requests import Request
from starlette.responses import Response

from tracker import metrics
from tracker.tally import TALLY
from tracker.http.responses import json_response


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    tracker = request.app.state.tracker
    clickhouse = await tracker.clickhouse_reachable()
    spool = tracker.spool
    spool_ok = os.access(spool.slot, os.W_OK) and not spool.refusing
    checks = {"clickhouse": "ok" if clickhouse else "unreachable", "spool": "ok" if spool_ok else "full or not writable"}
    ready = clickhouse and spool_ok
    return json_response({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    TALLY.apply()  # this worker's figures up to now; the other workers' lag by at most tally.APPLY_S
    body = await asyncio.to_thread(metrics.exposition)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
