"""Rollups from stored batches through the real ingest path: in order, out of order, repeated, wrapped, reset, gaps.

Values are Wh, the unit the brand profiles give 1-0:1.8.0.255 (and obis_codes records).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hes.db.enums import ReadingSource
from hes.db.store import obis_codes
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import ConsumptionDay, ConsumptionHour
from hes.ingest.records import IncomingReading
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from hes.services.consumption_rollup import ConsumptionRollups, RollupSettings, backfill, catch_up, runs_of
from tests.ingest.fleet import add_meters

IMPORT = ObisCode.parse("1-0:1.8.0.255")
EXPORT = ObisCode.parse("1-0:2.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
DAY = datetime(2025, 3, 3, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
Hour = tuple[datetime, float, int, int, int, bool]  # hour, delta, samples, resets, rollovers, complete


@pytest.fixture
async def rollups(runtime: Runtime) -> AsyncIterator[ConsumptionRollups]:
    """The rollup listener subscribed to the runtime's ingestor (no background task: tests flush)."""
    listener = ConsumptionRollups(runtime.sessions, RollupSettings(catch_up=False))
    runtime.ingestor.subscribe(listener)
    yield listener
    runtime.ingestor.unsubscribe(listener)


async def _meter(runtime: Runtime, number: str = "RU-1") -> int:
    return (await add_meters(runtime, [number]))[number]


def _quarters(first: datetime, count: int, start_value: float, per_quarter: float) -> list[tuple[datetime, float]]:
    return [(first + QUARTER * i, start_value + per_quarter * i) for i in range(count)]


async def _submit(
    runtime: Runtime, meter_id: int, points: Sequence[tuple[datetime, float]], obis: ObisCode = IMPORT
) -> None:
    readings = [IncomingReading(meter_id, obis, ts, value, source=ReadingSource.HTTP) for ts, value in points]
    await runtime.ingestor.submit(readings)
    await settled(runtime)


async def settled(runtime: Runtime) -> None:
    """Wait until the ingestor has told its listeners about everything it answered (it answers senders first)."""
    async with asyncio.timeout(10):
        await runtime.ingestor.settled()


async def _hours(runtime: Runtime, meter_id: int) -> list[Hour]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(ConsumptionHour).where(ConsumptionHour.meter_id == meter_id).order_by(ConsumptionHour.hour)
        )
        return [(r.hour, r.delta, r.samples, r.resets, r.rollovers, r.complete) for r in rows]


async def _days(runtime: Runtime, meter_id: int) -> list[tuple[date, float, int, bool]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(ConsumptionDay).where(ConsumptionDay.meter_id == meter_id).order_by(ConsumptionDay.day)
        )
        return [(r.day, r.delta, r.hours, r.complete) for r in rows]


async def test_in_order_quarter_hours_give_exact_hourly_advances(runtime: Runtime, rollups: ConsumptionRollups) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, _quarters(DAY, 13, 10_000.0, 250.0))  # 00:00 .. 03:00
    await rollups.flush()
    assert await _hours(runtime, meter) == [
        (DAY - timedelta(hours=1), 0.0, 1, 0, 0, False),  # 00:00 closes the day before's last hour
        (DAY, 1000.0, 4, 0, 0, True),
        (DAY + timedelta(hours=1), 1000.0, 4, 0, 0, True),
        (DAY + timedelta(hours=2), 1000.0, 4, 0, 0, True),
    ]
    assert await _days(runtime, meter) == [(date(2025, 3, 2), 0.0, 1, False), (date(2025, 3, 3), 3000.0, 3, False)]


