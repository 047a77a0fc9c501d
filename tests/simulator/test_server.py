"""The fleet server over real TCP on 127.0.0.1 (ports picked by the system), with gurux-dlms as the HES side."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSRegister

from hes.simulator.fleet import Authentication as Auth
from hes.simulator.fleet import FleetSpec, MeterGroup, Transport, build_fleet, fleet_from_options
from hes.simulator.server import ServerLimits, run_fleet
from tests.simulator.gurux_peer import (
    CLOCK,
    ENERGY,
    ENERGY_WH,
    NOW,
    SERIAL,
    GuruxPeer,
    StreamWire,
    gurux_client,
    tiny_objects,
)


def _fleet(transport: str = "wrapper", auth: str = "none", meters: int = 2, latency_ms: int = 0) -> FleetSpec:
    return fleet_from_options(meters, transport=transport, auth=auth, base_port=0, latency_ms=latency_ms)


async def _closed_by_server(wire: StreamWire) -> bool:
    """Whether the server hangs up on this connection (EOF within a few seconds)."""
    async with asyncio.timeout(5):
        return await wire.reader.read(4096) == b""


@pytest.mark.parametrize(
    ("transport", "auth"),
    [("wrapper", "none"), ("wrapper", "lls"), ("wrapper", "hls"), ("hdlc", "none"), ("hdlc", "lls")],
)
async def test_read_clock_and_register_then_disconnect_and_reconnect(transport: str, auth: str) -> None:
    fleet = _fleet(transport, auth)
    spec = fleet.meters[1]
    async with run_fleet(fleet, objects=tiny_objects) as server:
        endpoint = server.endpoints[spec.meter_number]
        client = gurux_client(spec)
        for _ in range(2):  # the second time over a new TCP connection, with the same (persisted) client counter
            wire = await StreamWire.open(endpoint.host, endpoint.port)
            peer = GuruxPeer(client, wire)
            await peer.associate()
            assert await peer.read_basics() == (NOW, ENERGY_WH / 1000, spec.meter_number)
            await peer.release()
            await wire.close()
        meter = server.meters[spec.meter_number]
        assert meter.counters.communication_errors == 0 and meter.counters.connections == 2


async def test_each_wrapper_meter_has_its_own_port_and_hdlc_meters_share_one() -> None:
    fleet = build_fleet(
        [MeterGroup(2, "hexing", Transport.WRAPPER, Auth.NONE), MeterGroup(3, "idis", Transport.HDLC, Auth.NONE)],
        seed=3,
        base_port=0,
    )
    async with run_fleet(fleet, objects=tiny_objects) as server:
        ports = [server.endpoints[meter.meter_number].port for meter in fleet.meters]
        assert len(set(ports[:2])) == 2 and ports[2] == ports[3] == ports[4] not in ports[:2]
        assert server.hdlc_endpoint is not None and server.hdlc_endpoint.port == ports[2]


async def test_two_meters_on_the_shared_hdlc_port_answer_with_their_own_serial_at_the_same_time() -> None:
    fleet = _fleet("hdlc", meters=3)
    async with run_fleet(fleet, objects=tiny_objects) as server:
        assert server.hdlc_endpoint is not None
        host, port = server.hdlc_endpoint.host, server.hdlc_endpoint.port

        async def serial_of(index: int) -> str:
            wire = await StreamWire.open(host, port)
            peer = GuruxPeer(gurux_client(fleet.meters[index]), wire)
            await peer.associate()
            serial = (await peer.read_basics())[2]
            await peer.release()
            await wire.close()
            return serial

        serials = await asyncio.gather(serial_of(0), serial_of(2))
        assert list(serials) == [fleet.meters[0].meter_number, fleet.meters[2].meter_number]


async def test_garbage_closes_only_that_connection() -> None:
    fleet = _fleet(meters=2)
    first, second = fleet.meters
    async with run_fleet(fleet, objects=tiny_objects) as server:
        endpoint = server.endpoints[first.meter_number]
        busy = GuruxPeer(gurux_client(first), await StreamWire.open(endpoint.host, endpoint.port))
        await busy.associate()
        garbage = await StreamWire.open(endpoint.host, endpoint.port)

        await garbage.send(b"\x16\x03\x01\x02\x00garbage that is no wrapper frame")

        assert await _closed_by_server(garbage)
        assert server.meters[first.meter_number].counters.communication_errors == 1
        # The same meter's associated connection and the other meter both keep answering.
        assert (await busy.read_basics())[2] == first.meter_number
        other = server.endpoints[second.meter_number]
        peer = GuruxPeer(gurux_client(second), await StreamWire.open(other.host, other.port))
        await peer.associate()
        assert (await peer.read_basics())[2] == second.meter_number


async def test_a_corrupt_hdlc_frame_closes_only_that_connection() -> None:
    fleet = _fleet("hdlc", meters=2)
    async with run_fleet(fleet, objects=tiny_objects) as server:
        assert server.hdlc_endpoint is not None
        host, port = server.hdlc_endpoint.host, server.hdlc_endpoint.port
        peer = GuruxPeer(gurux_client(fleet.meters[0]), await StreamWire.open(host, port))
        await peer.associate()
        garbage = await StreamWire.open(host, port)
        snrm = bytearray(gurux_client(fleet.meters[1]).snrmRequest())
        snrm[-2] ^= 0xFF  # FCS broken

        await garbage.send(bytes(snrm))

        assert await _closed_by_server(garbage)
        assert (await peer.read_basics())[2] == fleet.meters[0].meter_number


async def test_a_silent_connection_is_closed_after_the_inactivity_timeout() -> None:
    fleet = _fleet(meters=1)
    async with run_fleet(fleet, objects=tiny_objects, limits=ServerLimits(inactivity_timeout=0.2)) as server:
        endpoint = server.endpoints[fleet.meters[0].meter_number]
        wire = await StreamWire.open(endpoint.host, endpoint.port)
        await wire.send(struct.pack(">HHHH", 1, 16, 1, 10))  # half a frame, then nothing
        assert await _closed_by_server(wire)
        assert server.open_connections == 0


async def test_connections_over_the_limit_are_refused() -> None:
    fleet = _fleet(meters=1)
    async with run_fleet(fleet, objects=tiny_objects, limits=ServerLimits(max_connections=1)) as server:
        endpoint = server.endpoints[fleet.meters[0].meter_number]
        first = GuruxPeer(gurux_client(fleet.meters[0]), await StreamWire.open(endpoint.host, endpoint.port))
        await first.associate()
        second = await StreamWire.open(endpoint.host, endpoint.port)
        assert await _closed_by_server(second)
        assert (await first.read_basics())[2] == fleet.meters[0].meter_number


async def test_latency_delays_each_answer() -> None:
    fleet = _fleet(meters=1, latency_ms=100)
    async with run_fleet(fleet, objects=tiny_objects) as server:
        endpoint = server.endpoints[fleet.meters[0].meter_number]
        peer = GuruxPeer(gurux_client(fleet.meters[0]), await StreamWire.open(endpoint.host, endpoint.port))
        started = time.monotonic()
        await peer.associate()
        await peer.read_basics()  # 4 GETs
        assert time.monotonic() - started >= 0.5  # 5 answers, each at least 100 ms late (a lower bound only)


async def test_shutdown_closes_open_connections_and_stops_listening() -> None:
    fleet = _fleet(meters=1)
    async with run_fleet(fleet, objects=tiny_objects) as server:
        endpoint = server.endpoints[fleet.meters[0].meter_number]
        peer = GuruxPeer(gurux_client(fleet.meters[0]), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        assert server.open_connections == 1
    assert isinstance(peer.wire, StreamWire) and await _closed_by_server(peer.wire)
    assert server.open_connections == 0
    with pytest.raises(OSError):
        await asyncio.open_connection(endpoint.host, endpoint.port)


async def test_a_port_in_use_fails_the_start_and_releases_what_was_bound() -> None:
    blocker = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    taken = blocker.sockets[0].getsockname()[1]
    try:
        fleet = build_fleet(
            [MeterGroup(1, "hexing", Transport.WRAPPER, Auth.NONE), MeterGroup(1, "hexing", Transport.HDLC, Auth.NONE)],
            seed=7,
            base_port=taken - 1 if taken > 1024 else taken + 1,
            hdlc_port=taken,
        )
        with pytest.raises(OSError):
            async with run_fleet(fleet, objects=tiny_objects):
                pass
    finally:
        blocker.close()
        await blocker.wait_closed()


@pytest.mark.parametrize(
    ("brand", "transport", "auth"),
    [("hexing", "wrapper", "hls"), ("hexcell", "hdlc", "lls"), ("idis", "wrapper", "none")],
)
async def test_by_default_each_meter_has_its_brand_profiles_objects(brand: str, transport: str, auth: str) -> None:
    fleet = fleet_from_options(1, brand=brand, transport=transport, auth=auth, base_port=0)
    (spec,) = fleet.meters
    async with run_fleet(fleet) as server:
        endpoint = server.endpoints[spec.meter_number]
        peer = GuruxPeer(gurux_client(spec), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        clock, register, serial = GXDLMSClock(CLOCK), GXDLMSRegister(ENERGY), GXDLMSData(SERIAL)
        await peer.read(clock, 2)
        await peer.read(register, 3)
        await peer.read(serial, 2)
        assert abs(clock.time.value.timestamp() - time.time()) < 120  # a running clock, not a fixed one
        assert register.unit == 30 and bytes(serial.value).decode() == spec.meter_number
        await peer.release()
