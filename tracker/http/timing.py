"""ASGI middleware: request count and latency per route, with a bounded set of route labels."""

from __future__ import annotations

import time

from tracker import metrics

_ROUTES = ("/api/event", "/api/v1", "/js", "/metrics", "/healthz", "/readyz")


def route_label(path: str) -> str:
    return next((r for r in _ROUTES if path.startswith(r)), "other")


class TimingMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_with_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_label(scope["path"])
            metrics.REQUEST_LATENCY.labels(route).observe(time.perf_counter() - started)
            metrics.REQUESTS.labels(route, str(status[0])).inc()
