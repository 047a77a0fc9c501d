"""Sessions over each channel: dial-in meters collected over the socket they hold open (the dial-in listener's
registry as DialInStreams), a dial-in meter not connected, and where an outbound meter is reached."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.dial_in import DialInServer
from hes.connectivity.errors import NoChannel, NotConnected
from hes.connectivity.meter_links import Channel, MeterTarget
from hes.db.enums import ConnectionMode
from hes.runtime import Runtime
from hes.simulator.dial_in import DialInFleet
from hes.simulator.dial_in import DialInSettings as Dialling
from hes.simulator.fleet import FleetSpec, fleet_from_options
from hes.simulator.server import build_meters
from tests.connectivity.fleet import TEST_BOUND, events_of, meter_row, readings_of, register, running, settle
from tests.connectivity.inbound_meters import eventually, inbound_port
from tests.connectivity.targets import link_row


@contextlib.asynccontextmanager
async def dialling(fleet: FleetSpec, port: int) -> AsyncIterator[DialInFleet]:
    """The fleet's meters dialling the inbound port (no heartbeats), hung up at the end."""
    settings = Dialling("127.0.0.1", port, keepalive_s=0.0, backoff_initial_s=0.05, backoff_max_s=0.2)
    dialers = DialInFleet(fleet, build_meters(fleet), settings)
    await dialers.start()
    try:
        yield dialers
    finally:
        await dialers.close()


@pytest.mark.parametrize(("transport", "auth"), [("wrapper", "none"), ("hdlc", "lls"), ("wrapper", "hls")])
async def test_dial_in_meters_are_collected_over_the_socket_they_opened(
    runtime: Runtime, transport: str, auth: str
) -> None:
    fleet = fleet_from_options(2, brand="idis", transport=transport, auth=auth, base_port=0)
    ids = list((await register(runtime, fleet, {}, mode=ConnectionMode.DIAL_IN)).values())
    async with asyncio.timeout(TEST_BOUND), inbound_port(runtime) as server, dialling(fleet, server.port):
        for meter_id in ids:
            await eventually(lambda meter_id=meter_id: _held(server, meter_id), f"meter {meter_id} connected")
        async with running(runtime, dial_in=server.registry) as connectivity:
            kinds = [CollectionKind.REGISTERS, CollectionKind.LOAD_PROFILE]
            for _ in range(2):  # the socket is kept: a second wave goes over the same connection
                results = [await handle.result() for handle in await connectivity.collect(ids, kinds)]
                assert len(results) == 4
            await settle(connectivity)  # the last sessions released
            stats = connectivity.stats
        connections = [server.registry.connection(meter_id) for meter_id in ids]
    assert stats.connections == 0  # no TCP connection opened by HES Core
    assert all(connection is not None and connection.leases == 2 for connection in connections)
    for meter_id in ids:
        assert len(await readings_of(runtime, meter_id, "1-0:32.7.0.255")) >= 1
        assert (
            95
            <= len(
                [
                    1
                    for _, ts, _ in await readings_of(runtime, meter_id, "1-0:1.8.0.255")
                    if ts.minute % 15 == 0 and ts.second == 0
                ]
            )
            <= 98
        )
        assert (await meter_row(runtime, meter_id)).last_success_at is not None


async def test_a_dial_in_meter_that_is_not_connected_fails_its_job_without_a_communication_event(
    runtime: Runtime,
) -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    (meter_id,) = (await register(runtime, fleet, {}, mode=ConnectionMode.DIAL_IN)).values()
    async with (
        asyncio.timeout(TEST_BOUND),
        inbound_port(runtime) as server,
        running(runtime, dial_in=server.registry) as connectivity,
    ):
        (handle,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
        with pytest.raises(NotConnected):
            await handle.result()
        await connectivity.recorder.flush()
    # Another HES instance may hold its socket: not connected here is not a failed attempt.
    assert not await events_of(runtime, meter_id) and (await meter_row(runtime, meter_id)).consecutive_failures == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"connection_mode": ConnectionMode.HTTP, "ip_address": "10.1.2.3"},
        {"connection_mode": ConnectionMode.MQTT, "ip_address": "10.1.2.3"},
        {"connection_mode": ConnectionMode.OUTBOUND},  # no address, no SIM address
    ],
    ids=["http", "mqtt", "no-address"],
)
async def test_a_meter_without_a_dlms_channel_is_refused_before_anything_is_sent(
    runtime: Runtime, changes: dict[str, object]
) -> None:
    target = MeterTarget.from_row(link_row(**changes), 4059)
    assert target.channel is Channel.NONE
    async with running(runtime) as connectivity:

        async def free_token() -> None:
            return None

        with pytest.raises(NoChannel):
            async with connectivity.opener.open(target, free_token):
                raise AssertionError("no session may open")


async def _held(server: DialInServer, meter_id: int) -> bool:
    return server.registry.connection(meter_id) is not None
