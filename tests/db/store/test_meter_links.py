"""SQL for talking to meters: link rows with the SIM's address, polling due times by hash, counters only rising,
profile intervals told apart from register reads, the newest logged event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.db.enums import ConnectionMode, EventCategory, MeterStatus
from hes.db.store import meter_links, obis_codes
from hes.db.store.meter_links import GroupFilter, spread_offset
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import Area, Event, Meter, SimCard
from hes.obis.codes import ObisCode
from hes.runtime import Runtime

ENERGY = ObisCode.parse("1-0:1.8.0.255")
T0 = datetime(2026, 3, 2, tzinfo=UTC)
_MODES = [ConnectionMode.OUTBOUND]
_STATUSES = [MeterStatus.INSTALLED]


async def _meters(runtime: Runtime, count: int, **fields: object) -> list[int]:
    async with runtime.sessions() as session:
        meters = [
            Meter(meter_number=f"M-{index}-{fields.get('brand')}", status=MeterStatus.INSTALLED, **fields)
            for index in range(count)
        ]
        session.add_all(meters)
        await session.commit()
        return [meter.id for meter in meters]


async def test_link_rows_carry_the_sims_address(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        sim = SimCard(sim_number="SIM-1", iccid="8923400000000000001", ip_address="10.20.30.40")
        session.add(sim)
        await session.flush()
        meter = Meter(meter_number="M-1", sim_card_id=sim.id, brand="Hexing", dlms_invocation_counter=7)
        session.add(meter)
        await session.commit()
        (row,) = await meter_links.link_rows(session, [meter.id, 999])
    assert (row.meter_number, row.sim_ip_address, row.ip_address, row.invocation_counter) == (
        "M-1",
        "10.20.30.40",
        None,
        7,
    )


async def test_every_meter_is_due_once_per_interval_at_its_hashed_offset(runtime: Runtime) -> None:
    ids = await _meters(runtime, 60)
    start, interval, tick = 1_800_000_000, 900, 60
    seen: dict[int, int] = {}
    async with runtime.sessions() as session:
        for tick_start in range(start, start + interval, tick):
            due = await meter_links.due_meters(
                session, modes=_MODES, statuses=_STATUSES, group=GroupFilter(), earlier=[],
                interval=interval, window_start=tick_start, window=tick,
            )  # fmt: skip
            for meter_id in due:
                assert meter_id not in seen
                seen[meter_id] = tick_start
    assert set(seen) == set(ids)
    for meter_id, tick_start in seen.items():
        assert (spread_offset(meter_id, interval) - tick_start) % interval < tick  # the same hash as in Python
    busiest = max(list(seen.values()).count(tick_start) for tick_start in set(seen.values()))
    assert busiest <= 3 * 60 / (interval / tick)  # spread, not bunched


async def test_a_meter_belongs_to_the_first_group_it_matches(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        area = Area(code="NORTH", name="North")
        session.add(area)
        await session.commit()
    hexcell_north = await _meters(runtime, 2, brand="Hexcell", area_id=area.id)
    hexcell = await _meters(runtime, 2, brand="HEXCELL")
    others = await _meters(runtime, 2, brand=None)
    groups = [GroupFilter("hexcell", frozenset({area.id})), GroupFilter("hexcell"), GroupFilter()]

    async def members(index: int) -> set[int]:
        async with runtime.sessions() as session:
            return set(
                await meter_links.due_meters(
                    session,
                    modes=_MODES,
                    statuses=_STATUSES,
                    group=groups[index],
                    earlier=groups[:index],
                    interval=900,
                    window_start=0,
                    window=900,
                )
            )

    assert [await members(index) for index in range(3)] == [set(hexcell_north), set(hexcell), set(others)]


async def test_stored_invocation_counters_only_rise(runtime: Runtime) -> None:
    first, second = await _meters(runtime, 2)
    async with runtime.sessions() as session:
        await meter_links.raise_invocation_counters(session, {first: 500, second: 100})
        await meter_links.raise_invocation_counters(session, {first: 200})
        await session.commit()
        (one,) = await meter_links.link_rows(session, [first])
        (two,) = await meter_links.link_rows(session, [second])
    assert (one.invocation_counter, two.invocation_counter) == (500, 100)


async def test_profile_intervals_are_told_apart_from_register_reads(runtime: Runtime) -> None:
    first, second, _ = await _meters(runtime, 3)
    async with runtime.sessions() as session:
        obis_id = (await obis_codes.get_or_create_ids(session, [ENERGY]))[ENERGY]
        stamps = [T0 + timedelta(minutes=15 * step) for step in (0, 1, 3)]
        rows = [ReadingRow(first, obis_id, moment, 1.0) for moment in stamps]
        rows.append(ReadingRow(first, obis_id, T0 + timedelta(minutes=52, seconds=7), 2.0))  # a register read
        rows.append(ReadingRow(second, obis_id, T0 - timedelta(days=9), 1.0))  # older than the window
        await write_readings(session, rows)
        await session.commit()
        since = T0 - timedelta(days=7)
        newest = await meter_links.last_profile_intervals(session, [first, second], obis_id, since, 900)
        times = await meter_links.profile_times(session, [first, second], obis_id, since, T0 + timedelta(days=1), 900)
    assert newest == {first: stamps[-1]}
    assert times == {first: stamps}


async def test_the_newest_event_from_a_meters_logs(runtime: Runtime) -> None:
    (meter_id,) = await _meters(runtime, 1)
    async with runtime.sessions() as session:
        session.add_all(
            [
                Event(meter_id=meter_id, event_type="power_down", code=1, category=EventCategory.POWER, occurred_at=T0),
                Event(
                    meter_id=meter_id,
                    event_type="communication_failed",
                    category=EventCategory.COMMUNICATION,
                    occurred_at=T0 + timedelta(hours=2),
                ),
                Event(
                    meter_id=meter_id,
                    event_type="meter_connected",
                    category=EventCategory.TECHNICAL,
                    occurred_at=T0 + timedelta(hours=1),
                ),
            ]
        )
        await session.commit()
        newest = await meter_links.last_meter_events(session, [meter_id], T0 - timedelta(days=1))
        assert await meter_links.meter_ids(session, modes=_MODES, statuses=_STATUSES) == [meter_id]
    assert newest == {meter_id: T0}  # HES-side events (no code) and communication ones do not count
