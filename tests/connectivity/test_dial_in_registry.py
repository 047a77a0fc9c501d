"""A dial-in connection's pump and leases over a real loopback socket (the meter side played by hand with the
simulator's pushes), and the registry's bookkeeping: hand-over on a frame boundary, bounded waits, hang-ups."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest

from hes.connectivity.channels import DialInStreams
from hes.connectivity.dial_in_registry import DialInConnection, DialInRegistry
from hes.connectivity.dlms import ConnectionLost, FramingError
from hes.connectivity.dlms.notification import InboundApdu, InboundFramer
from hes.simulator.fleet import fleet_from_options
from hes.simulator.push_messages import PushMessages
from hes.simulator.server import build_meters
from tests.simulator.gurux_peer import tiny_objects

_WAIT = 5.0


class Line:
    """Both ends of one loopback TCP connection: the meter's, and the HES's wrapped in a DialInConnection."""

    def __init__(self, meter: tuple[asyncio.StreamReader, asyncio.StreamWriter], connection: DialInConnection) -> None:
        self.meter_reader, self.meter_writer = meter
        self.connection = connection
        self.pushes: list[InboundApdu] = []

    async def say(self, data: bytes) -> None:
        self.meter_writer.write(data)
        await self.meter_writer.drain()


@contextlib.asynccontextmanager
async def line(framer: InboundFramer | None = None, handover_timeout: float = _WAIT) -> AsyncIterator[Line]:
    """A connection of meter 1 whose pump runs for the block."""
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    meter = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    reader, writer = await accepted.get()
    pushes: list[InboundApdu] = []

    async def on_pushes(_: DialInConnection, cut: Sequence[InboundApdu]) -> None:
        pushes.extend(cut)

    framer = framer or InboundFramer()
    connection = DialInConnection(
        1, "47007000001", reader, writer, framer, "meter", on_pushes, handover_timeout=handover_timeout
    )
    ends = Line(meter, connection)
    ends.pushes = pushes
    pump = asyncio.create_task(connection.run())
    try:
        yield ends
    finally:
        connection.close()
        meter[1].close()
        await asyncio.gather(pump, return_exceptions=True)
        server.close()


def _push() -> bytes:
    fleet = fleet_from_options(1, base_port=0)
    (meter,) = build_meters(fleet, tiny_objects)
    return PushMessages(meter, fleet.meters[0]).push()


async def _until(check: object, what: str) -> None:
    async with asyncio.timeout(_WAIT):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_idle_pushes_are_handed_on_and_a_lease_gets_every_octet_after_them() -> None:
    push = _push()
    async with line() as ends:
        await ends.say(push + push)
        await _until(lambda: len(ends.pushes) == 2, "two heartbeats cut")
        async with ends.connection.lease() as (reader, writer):
            await ends.say(b"\x00\x01answer")
            assert await reader.readexactly(8) == b"\x00\x01answer"  # passed on unread, not cut as a push
            writer.write(b"request")
            await writer.drain()
            assert await ends.meter_reader.readexactly(7) == b"request"
        await ends.say(push)
        await _until(lambda: len(ends.pushes) == 3, "idle again: the next heartbeat cut")
        assert ends.connection.leases == 1 and not ends.connection.closed


async def test_a_lease_waits_for_a_push_in_flight_and_never_starts_inside_it() -> None:
    push, framer = _push(), InboundFramer()
    async with line(framer) as ends:
        await ends.say(push[:10])
        await _until(lambda: framer.buffered == 10, "half a push read")
        entered = asyncio.Event()

        async def session() -> bytes:
            async with ends.connection.lease() as (reader, _):
                entered.set()
                return await reader.readexactly(4)

        task = asyncio.create_task(session())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not entered.is_set()
        await ends.say(push[10:])
        await asyncio.wait_for(entered.wait(), _WAIT)
        await ends.say(b"next")  # the meter's answer to the session's first request
        assert await asyncio.wait_for(task, _WAIT) == b"next"
        assert len(ends.pushes) == 1


async def test_a_push_that_never_ends_costs_the_connection() -> None:
    framer = InboundFramer()
    async with line(framer, handover_timeout=0.1) as ends:
        await ends.say(_push()[:10])
        await _until(lambda: framer.buffered == 10, "half a push read")
        with pytest.raises(ConnectionLost):
            async with ends.connection.lease():
                pass
        assert ends.connection.closed


async def test_garbage_while_idle_ends_the_connection_with_a_remote_error() -> None:
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    _, meter_writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    reader, writer = await accepted.get()

    async def ignore(_: DialInConnection, __: Sequence[InboundApdu]) -> None:
        return None

    connection = DialInConnection(1, "1", reader, writer, InboundFramer(), "meter", ignore)
    meter_writer.write(b"\x7e\x00garbage")
    with pytest.raises(FramingError):
        await asyncio.wait_for(connection.run(), _WAIT)
    assert connection.closed
    meter_writer.close()
    server.close()


async def test_a_hang_up_while_lent_reaches_the_session_and_closes_the_connection() -> None:
    async with line() as ends:
        async with ends.connection.lease() as (reader, _):
            ends.meter_writer.close()
            assert await asyncio.wait_for(reader.read(), _WAIT) == b""
        await _until(lambda: ends.connection.closed, "the connection closed")
        with pytest.raises(ConnectionLost):
            async with ends.connection.lease():
                pass


async def test_a_session_that_drops_the_socket_closes_the_connection() -> None:
    async with line() as ends:
        async with ends.connection.lease() as (_, writer):
            writer.transport.abort()  # what a failed session does
        assert ends.connection.closed


async def test_the_registry_lends_replaces_and_forgets() -> None:
    told: list[int] = []
    registry = DialInRegistry(on_connected=told.append)
    assert registry.lease(1) is None
    async with line() as first, line() as second:
        registry.add(first.connection)
        lease = registry.lease(1)
        assert lease is not None and registry.connected() == [1]
        registry.add(second.connection)  # the meter dialled again
        assert first.connection.closed and registry.connection(1) is second.connection
        registry.discard(first.connection)  # the old one ending does not unregister the new one
        assert registry.connection(1) is second.connection and told == [1, 1]
        registry.discard(second.connection)
        assert registry.lease(1) is None and len(registry) == 0
        registry.add(second.connection)
        registry.close_all()
        assert second.connection.closed and registry.connected() == []


def test_the_registry_is_the_dispatchers_dial_in_streams() -> None:
    streams: DialInStreams = DialInRegistry()  # checked by mypy: the shape hes.connectivity.channels expects
    assert streams.lease(1) is None
