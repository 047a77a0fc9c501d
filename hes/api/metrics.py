"""HTTP request metrics for Prometheus, labelled by route template (not raw path: bounded cardinality)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("hes_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("hes_http_request_seconds", "HTTP request duration", ["method", "route"])


class RequestMetrics:
    """ASGI middleware counting requests and timing them per route."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], template, str(status_holder["status"])).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)
