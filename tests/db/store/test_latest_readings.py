"""Latest values: the newest staged value per meter and code replaces the stored one only when it is newer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.db.store import ingest_batches, latest_readings
from hes.db.store.ingest_batches import StagedReadings
from hes.runtime import Runtime
from tests.ingest.fleet import add_meters

START = datetime(2025, 3, 1, tzinfo=UTC)


async def _write(runtime: Runtime, rows: list[tuple[int, int, int, float]]) -> None:
    """(meter, obis id, quarter-hour, value) rows through staging, latest upsert, readings."""
    staged = StagedReadings(
        meter_ids=[row[0] for row in rows],
        obis_ids=[row[1] for row in rows],
        timestamps=[START + timedelta(minutes=15 * row[2]) for row in rows],
        values=[row[3] for row in rows],
        qualities=[0] * len(rows),
        sources=[2] * len(rows),
    )
    async with runtime.sessions() as session:
        await ingest_batches.stage(session, staged)
        await ingest_batches.store_staged(session, len(staged))
        await latest_readings.upsert_from_staging(session)
        await ingest_batches.clear_staged(session)
        await session.commit()


async def _latest(runtime: Runtime, meter_id: int) -> list[tuple[int, datetime, float]]:
    async with runtime.sessions() as session:
        return [(v.obis_id, v.ts, v.value) for v in await latest_readings.for_meter(session, meter_id)]


async def test_the_newest_value_of_each_code_is_kept(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["LR-1"]))["LR-1"]
    await _write(runtime, [(meter, 1, 0, 10.0), (meter, 1, 2, 12.0), (meter, 1, 1, 11.0), (meter, 2, 0, 230.0)])
    assert await _latest(runtime, meter) == [
        (1, START + timedelta(minutes=30), 12.0),
        (2, START, 230.0),
    ]


async def test_an_older_batch_never_moves_the_latest_value_back(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["LR-2"]))["LR-2"]
    await _write(runtime, [(meter, 1, 10, 20.0)])
    await _write(runtime, [(meter, 1, 3, 13.0)])  # a late upload of older readings
    assert await _latest(runtime, meter) == [(1, START + timedelta(minutes=150), 20.0)]
    await _write(runtime, [(meter, 1, 11, 21.0)])
    assert await _latest(runtime, meter) == [(1, START + timedelta(minutes=165), 21.0)]