async def test_out_of_order_and_repeated_batches_give_the_same_rows(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    in_order, shuffled = await _meter(runtime, "RU-A"), await _meter(runtime, "RU-B")
    points = _quarters(DAY, 25, 10_000.0, 250.0)
    await _submit(runtime, in_order, points)
    await rollups.flush()
    # Newest first, one flush per batch, a middle batch twice: each flush sees only part of the picture.
    for part in (points[16:], points[8:16], points[:8], points[8:16]):
        await _submit(runtime, shuffled, part)
        await rollups.flush()
    assert await _hours(runtime, shuffled) == await _hours(runtime, in_order)
    assert await _days(runtime, shuffled) == await _days(runtime, in_order)
    assert sum(row[1] for row in await _hours(runtime, shuffled)) == 24 * 250.0


async def test_rollover_near_the_register_maximum_is_counted_across_the_wrap(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    meter = await _meter(runtime)
    top = 2**32 - 1_296.0  # a double-long-unsigned register of Wh, 1.3 kWh before it wraps
    await _submit(runtime, meter, [(DAY, top), (DAY + QUARTER, top + 1_000), (DAY + 2 * QUARTER, 704.0)])
    await rollups.flush()
    last = (await _hours(runtime, meter))[-1]
    assert last == (DAY, 2_000.0, 2, 0, 1, True)


async def test_a_drop_to_near_zero_is_a_reset_counted_from_the_new_base_and_flagged(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    meter = await _meter(runtime)
    points = [(DAY, 5_000_000.0), (DAY + QUARTER, 5_000_400.0), (DAY + 2 * QUARTER, 30.0), (DAY + 3 * QUARTER, 530.0)]
    await _submit(runtime, meter, points)
    await _submit(runtime, meter, [(DAY + timedelta(hours=1, minutes=15), 1_530.0)])
    await rollups.flush()
    hours = await _hours(runtime, meter)
    assert hours[1] == (DAY, 900.0, 3, 1, 0, False)  # 400 before the swap, 500 after; the swap itself unknown
    assert hours[2] == (DAY + timedelta(hours=1), 1_000.0, 1, 0, 0, True)


async def test_gaps_stay_gaps_and_the_hour_after_is_incomplete(runtime: Runtime, rollups: ConsumptionRollups) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, [(DAY + QUARTER, 100.0), (DAY + timedelta(hours=3, minutes=30), 700.0)])
    await rollups.flush()
    assert await _hours(runtime, meter) == [
        (DAY, 0.0, 1, 0, 0, False),
        (DAY + timedelta(hours=3), 600.0, 1, 0, 0, False),  # spans the two empty hours; nothing spread into them
    ]


async def test_a_late_reading_in_a_gap_splits_the_advance_and_refreshes_the_next_hour(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, [(DAY + QUARTER, 100.0), (DAY + timedelta(hours=2, minutes=15), 700.0)])
    await rollups.flush()
    await _submit(runtime, meter, [(DAY + timedelta(hours=1, minutes=15), 400.0)])
    await rollups.flush()
    assert [(row[0], row[1], row[5]) for row in await _hours(runtime, meter)] == [
        (DAY, 0.0, False),
        (DAY + timedelta(hours=1), 300.0, True),
        (DAY + timedelta(hours=2), 300.0, True),
    ]


async def test_only_energy_registers_are_rolled_up_each_on_its_own(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, _quarters(DAY, 5, 100.0, 10.0), IMPORT)
    await _submit(runtime, meter, _quarters(DAY, 5, 50.0, 1.0), EXPORT)
    await _submit(runtime, meter, _quarters(DAY, 5, 230.0, 0.1), VOLTAGE)
    await rollups.flush()
    async with runtime.sessions() as session:
        ids = await obis_codes.ids_of(session, [IMPORT, EXPORT])
        rows = await session.execute(
            select(ConsumptionHour.obis_id, ConsumptionHour.delta).where(ConsumptionHour.hour == DAY)
        )
    assert sorted(rows.tuples()) == sorted([(ids[IMPORT], 40.0), (ids[EXPORT], 4.0)])


async def test_too_much_pending_makes_ingest_wait_for_a_flush(runtime: Runtime) -> None:
    listener = ConsumptionRollups(runtime.sessions, RollupSettings(catch_up=False, max_pending=3))
    runtime.ingestor.subscribe(listener)
    try:
        meter = await _meter(runtime)
        await _submit(runtime, meter, _quarters(DAY, 20, 0.0, 10.0))  # 6 hours touched, past the bound of 3
        assert len(await _hours(runtime, meter)) == 6
    finally:
        runtime.ingestor.unsubscribe(listener)


async def _store_directly(runtime: Runtime, meter_id: int, points: Sequence[tuple[datetime, float]]) -> None:
    async with runtime.sessions() as session:
        ids = await obis_codes.get_or_create_ids(session, [IMPORT])
        await write_readings(session, [ReadingRow(meter_id, ids[IMPORT], ts, value) for ts, value in points])
        await session.commit()


async def test_backfill_builds_rollups_for_existing_readings_and_is_idempotent(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    built_live, backfilled = await _meter(runtime, "RU-L"), await _meter(runtime, "RU-F")
    points = _quarters(DAY, 9 * 96, 1_000.0, 25.0)  # nine days, rebuilt a week at a time
    await _submit(runtime, built_live, points)
    await rollups.flush()
    await _store_directly(runtime, backfilled, points)
    settings = RollupSettings(window_hours=168, series_per_transaction=1)
    for _ in range(2):
        await backfill(runtime.sessions, DAY - timedelta(days=1), DAY + timedelta(days=10), [backfilled], settings)
    assert await _hours(runtime, backfilled) == await _hours(runtime, built_live)
    assert await _days(runtime, backfilled) == await _days(runtime, built_live)
    assert len(await _days(runtime, backfilled)) == 10


async def test_backfill_over_a_range_without_readings_keeps_the_rollups(
    runtime: Runtime, rollups: ConsumptionRollups
) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, _quarters(DAY, 9, 1_000.0, 25.0))
    await rollups.flush()
    before = await _hours(runtime, meter)
    written = await backfill(runtime.sessions, DAY + timedelta(days=20), DAY + timedelta(days=21), [meter])
    assert written == 0
    assert await _hours(runtime, meter) == before


async def test_catch_up_rolls_up_what_was_stored_while_no_listener_ran(runtime: Runtime) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, _quarters(DAY, 9, 1_000.0, 25.0))  # nobody listening: a crash before the flush
    assert await catch_up(runtime.sessions) == 3
    await _submit(runtime, meter, _quarters(DAY + timedelta(hours=2, minutes=15), 4, 1_225.0, 25.0))
    assert await catch_up(runtime.sessions) == 2  # the newest hour again, and the new one
    assert [row[1] for row in await _hours(runtime, meter)] == [0.0, 100.0, 100.0, 100.0]
    assert await catch_up(runtime.sessions) == 1  # the newest hour may have gained readings: always rebuilt


def test_touched_hours_group_into_runs() -> None:
    assert runs_of([5, 1, 2, 40, 3, 30], gap=24) == [(1, 5), (30, 40)]
    assert runs_of([1, 30], gap=24) == [(1, 1), (30, 30)]


async def _eventually_hours(runtime: Runtime, meter_id: int, count: int) -> None:
    async with asyncio.timeout(10):
        while len(await _hours(runtime, meter_id)) < count:
            await asyncio.sleep(0.01)


async def test_on_start_the_task_catches_up_and_on_close_it_flushes(runtime: Runtime) -> None:
    meter = await _meter(runtime)
    await _submit(runtime, meter, _quarters(DAY, 5, 1_000.0, 25.0))  # stored while no listener ran
    listener = ConsumptionRollups(runtime.sessions, RollupSettings(flush_seconds=3600))
    runtime.ingestor.subscribe(listener)
    listener.start()
    try:
        await _eventually_hours(runtime, meter, 2)  # caught up: the hour 00:00 closes, and 00:00-01:00
        # Not written concurrently with a flush: on SQLite a batch that meets another writer's commit is refused.
        await _submit(runtime, meter, _quarters(DAY + timedelta(hours=1, minutes=15), 8, 1_125.0, 25.0))
    finally:
        await listener.close()
        runtime.ingestor.unsubscribe(listener)
    assert [(row[0], row[1], row[5]) for row in await _hours(runtime, meter)] == [
        (DAY - timedelta(hours=1), 0.0, False),
        (DAY, 100.0, True),
        (DAY + timedelta(hours=1), 100.0, True),
        (DAY + timedelta(hours=2), 100.0, True),
    ]


async def test_the_task_rolls_up_on_its_own_every_tick(runtime: Runtime) -> None:
    meter = await _meter(runtime)
    listener = ConsumptionRollups(runtime.sessions, RollupSettings(flush_seconds=0.01, catch_up=False))
    runtime.ingestor.subscribe(listener)
    try:
        await _submit(runtime, meter, _quarters(DAY, 9, 1_000.0, 25.0))
        listener.start()
        await _eventually_hours(runtime, meter, 3)
    finally:
        await listener.close()
        runtime.ingestor.unsubscribe(listener)
