"""One ingest batch through staging: new readings stored, repeats (stored before or twice in the batch) named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hes.db.enums import EventCategory
from hes.db.store import ingest_batches
from hes.db.store.events import insert_events
from hes.db.store.ingest_batches import EventKey, StagedReadings
from hes.db.tables import Reading
from hes.ingest.records import IncomingEvent
from hes.runtime import Runtime
from tests.ingest.fleet import add_meters

START = datetime(2025, 3, 1, tzinfo=UTC)


def _staged(keys: list[tuple[int, int]]) -> StagedReadings:
    """(meter, quarter-hour) readings of OBIS id 1."""
    return StagedReadings(
        meter_ids=[meter for meter, _ in keys],
        obis_ids=[1] * len(keys),
        timestamps=[START + timedelta(minutes=15 * step) for _, step in keys],
        values=[float(step) for _, step in keys],
        qualities=[0] * len(keys),
        sources=[2] * len(keys),
    )


async def _store(runtime: Runtime, keys: list[tuple[int, int]]) -> list[int]:
    async with runtime.sessions() as session:
        await ingest_batches.stage(session, _staged(keys))
        repeats = await ingest_batches.store_staged(session, len(keys))
        await ingest_batches.clear_staged(session)
        await session.commit()
    return repeats


async def test_all_new_readings_are_stored_with_no_repeats(runtime: Runtime) -> None:
    assert await _store(runtime, [(1, step) for step in range(50)]) == []
    async with runtime.sessions() as session:
        stored = await session.execute(select(Reading.ts, Reading.value).order_by(Reading.ts))
        rows = list(stored.tuples())
    assert len(rows) == 50
    # Times survive staging exactly (PostgreSQL stages them as microseconds).
    assert rows[7] == (START + timedelta(minutes=105), 7.0)


async def test_repeats_of_stored_readings_and_inside_the_batch_are_named_by_position(runtime: Runtime) -> None:
    await _store(runtime, [(1, 0), (1, 1)])
    repeats = await _store(runtime, [(1, 5), (1, 1), (2, 0), (1, 5), (1, 0), (1, 6)])
    assert repeats == [1, 3, 4]
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reading)) == 5


async def test_microseconds_are_kept(runtime: Runtime) -> None:
    moment = datetime(2025, 3, 1, 0, 0, 1, 123_457, tzinfo=UTC)
    staged = StagedReadings([3], [1], [moment], [1.0], [0], [2])
    async with runtime.sessions() as session:
        await ingest_batches.stage(session, staged)
        await ingest_batches.store_staged(session, 1)
        await ingest_batches.clear_staged(session)
        await session.commit()
        assert await session.scalar(select(Reading.ts).where(Reading.meter_id == 3)) == moment


async def test_stored_events_are_recognised(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["EV-1"]))["EV-1"]
    cover = IncomingEvent(meter, "terminal_cover_opened", START, EventCategory.TAMPER, code=40)
    async with runtime.sessions() as session:
        await insert_events(session, [cover])
        await session.commit()
    keys = [
        EventKey(meter, "terminal_cover_opened", 40, START),
        EventKey(meter, "terminal_cover_opened", 40, START + timedelta(seconds=1)),
        EventKey(meter, "power_down", 1, START),
    ]
    async with runtime.sessions() as session:
        assert await ingest_batches.stored_events(session, keys) == {keys[0]}
