"""Request count and latency per route, with a bounded set of route labels."""

from __future__ import annotations

import time

from tracker import metrics
from tracker.tally import TALLY

_ROUTES = ("/api/event", "/api/v1", "/js", "/metrics", "/healthz", "/readyz", "/mp/collect", "/debug/mp/collect")


def route_label(path: str) -> str:
    return next((r for r in _ROUTES if path.startswith(r)), "other")


class RouteTimer:
    """Records one request through the tally. The labelled children are cached: .labels() costs
    more than the observation."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, int], tuple] = {}

    def record(self, route: str, status: int, seconds: float) -> None:
        children = self._children.get((route, status))
        if children is None:
            children = self._children[(route, status)] = (
                metrics.REQUEST_LATENCY.labels(route), metrics.REQUESTS.labels(route, str(status)),
            )
        TALLY.observe(children[0], seconds)
        TALLY.inc(children[1])


class TimingMiddleware:
    """ASGI middleware for the Starlette routes (ingest times itself, see tracker/http/ingest.py)."""

    def __init__(self, app) -> None:
        self.app = app
        self.timer = RouteTimer()

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
            self.timer.record(route_label(scope["path"]), status[0], time.perf_counter() - started)
