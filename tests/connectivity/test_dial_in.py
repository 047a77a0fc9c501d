"""Dial-in over real TCP: simulated meters dial the inbound port, are identified (announcement or association),
marked online through the real ingest path, and served over the socket they hold; redials, drops, heartbeats,
exclusive leases, and unknown, hostile or surplus connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hes.connectivity.channels import SessionOpener
from hes.connectivity.dial_in import METER_CONNECTED, DialInServer
from hes.connectivity.dial_in_registry import DialInConnection
from hes.connectivity.dlms import ConnectionLost, DlmsSession
from hes.connectivity.invocation_counters import InvocationCounters
from hes.connectivity.meter_links import MeterTarget
from hes.connectivity.push_receiver import PUSH_REJECTED
from hes.db.enums import ConnectionMode, MeterStatus, ReadingSource
from hes.db.store import meter_links
from hes.runtime import Runtime
from hes.simulator.dial_in import DialInFleet
from hes.simulator.dial_in import DialInSettings as Dialling
from hes.simulator.fleet import FleetSpec, MeterSpec, fleet_from_options
from hes.simulator.push_messages import PushMessages
from hes.simulator.server import build_meters, run_fleet
from tests.connectivity.dlms.meters import CLIENT_TITLE, ENERGY_IMPORT, SERIAL, link_for
from tests.connectivity.inbound_meters import (
    TIMEOUTS,
    event_types,
    events,
    eventually,
    inbound_port,
    meter,
    readings,
    register,
    send,
)

ENERGY = "1-0:1.8.0.255"
_MATRIX = [
    pytest.param(transport, auth, id=f"{transport}-{auth}")
    for transport in ("wrapper", "hdlc")
    for auth in ("none", "lls", "hls")
]


@contextlib.asynccontextmanager
async def dialling(fleet: FleetSpec, port: int, **options: Any) -> AsyncIterator[DialInFleet]:
    """The fleet's meters (full objects) dialling the inbound port, hung up at the end."""
    settings = {"keepalive_s": 0.0, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, **options}
    dialers = DialInFleet(fleet, build_meters(fleet), Dialling("127.0.0.1", port, **settings))
    await dialers.start()
    try:
        yield dialers
    finally:
        await dialers.close()


async def held(server: DialInServer, meter_id: int) -> DialInConnection:
    """The meter's registered connection, once it is there."""
    connection: DialInConnection = await eventually(lambda: _connection(server, meter_id), f"meter {meter_id} held")
    return connection


async def _connection(server: DialInServer, meter_id: int) -> DialInConnection | None:
    return server.registry.connection(meter_id)


async def _session_reads(server: DialInServer, spec: MeterSpec, meter_id: int, counter: int = 1) -> int:
    """Lease the meter's socket, read its clock, energy and serial over it; the next invocation counter."""
    lease = server.registry.lease(meter_id)
    assert lease is not None
    link = link_for(spec, meter_id=meter_id, invocation_counter=counter)
    async with (
        lease as (reader, writer),
        DlmsSession.over_stream(link, reader, writer, TIMEOUTS, close_stream=False) as session,
    ):
        clock = await session.read_clock()
        energy, serial = await session.read_registers([ENERGY_IMPORT, SERIAL])
    assert abs(clock.drift) < timedelta(minutes=1)
    assert energy.unit == "Wh" and isinstance(energy.value, int | float) and serial.value == spec.meter_number.encode()
    return session.invocation_counter


@pytest.mark.parametrize(("transport", "auth"), _MATRIX)
async def test_a_meter_dials_in_is_marked_online_and_served_over_its_socket(
    runtime: Runtime, transport: str, auth: str
) -> None:
    fleet = fleet_from_options(1, transport=transport, auth=auth, base_port=0)
    (spec,) = fleet.meters
    (meter_id,) = (await register(runtime, fleet.meters)).values()
    async with inbound_port(runtime) as server, dialling(fleet, server.port):
        connection = await held(server, meter_id)
        row = await meter(runtime, meter_id)
        assert row.status is MeterStatus.ONLINE and row.last_seen_at is not None
        (connected,) = await events(runtime, meter_id)
        assert connected.event_type == METER_CONNECTED and connected.details is not None
        assert connected.details["identifiedBy"] == "announcement" and connected.details["transport"] == transport
        (announced,) = await readings(runtime, meter_id)  # the announcement's energy value
        assert (announced.obis, announced.source) == (ENERGY, ReadingSource.DLMS_PUSH)
        assert abs(announced.ts - datetime.now(UTC)) < timedelta(minutes=1)
        counter = await _session_reads(server, spec, meter_id)
        await _session_reads(server, spec, meter_id, counter)  # the socket was kept for the next session
        assert server.registry.connection(meter_id) is connection and connection.leases == 2


