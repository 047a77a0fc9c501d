"""The combined app: API and Socket.IO on one uvicorn port; several instances share rooms through Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
import socketio

from hes.app import create_app
from hes.config import Settings
from hes.db.enums import Role
from hes.realtime import RealtimeHub, ServerEvent, create_server, start_realtime, stop_realtime, with_socketio
from hes.runtime import Runtime
from tests.realtime.conftest import (
    ARRIVAL_TIMEOUT_S,
    ClientFactory,
    LiveServer,
    Recorder,
    Refused,
    UserTokenFactory,
    serve,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_the_api_and_socketio_share_one_port(live: LiveServer, user_token: UserTokenFactory) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        health = await http.get("/health")
        assert health.status_code == 200
        # Engine.IO's polling handshake answers on the same port.
        handshake = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert handshake.status_code == 200 and '"sid"' in handshake.text
        assert (await http.get("/no-such-route")).status_code == 404


def test_the_client_manager_comes_from_the_settings(settings: Settings) -> None:
    assert type(create_server(settings).manager) is socketio.AsyncManager
    assert type(create_server(settings, redis_url=REDIS_URL).manager) is socketio.AsyncRedisManager


@asynccontextmanager
async def _instance(settings: Settings, runtime: Runtime) -> AsyncIterator[tuple[str, RealtimeHub]]:
    sio = create_server(settings, redis_url=REDIS_URL)
    hub = await start_realtime(sio, runtime)
    try:
        async for url in serve(with_socketio(create_app(settings), sio)):
            yield url, hub
    finally:
        await stop_realtime(hub)


async def test_an_emit_on_one_instance_reaches_clients_of_another_through_redis(
    settings: Settings, runtime: Runtime, user_token: UserTokenFactory
) -> None:
    token = await user_token(Role.ADMIN)
    async with AsyncExitStack() as stack:
        _, hub_a = await stack.enter_async_context(_instance(settings, runtime))
        url_b, _ = await stack.enter_async_context(_instance(settings, runtime))
        recorder = Recorder()
        client = socketio.AsyncClient(reconnection=False)
        client.on("*", recorder.record)
        await client.connect(url_b, auth={"token": token}, transports=["websocket"], wait_timeout=ARRIVAL_TIMEOUT_S)
        stack.push_async_callback(client.disconnect)
        assert (await client.call("join-room", "all", timeout=ARRIVAL_TIMEOUT_S))["ok"]
        marker = secrets.token_hex(4)
        # The Redis listener of each instance subscribes in the background: repeat until one gets through.
        while not recorder.of(ServerEvent.EVENT_LOGGED.value):
            await hub_a.event_logged(_Marker(marker))
            try:
                await recorder.until(lambda: bool(recorder.of(ServerEvent.EVENT_LOGGED.value)))
            except TimeoutError:
                continue
        assert recorder.of(ServerEvent.EVENT_LOGGED.value)[0]["meterNumber"] == marker


@dataclass(frozen=True)
class _Marker:
    """A fleet-wide event notice carrying a marker as its meter number."""

    meter_number: str
    id: int = 1
    meter_id: int | None = None
    area_code: str | None = None
    event_type: str = "test"
    category: str = "technical"
    severity: str = "info"
    code: int | None = None
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    details: dict[str, str] = field(default_factory=dict)


async def test_browsers_connect_from_the_configured_origin_or_the_same_host(
    live: LiveServer, connect: ClientFactory, user_token: UserTokenFactory, settings: Settings
) -> None:
    token = await user_token(Role.ADMIN)
    same_host = live.url.replace("http://", "https://")
    for origin in [settings.cors_origins[0], same_host]:
        client = await connect(auth={"token": token}, headers={"Origin": origin})
        assert (await client.join("all"))["ok"], origin
    with pytest.raises(Refused):
        await connect(auth={"token": token}, headers={"Origin": "https://evil.example"})
