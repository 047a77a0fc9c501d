"""Collection over real TCP against the simulator: registers, a day of load profile, billing and events for every
transport x security, scaled right and stored once, whatever how often it is collected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hes.connectivity.catalogue import CollectionKind, main_registers
from hes.db.enums import EventCategory
from hes.runtime import Runtime
from hes.simulator.fleet import Authentication, Transport, fleet_from_options
from hes.simulator.server import run_fleet
from tests.connectivity.fleet import (
    TEST_BOUND,
    count_readings,
    endpoints_of,
    events_of,
    meter_row,
    readings_of,
    register,
    running,
    settle,
)

_QUARTER = timedelta(minutes=15)
_MATRIX = [
    pytest.param(transport, auth, id=f"{transport}-{auth}")
    for transport in Transport
    for auth in (Authentication.NONE, Authentication.LLS, Authentication.HLS_GMAC)
]
ALL_KINDS = list(CollectionKind)


@pytest.mark.parametrize(("transport", "auth"), _MATRIX)
async def test_registers_profile_billing_and_events_land_scaled_in_the_readings(
    runtime: Runtime, transport: Transport, auth: Authentication
) -> None:
    fleet = fleet_from_options(1, brand="idis", transport=transport, auth=auth, base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = await register(runtime, fleet, endpoints_of(server))
        meter_id = ids[fleet.meters[0].meter_number]
        async with running(runtime) as connectivity:
            handles = await connectivity.collect([meter_id], ALL_KINDS)
            results = {(await handle.result()).kind: await handle.result() for handle in handles}
            await settle(connectivity)
    assert set(results) == set(CollectionKind)
    energy = await readings_of(runtime, meter_id, "1-0:1.8.0.255")
    intervals = [(ts, value) for _, ts, value in energy if ts.minute % 15 == 0 and ts.second == 0]
    assert 95 <= len(intervals) <= 97 + 32  # a day of 15-minute values (and daily billing snapshots at midnight)
    values = [value for _, value in sorted(intervals)]
    assert values == sorted(values) and values[-1] - values[0] > 0  # an energy register only goes up
    voltage = await readings_of(runtime, meter_id, "1-0:32.7.0.255")
    assert voltage and all(150 < value < 300 for _, _, value in voltage)  # scaler -1 applied: volts, not decivolts
    frequency = await readings_of(runtime, meter_id, "1-0:14.7.0.255")
    assert frequency and all(45 < value < 65 for _, _, value in frequency)  # scaler -2 applied
    stored = await meter_row(runtime, meter_id)
    assert stored.last_success_at is not None and stored.consecutive_failures == 0
    if auth is Authentication.HLS_GMAC:
        assert stored.dlms_invocation_counter > 0  # a durable ceiling above every counter used
    assert not await events_of(runtime, meter_id, "communication_failed")


async def test_a_second_collection_stores_no_duplicates(runtime: Runtime) -> None:
    fleet = fleet_from_options(2, brand="hexing", base_port=0)
    start = datetime.now(UTC) - timedelta(days=1)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = list((await register(runtime, fleet, endpoints_of(server))).values())
        async with running(runtime) as connectivity:
            kinds = [CollectionKind.LOAD_PROFILE, CollectionKind.EVENTS]
            first = [await handle.result() for handle in await connectivity.collect(ids, kinds, start=start)]
            stored = await count_readings(runtime)
            events = [len(await events_of(runtime, meter_id)) for meter_id in ids]
            second = [await handle.result() for handle in await connectivity.collect(ids, kinds, start=start)]
            await settle(connectivity)
    assert sum(result.readings for result in first) == stored > 0
    assert sum(result.readings for result in second) == 0 and sum(result.events for result in second) == 0
    assert sum(result.duplicates for result in second) == stored
    assert await count_readings(runtime) == stored
    assert [len(await events_of(runtime, meter_id)) for meter_id in ids] == events


async def test_the_next_profile_collection_starts_after_the_last_stored_interval(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        (meter_id,) = (await register(runtime, fleet, endpoints_of(server))).values()
        async with running(runtime) as connectivity:
            two_days = datetime.now(UTC) - timedelta(days=2)
            (handle,) = await connectivity.collect([meter_id], [CollectionKind.LOAD_PROFILE], start=two_days)
            assert (await handle.result()).readings >= 4 * 190
            (handle,) = await connectivity.collect([meter_id], [CollectionKind.LOAD_PROFILE])
            again = await handle.result()
    assert again.readings + again.duplicates <= 4 * 2  # only what the meter captured since: no day read again


async def test_registers_of_a_brand_come_from_its_profile_list(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="hexcell", base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        (meter_id,) = (await register(runtime, fleet, endpoints_of(server))).values()
        async with running(runtime) as connectivity:
            (handle,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
            result = await handle.result()
    codes = {code for code, _, _ in await readings_of(runtime, meter_id)}
    assert result.readings == len(codes) >= 40
    assert codes <= {str(code) for code in main_registers("hexcell")}
    assert {"1-0:15.8.0.255", "1-0:9.8.0.255", "1-0:91.7.0.255"} <= codes  # brand-specific registers


async def test_event_log_rows_become_catalogued_meter_events(runtime: Runtime) -> None:
    fleet = fleet_from_options(2, brand="idis", base_port=0)
    month = datetime.now(UTC) - timedelta(days=30)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = list((await register(runtime, fleet, endpoints_of(server))).values())
        async with running(runtime) as connectivity:
            results = [
                await handle.result()
                for handle in await connectivity.collect(ids, [CollectionKind.EVENTS], start=month)
            ]
    events = [event for meter_id in ids for event in await events_of(runtime, meter_id)]
    assert sum(result.events for result in results) == len(events) > 0
    assert all(event.details and event.details["log"].startswith("0-0:99.9") for event in events)
    assert {event.event_type for event in events} & {"power_down", "power_up", "long_power_failure"}
    assert all(event.category is not EventCategory.COMMUNICATION for event in events)