async def test_a_redial_replaces_the_old_socket_and_a_dropped_one_is_removed(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, base_port=0)
    (spec,) = fleet.meters
    (meter_id,) = (await register(runtime, fleet.meters)).values()
    (simulated,) = build_meters(fleet)
    async with inbound_port(runtime) as server:
        async with dialling(fleet, server.port) as dialers:
            first = await held(server, meter_id)
            # The same meter dials again (its announcement, from another socket): the old socket is closed.
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(PushMessages(simulated, spec).push())
            ours = await eventually(lambda: _other_than(server, meter_id, first), "the redial registered")
            assert first.closed
            # The simulated meter lost its socket and dials again, replacing ours in turn.
            await eventually(lambda: _other_than(server, meter_id, ours), "the meter back")
            assert ours.closed and dialers.counters[spec.meter_number].connections == 2
            writer.close()
            await _session_reads(server, spec, meter_id)
        await eventually(lambda: _gone(server, meter_id), "the dropped connection removed")
        assert server.registry.lease(meter_id) is None and server.registry.connected() == []
    assert (await event_types(runtime, meter_id)).count(METER_CONNECTED) == 3


async def _other_than(server: DialInServer, meter_id: int, old: Any) -> Any:
    current = server.registry.connection(meter_id)
    return current if current is not None and current is not old else None


async def _gone(server: DialInServer, meter_id: int) -> bool:
    return server.registry.connection(meter_id) is None


@pytest.mark.parametrize("transport", ["wrapper", "hdlc"])
async def test_heartbeats_are_stored_while_idle_and_sessions_run_between_them(runtime: Runtime, transport: str) -> None:
    fleet = fleet_from_options(1, transport=transport, auth="hls", base_port=0)
    (spec,) = fleet.meters
    (meter_id,) = (await register(runtime, fleet.meters)).values()
    async with inbound_port(runtime) as server, dialling(fleet, server.port, keepalive_s=0.2):
        await held(server, meter_id)
        await eventually(lambda: _at_least(runtime, meter_id, 3), "the announcement and two heartbeats stored")
        lease = server.registry.lease(meter_id)
        assert lease is not None
        async with lease as (reader, writer):
            link = link_for(spec, meter_id=meter_id)
            async with DlmsSession.over_stream(link, reader, writer, TIMEOUTS, close_stream=False) as session:
                for _ in range(2):
                    assert (await session.read_registers([SERIAL]))[0].value == spec.meter_number.encode()
                    await asyncio.sleep(0.4)  # quiet: the meter's heartbeat arrives inside the session
        assert session.notifications  # the heartbeats of the session went to it; the dispatcher hands them on
        before = len(await readings(runtime, meter_id))
        stored = await server.receiver.receive_frames(session.notifications, "session")
        assert stored >= 1 and len(await readings(runtime, meter_id)) == before + stored
        before = len(await readings(runtime, meter_id))
        await eventually(lambda: _at_least(runtime, meter_id, before + 2), "heartbeats stored again after it")
    assert PUSH_REJECTED not in await event_types(runtime, meter_id)


async def _at_least(runtime: Runtime, meter_id: int, count: int) -> bool:
    return len(await readings(runtime, meter_id)) >= count


async def test_leases_are_exclusive_and_taken_in_turn(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters)).values()
    entered: list[int] = []

    async def second() -> None:
        lease = server.registry.lease(meter_id)
        assert lease is not None
        async with lease:
            entered.append(2)

    async with inbound_port(runtime) as server, dialling(fleet, server.port):
        connection = await held(server, meter_id)
        first = server.registry.lease(meter_id)
        assert first is not None
        async with first:
            waiting = asyncio.create_task(second())
            for _ in range(20):
                await asyncio.sleep(0)  # let it run as far as it can: it waits for the socket
            assert entered == [] and connection.leased
        await waiting
        assert entered == [2] and not connection.leased and connection.leases == 2
        connection.close()  # the meter is gone: a lease now fails, and the registry forgets it
        with pytest.raises(ConnectionLost):
            async with connection.lease():
                pass


