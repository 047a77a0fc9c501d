"""Builds the ASGI application and runs its services in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

from hes import __version__
from hes.api.errors import install_error_handlers
from hes.api.main import api_router, hot_route_docs, hot_route_security, hot_routes
from hes.api.metrics import RequestMetrics
from hes.background import BackgroundServices
from hes.config import Settings
from hes.realtime import create_server, with_socketio
from hes.runtime import Runtime
from hes.services import readings, users

logger = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    """`<tag>-<route name>`: stable method names for the generated TypeScript client."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The HES Core ASGI app; the database must already be migrated (`hes db upgrade`)."""
    settings = settings or Settings()
    socketio_server = create_server(settings, redis_url=settings.socketio_redis_url or None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.from_settings(settings)
        app.state.runtime = runtime
        async with runtime.sessions() as session:
            await users.ensure_first_admin(session, settings.admin_username, settings.admin_password)
        await readings.ensure_partitions_at_startup(runtime.sessions)
        background = BackgroundServices(runtime, socketio_server)
        app.state.background = background
        app.state.connectivity = background.connectivity
        await background.start()
        logger.info("HES Core %s started (%s)", __version__, runtime.engine.dialect.name)
        try:
            yield
        finally:
            await background.stop()
            await runtime.close()  # writes what the ingest path still holds before the connections close

    app = FastAPI(
        title="HES Core",
        version=__version__,
        description="Head-end system for smart electricity meters",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(RequestMetrics)
    install_error_handlers(app)
    app.include_router(api_router)
    app.router.routes[:0] = hot_routes  # matched first, without FastAPI's per-request dependency solving
    _document_hot_routes(app)
    app.state.socketio = socketio_server
    return app


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """What uvicorn serves: the API, with Socket.IO at /socket.io/ on the same port."""
    app = create_app(settings)
    return with_socketio(app, app.state.socketio)


def _document_hot_routes(app: FastAPI) -> None:
    """Add the hot routes (plain Starlette routes FastAPI does not see) to the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI after the first call; the additions are idempotent
        schema.setdefault("paths", {}).update(hot_route_docs)
        schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(hot_route_security)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
