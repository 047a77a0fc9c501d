"""A real HES server (API + Socket.IO) under uvicorn on an ephemeral port, and Socket.IO clients over websockets."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import socketio
import uvicorn

from hes.app import create_app
from hes.config import Settings
from hes.db.enums import Role
from hes.db.tables import Area, Customer, Meter
from hes.realtime import RealtimeHub, create_server, start_realtime, stop_realtime, with_socketio
from hes.runtime import Runtime
from hes.security.tokens import TokenKind, issue_token, new_claims
from hes.services import auth, users

# Liveness guard only: how long a test waits for something that must arrive before it fails.
ARRIVAL_TIMEOUT_S = 15.0
BARRIER = "test-barrier"


@dataclass
class LiveServer:
    """The running server: its URL, Socket.IO server and hub; meter clients' readings go to `runtime.ingestor`."""

    url: str
    sio: socketio.AsyncServer
    hub: RealtimeHub


async def serve(app: Any) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 and an ephemeral port; yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live(settings: Settings, runtime: Runtime) -> AsyncIterator[LiveServer]:
    """The API and Socket.IO on one uvicorn port; the hub is not started, so tests flush it when they choose.

    Socket.IO runs on the test `runtime`: its Ingestor stores what meter clients send, its cache holds their tokens.
    """
    sio = create_server(settings)
    hub = await start_realtime(sio, runtime)
    await hub.stop()  # tests drive `flush()` themselves unless they start the loop
    async for url in serve(with_socketio(create_app(settings), sio)):
        yield LiveServer(url, sio, hub)
        await stop_realtime(hub)


class Recorder:
    """Everything one client received, in order, with a way to wait for a condition."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        self._changed = asyncio.Condition()

    async def record(self, event: str, data: Any = None) -> None:
        async with self._changed:
            self.received.append((event, data))
            self._changed.notify_all()

    def of(self, event: str) -> list[Any]:
        """Payloads of `event`, in arrival order."""
        return [data for name, data in self.received if name == event]

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until `condition()` holds."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), ARRIVAL_TIMEOUT_S)


@dataclass
class Client:
    """A connected Socket.IO client and what it received."""

    sio: socketio.AsyncClient
    recorder: Recorder

    async def join(self, room: object) -> dict[str, Any]:
        answer: dict[str, Any] = await self.sio.call("join-room", room, timeout=ARRIVAL_TIMEOUT_S)
        return answer

    async def call(self, event: str, data: object) -> Any:
        return await self.sio.call(event, data, timeout=ARRIVAL_TIMEOUT_S)


ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def connect(live: LiveServer) -> AsyncIterator[ClientFactory]:
    """Connect clients over websockets (`auth` payload and/or headers); all are disconnected afterwards."""
    clients: list[socketio.AsyncClient] = []

    async def make(auth: dict[str, object] | None = None, headers: dict[str, str] | None = None) -> Client:
        recorder = Recorder()
        client = socketio.AsyncClient(reconnection=False)
        client.on("*", recorder.record)

        async def connect_error(data: object) -> None:
            await recorder.record("connect_error", data)

        client.on("connect_error", connect_error)
        clients.append(client)
        try:
            await client.connect(
                live.url, auth=auth, headers=headers or {}, transports=["websocket"], wait_timeout=ARRIVAL_TIMEOUT_S
            )
        except socketio.exceptions.ConnectionError as error:
            reasons = [data.get("message") for data in recorder.of("connect_error") if isinstance(data, dict)]
            raise Refused(str(reasons[0]) if reasons else str(error)) from error
        return Client(client, recorder)

    yield make
    for client in clients:
        if client.connected:
            await client.disconnect()


class Refused(Exception):
    """The server refused the connection; `reason` is the message it gave."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def refusal(connect: ClientFactory, **kwargs: Any) -> str:
    """The reason the server gives when refusing a connection made with `kwargs`."""
    with pytest.raises(Refused) as refused:
        await connect(**kwargs)
    return refused.value.reason


async def barrier(live: LiveServer, *clients: Client) -> None:
    """Make sure everything the server sent to `clients` so far has arrived (one socket delivers in order)."""
    for client in clients:
        token = secrets.token_hex(4)
        await live.sio.emit(BARRIER, token, to=client.sio.get_sid())
        await client.recorder.until(lambda client=client, token=token: token in client.recorder.of(BARRIER))


UserTokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def user_token(runtime: Runtime, settings: Settings) -> UserTokenFactory:
    """Create a user (role, area limits, customer) and return a fresh access token for it."""

    async def make(role: Role, *, area_ids: frozenset[int] = frozenset(), customer_id: int | None = None) -> str:
        name = f"{role.value}-{secrets.token_hex(3)}"
        async with runtime.sessions() as session:
            user = await users.create_user(
                session,
                "test",
                users.NewUser(name, "correct-horse-battery", role, customer_id=customer_id, area_ids=area_ids),
            )
            return auth.issue_pair(user, settings).access_token

    return make


def expired_token(settings: Settings, user_id: int = 1) -> str:
    """An access token that expired a minute ago."""
    claims = new_claims(user_id, "someone", Role.ADMIN, 0, TokenKind.ACCESS, timedelta(minutes=-1))
    return issue_token(claims, settings.resolved_jwt_secret)


@dataclass(frozen=True)
class Fleet:
    """A region with a feeder below it, another region, two customers and a meter in each place."""

    region: Area
    feeder: Area
    elsewhere: Area
    alice: Customer
    bob: Customer
    region_meter: Meter
    feeder_meter: Meter
    elsewhere_meter: Meter


@pytest.fixture
async def fleet(runtime: Runtime) -> Fleet:
    """The sample areas, customers and meters, committed."""
    async with runtime.sessions() as session:
        region = Area(code="REG", name="Region")
        elsewhere = Area(code="ELS", name="Elsewhere")
        session.add_all([region, elsewhere])
        await session.flush()
        feeder = Area(code="FDR", name="Feeder", parent_id=region.id)
        alice = Customer(account_number="ACC-A", customer_name="Alice", area_id=region.id)
        bob = Customer(account_number="ACC-B", customer_name="Bob", area_id=elsewhere.id)
        session.add_all([feeder, alice, bob])
        await session.flush()
        region_meter = Meter(meter_number="M-REG", area_id=region.id, customer_id=alice.id, concentrator_id="DC-1")
        feeder_meter = Meter(meter_number="M-FDR", area_id=feeder.id, concentrator_id="DC-1")
        elsewhere_meter = Meter(meter_number="M-ELS", area_id=elsewhere.id, customer_id=bob.id)
        session.add_all([region_meter, feeder_meter, elsewhere_meter])
        await session.commit()
        return Fleet(region, feeder, elsewhere, alice, bob, region_meter, feeder_meter, elsewhere_meter)