async def test_a_silent_meter_is_asked_who_it_is(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="hexing", base_port=0)  # Hexing meters serve the public client
    (spec,) = fleet.meters
    (meter_id,) = (await register(runtime, fleet.meters)).values()
    async with inbound_port(runtime, announcement_timeout=0.3) as server, run_fleet(fleet) as meters:
        endpoint = meters.endpoints[spec.meter_number]
        # A meter that connects and says nothing: a relay from the inbound port to a listening simulated meter.
        async with _relay((endpoint.host, endpoint.port), ("127.0.0.1", server.port)):
            await held(server, meter_id)
            await _session_reads(server, spec, meter_id)
    (connected,) = await events(runtime, meter_id)
    assert connected.details is not None and connected.details["identifiedBy"] == "association"
    assert (await meter(runtime, meter_id)).status is MeterStatus.ONLINE


@contextlib.asynccontextmanager
async def _relay(meter: tuple[str, int], hes: tuple[str, int]) -> AsyncIterator[None]:
    meter_reader, meter_writer = await asyncio.open_connection(*meter)
    hes_reader, hes_writer = await asyncio.open_connection(*hes)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    pipes = [asyncio.create_task(pipe(meter_reader, hes_writer)), asyncio.create_task(pipe(hes_reader, meter_writer))]
    try:
        yield
    finally:
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        meter_writer.close()
        hes_writer.close()


async def test_unknown_meters_and_hostile_announcements_are_refused_and_the_port_keeps_serving(
    runtime: Runtime,
) -> None:
    known = fleet_from_options(1, auth="hls", base_port=0)
    (spec,) = known.meters
    stranger = fleet_from_options(2, brand="idis", base_port=0)
    (meter_id,) = (await register(runtime, known.meters)).values()
    (simulated,) = build_meters(known)
    tampered = bytearray(PushMessages(simulated, spec).push())
    tampered[-3] ^= 0x80  # in the GCM tag
    async with (
        inbound_port(runtime, identify_silent=False, announcement_timeout=0.5) as server,
        dialling(stranger, server.port),
    ):
        assert await send(server.port, bytes(tampered), hang_up=False) == b""
        assert await send(server.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", hang_up=False) == b""
        assert await send(server.port, b"", hang_up=False) == b""  # silent, and not asked: closed
        assert server.registry.connected() == []
        assert await readings(runtime, meter_id) == []
        (rejected,) = await events(runtime, meter_id)
        assert rejected.event_type == PUSH_REJECTED and (await meter(runtime, meter_id)).last_seen_at is None
        async with dialling(known, server.port):
            await held(server, meter_id)
            assert server.registry.connected() == [meter_id]  # the strangers are never held


async def test_no_more_connections_than_the_bound(runtime: Runtime) -> None:
    async with inbound_port(runtime, max_connections=1, identify_silent=False, announcement_timeout=5.0) as server:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)  # holds the only place
        await eventually(lambda: _open(server, 1), "the first connection accepted")
        assert await send(server.port, b"", hang_up=False) == b""  # closed at once
        writer.close()
        await eventually(lambda: _open(server, 0), "the first connection closed")


async def _open(server: DialInServer, count: int) -> bool:
    return server.open_connections == count


async def test_a_decommissioned_meter_is_not_held(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, status=MeterStatus.DECOMMISSIONED)).values()
    (simulated,) = build_meters(fleet)
    async with inbound_port(runtime) as server:
        assert await send(server.port, PushMessages(simulated, fleet.meters[0]).push(), hang_up=False) == b""
        assert server.registry.connected() == []
    assert (await meter(runtime, meter_id)).status is MeterStatus.DECOMMISSIONED


async def test_a_push_meter_connecting_is_not_held(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).values()
    async with inbound_port(runtime, announcement_timeout=0.3) as server, dialling(fleet, server.port):
        await eventually(lambda: readings(runtime, meter_id), "its push stored")
        assert server.registry.connection(meter_id) is None


async def test_the_dispatchers_session_opener_runs_over_the_held_socket(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, transport="hdlc", auth="hls", base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters)).values()

    async def no_token() -> None:
        return None

    async with inbound_port(runtime) as server, dialling(fleet, server.port):
        await held(server, meter_id)
        async with runtime.sessions() as session:
            (row,) = await meter_links.link_rows(session, [meter_id])
        target = MeterTarget.from_row(row, 4059)
        counters = InvocationCounters(runtime.sessions)
        opener = SessionOpener(runtime.secret_box, counters, TIMEOUTS, CLIENT_TITLE, dial_in=server.registry)
        for _ in range(2):  # twice: the socket is kept, the counter moves on
            async with opener.open(target, no_token) as dlms:
                assert (await dlms.read_registers([SERIAL]))[0].value == fleet.meters[0].meter_number.encode()
        assert server.registry.connection(meter_id) is not None
