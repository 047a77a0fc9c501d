"""Connectivity end to end over real TCP: every simulator fault becomes a communication event with nothing partial
stored while healthy meters are collected in full, gap detection re-collects a deleted range, polling ticks
enqueue the due meters of each group, and invocation counters survive a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.dlms import AssociationRejected, ConnectionLost, DlmsTimeout, FramingError
from hes.connectivity.polling_groups import parse_polling_groups
from hes.db.enums import ConnectionMode, EventCategory, MeterStatus
from hes.db.store.meter_links import spread_offset
from hes.db.tables import Area, Reading
from hes.db.tables import ObisCode as ObisRow
from hes.runtime import Runtime
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import Authentication, MeterGroup, Transport, build_fleet, fleet_from_options
from hes.simulator.server import run_fleet
from tests.connectivity.fleet import (
    TEST_BOUND,
    endpoints_of,
    events_of,
    meter_row,
    readings_of,
    register,
    running,
    settings,
    settle,
)

ENERGY = "1-0:1.8.0.255"
_FAULTS = [
    (Fault(FaultKind.NO_ANSWER), Authentication.NONE, DlmsTimeout),
    (Fault(FaultKind.LATE_ANSWER, delay_s=5), Authentication.NONE, DlmsTimeout),
    (Fault(FaultKind.GARBAGE), Authentication.NONE, FramingError),
    (Fault(FaultKind.TRUNCATED), Authentication.NONE, DlmsTimeout),
    (Fault(FaultKind.DROP_MID_BLOCK), Authentication.NONE, ConnectionLost),
    (Fault(FaultKind.WRONG_SECRET), Authentication.LLS, AssociationRejected),
    (Fault(FaultKind.WRONG_SECRET), Authentication.HLS_GMAC, AssociationRejected),
]


def _intervals(readings: list[tuple[str, datetime, float]]) -> int:
    """How many of the readings are load-profile intervals (whole quarter hours)."""
    return sum(1 for _, moment, _ in readings if moment.minute % 15 == 0 and moment.second == 0)


async def test_each_fault_is_a_communication_event_with_nothing_partial_stored(runtime: Runtime) -> None:
    groups = [MeterGroup(1, "idis", Transport.WRAPPER, auth, (fault,)) for fault, auth, _ in _FAULTS]
    groups.append(MeterGroup(2, "idis", Transport.WRAPPER, Authentication.NONE))
    fleet = build_fleet(groups, seed=11, base_port=0)
    tuned = settings(response_timeout=2.0)  # the healthy meters answer well within it, even on a loaded machine
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = await register(runtime, fleet, endpoints_of(server))
        numbers = [meter.meter_number for meter in fleet.meters]
        async with running(runtime, tuned) as connectivity:
            kinds = [CollectionKind.REGISTERS, CollectionKind.LOAD_PROFILE]
            handles = await connectivity.collect([ids[number] for number in numbers], kinds)
            outcomes = await asyncio.gather(*(handle.result() for handle in handles), return_exceptions=True)
            await settle(connectivity)
            # The process keeps serving: the healthy meters are read again at once.
            (again,) = await connectivity.collect([ids[numbers[-1]]], [CollectionKind.REGISTERS])
            assert (await again.result()).readings + (await again.result()).duplicates > 0
    failed = {
        handle.meter_id
        for handle, outcome in zip(handles, outcomes, strict=True)
        if outcome is None or isinstance(outcome, BaseException)
    }
    assert failed == {ids[number] for number in numbers[:-2]}  # every faulty meter, no healthy one
    for (_, _, error_type), number in zip(_FAULTS, numbers, strict=False):
        meter_id = ids[number]
        (event,) = await events_of(runtime, meter_id, "communication_failed")
        assert event.category is EventCategory.COMMUNICATION and event.details is not None
        assert event.details["error"] == error_type.__name__, (number, event.details)
        stored = await readings_of(runtime, meter_id, ENERGY)
        assert _intervals(stored) == 0, number  # not one row of a profile read that failed
        if error_type is not ConnectionLost:  # the drop comes mid-profile, after the registers were read
            assert await readings_of(runtime, meter_id) == [], number
        assert (await meter_row(runtime, meter_id)).consecutive_failures == 1
    for number in numbers[-2:]:
        assert 95 <= _intervals(await readings_of(runtime, ids[number], ENERGY)) <= 97
        assert not await events_of(runtime, ids[number], "communication_failed")


async def test_gap_detection_recollects_a_deleted_range(runtime: Runtime) -> None:
    fleet = fleet_from_options(2, brand="hexing", base_port=0)
    now = datetime.now(UTC)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = list((await register(runtime, fleet, endpoints_of(server))).values())
        async with running(runtime) as connectivity:
            start = now - timedelta(days=2)
            for handle in await connectivity.collect(ids, [CollectionKind.LOAD_PROFILE], start=start):
                await handle.result()
            full = await readings_of(runtime, ids[0])
            hole_start, hole_end = now - timedelta(hours=30), now - timedelta(hours=20)
            async with runtime.sessions() as session:
                await session.execute(
                    delete(Reading).where(Reading.meter_id == ids[0], Reading.ts > hole_start, Reading.ts < hole_end)
                )
                await session.commit()
            assert len(await readings_of(runtime, ids[0])) < len(full)
            assert await connectivity.recollect_gaps() == 1  # one range, of the one meter with a hole
            await settle(connectivity)
            assert await connectivity.recollect_gaps() == 0
    assert await readings_of(runtime, ids[0]) == full


async def test_a_polling_tick_enqueues_the_due_meters_of_each_group_only(runtime: Runtime) -> None:
    fleet = fleet_from_options(4, brand="idis", base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        addresses = endpoints_of(server)
        ids = await register(runtime, fleet, addresses)
        numbers = list(ids)
        async with runtime.sessions() as session:
            area = Area(code="NORTH", name="North")
            session.add(area)
            await session.flush()
            for number, status in ((numbers[1], MeterStatus.WAREHOUSE), (numbers[2], MeterStatus.INSTALLED)):
                meter = await meter_row(runtime, ids[number])
                meter = await session.merge(meter)
                meter.status = status
                meter.area_id = area.id if number == numbers[2] else None
            await session.commit()
        # North polls registers hourly and nothing else; everyone else takes the default (every 15 minutes).
        groups = parse_polling_groups('[{"name": "north", "area": "NORTH", "registers": 3600, "events": 0}]')
        tuned = settings(polling_groups=groups, poll_tick=900)
        slot = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
        north_due = (spread_offset(ids[numbers[2]], 3600) - int(slot.timestamp()) % 3600) % 3600 < 900
        async with running(runtime, tuned) as connectivity:
            queued = await connectivity.poll(slot)  # a 15-minute tick: every default-group meter is due
            await settle(connectivity)
    # Meter 0 and 3: registers (the default group's load profile, billing and events are daily: maybe due).
    polled = {number for number in numbers if await readings_of(runtime, ids[number])}
    assert numbers[1] not in polled  # in the warehouse: not polled
    assert {numbers[0], numbers[3]} <= polled
    assert (numbers[2] in polled) is north_due
    assert queued >= 2


async def test_a_dial_in_or_http_meter_without_address_is_not_collected(runtime: Runtime) -> None:
    fleet = fleet_from_options(2, brand="idis", base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        http = await register(runtime, fleet, endpoints_of(server), mode=ConnectionMode.HTTP)
        async with running(runtime) as connectivity:
            assert await connectivity.collect(list(http.values()), [CollectionKind.REGISTERS]) == []


async def test_invocation_counters_survive_a_restart_and_a_lost_counter_is_caught_up(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="idis", auth="hls", base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        (meter_id,) = (await register(runtime, fleet, endpoints_of(server))).values()
        for _ in range(2):  # two processes one after the other, each starting from the stored counter
            async with running(runtime) as connectivity:
                (handle,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
                assert (await handle.result()).readings + (await handle.result()).duplicates > 0
                used = connectivity.counters.next_of(meter_id)
            stored = (await meter_row(runtime, meter_id)).dlms_invocation_counter
            assert used is not None and stored > used  # the durable ceiling is above every counter used
        # A HES that lost the counter (restored backup): the meter refuses, its frame counter shows why.
        async with runtime.sessions() as session:
            meter = await session.merge(await meter_row(runtime, meter_id))
            meter.dlms_invocation_counter = 0
            await session.commit()
        async with running(runtime) as connectivity:
            (handle,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
            assert (await handle.result()).readings + (await handle.result()).duplicates > 0
    assert not await events_of(runtime, meter_id, "communication_failed")


async def test_obis_codes_of_collected_values_are_known_to_the_catalogue(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="hexcell", base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        (meter_id,) = (await register(runtime, fleet, endpoints_of(server))).values()
        async with running(runtime) as connectivity:
            kinds = [CollectionKind.REGISTERS, CollectionKind.LOAD_PROFILE]
            results = [await handle.result() for handle in await connectivity.collect([meter_id], kinds)]
    assert all(result.rejected == 0 for result in results)
    async with runtime.sessions() as session:
        codes = set(await session.scalars(select(ObisRow.code)))
    assert "1-0:91.7.0.255" in codes  # Hexcell's neutral current, from its load profile and registers
