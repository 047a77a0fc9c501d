"""The frame counter read as the public client, over real TCP: what a HES that lost its counter does."""

from __future__ import annotations

import asyncio

import pytest

from hes.connectivity.dlms import AssociationRejected, ConnectionLost, DlmsSession, Timeouts, read_frame_counter
from hes.simulator.fleet import fleet_from_options
from hes.simulator.server import run_fleet
from tests.connectivity.dlms.meters import ENERGY_IMPORT, server_link

_TIMEOUTS = Timeouts(connect=5, response=5, release=2)
_TEST_TIMEOUT = 30.0


async def test_the_frame_counter_read_as_public_client_lets_a_new_hes_associate() -> None:
    fleet = fleet_from_options(1, brand="idis", auth="hls", base_port=0)
    (spec,) = fleet.meters
    async with asyncio.timeout(_TEST_TIMEOUT), run_fleet(fleet) as server:
        async with DlmsSession.connect(server_link(server, spec, invocation_counter=100), _TIMEOUTS) as first:
            await first.read_clock()
        with pytest.raises(AssociationRejected):  # the HES lost its counter: starting from 1 again is refused
            await DlmsSession.connect(server_link(server, spec), _TIMEOUTS)
        counter = await read_frame_counter(server_link(server, spec), _TIMEOUTS)
        assert 100 <= counter < first.invocation_counter + 1
        async with DlmsSession.connect(server_link(server, spec, invocation_counter=counter + 1), _TIMEOUTS) as again:
            assert (await again.read_registers([ENERGY_IMPORT]))[0].ok


async def test_a_meter_without_a_public_client_refuses_the_frame_counter_read() -> None:
    fleet = fleet_from_options(1, brand="hexcell", auth="lls", base_port=0)
    (spec,) = fleet.meters
    async with asyncio.timeout(_TEST_TIMEOUT), run_fleet(fleet) as server:
        # A meter that serves no public client rejects the AARQ or hangs up (the simulator hangs up).
        with pytest.raises((AssociationRejected, ConnectionLost)):
            await read_frame_counter(server_link(server, spec), _TIMEOUTS)
