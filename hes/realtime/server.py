"""Builds the Socket.IO server (client manager from settings), mounts it beside the API, and starts the hub.

Wiring (hes/app.py): `create_server` when the app is built, `with_socketio` for the ASGI app uvicorn serves,
`start_realtime` in the lifespan once the Runtime exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import socketio  # type: ignore[import-untyped]  # python-socketio ships no type hints
from starlette.types import ASGIApp

from hes.config import Settings
from hes.realtime.hub import RealtimeHub
from hes.realtime.namespace import HesNamespace
from hes.realtime.packets import JsonPacket
from hes.runtime import Runtime

logger = logging.getLogger(__name__)

# The path the seed's socket.io-client uses by default.
SOCKETIO_PATH = "socket.io"


def create_server(settings: Settings, *, redis_url: str | None = None) -> socketio.AsyncServer:
    """The Socket.IO server: in-process rooms, or rooms shared through Redis when `redis_url` is given.

    With Redis every HES instance receives every emit and delivers it to its own clients, so instances behind a
    load balancer (with sticky sessions for the polling transport) act as one server.
    """
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else socketio.AsyncManager()
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        serializer=JsonPacket,
        cors_allowed_origins=_origin_check(frozenset(settings.cors_origins)),
        logger=False,
        engineio_logger=False,
    )


def _origin_check(allowed: frozenset[str]) -> Callable[[str | None, Mapping[str, Any]], bool]:
    """Browsers may connect from CORS_ORIGIN or from the page HES Core itself serves (same origin)."""

    def check(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if origin is None or origin in allowed:
            return True  # no Origin header: not a browser, the token decides
        # Same host as the request: the console HES Core serves itself (http or https behind a proxy alike).
        return bool(origin) and urlsplit(origin).netloc == environ.get("HTTP_HOST")

    return check


def with_socketio(app: ASGIApp, server: socketio.AsyncServer) -> ASGIApp:
    """One ASGI app on one port: `/socket.io/` goes to Socket.IO, everything else (and the lifespan) to `app`."""
    combined: ASGIApp = socketio.ASGIApp(server, other_asgi_app=app, socketio_path=SOCKETIO_PATH)
    return combined


async def start_realtime(server: socketio.AsyncServer, runtime: Runtime, *, coalesce_s: float = 1.0) -> RealtimeHub:
    """Register the namespace (sign-in, rooms, meter clients) on `server` and start the hub; stop it with `stop()`.

    Meter clients' readings go through `runtime.ingestor`, their device tokens are checked as HTTP checks them.
    """
    server.register_namespace(HesNamespace(runtime))
    hub = RealtimeHub(server, coalesce_s=coalesce_s)
    await hub.start()
    logger.info("Socket.IO ready (%s)", type(server.manager).__name__)
    return hub


async def stop_realtime(hub: RealtimeHub) -> None:
    """Stop the hub and the server's background tasks; call it in the lifespan before the web server stops."""
    await hub.stop()
    await hub.server.shutdown()
