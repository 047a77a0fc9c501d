"""The readings write: idempotent, batched, in the caller's transaction; timestamps come back as aware UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from itertools import cycle, product

import pytest
from sqlalchemy import func, select, update

from hes.db.enums import ReadingQuality, ReadingSource
from hes.db.store import obis_codes, readings
from hes.db.store.reading_flags import pack
from hes.db.store.readings import SMALL_BATCH, ReadingRow, write_readings
from hes.db.tables import Reading
from hes.obis import ObisCode
from hes.runtime import Runtime

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
START = datetime(2024, 5, 1, tzinfo=UTC)
# A small batch takes the unnest path on PostgreSQL, a large one COPY through the staging table.
BATCH_SIZES = [3, SMALL_BATCH + 100]


async def _ids(runtime: Runtime) -> dict[ObisCode, int]:
    async with runtime.sessions() as session:
        ids = await obis_codes.get_or_create_ids(session, [ENERGY, VOLTAGE])
        await session.commit()
    return ids


def _rows(obis_id: int, count: int, *, meter_id: int = 1, first: int = 0) -> list[ReadingRow]:
    return [
        ReadingRow(meter_id, obis_id, START + timedelta(minutes=15 * step), 1000.0 + step * 0.25)
        for step in range(first, first + count)
    ]


async def _write(runtime: Runtime, rows: list[ReadingRow]) -> int:
    async with runtime.sessions() as session:
        stored = await write_readings(session, rows)
        await session.commit()
    return stored


async def _count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Reading)) or 0)


@pytest.mark.parametrize("size", BATCH_SIZES)
async def test_writing_the_same_readings_twice_stores_them_once(runtime: Runtime, size: int) -> None:
    ids = await _ids(runtime)
    batch = _rows(ids[ENERGY], size)
    assert await _write(runtime, batch) == size
    assert await _write(runtime, batch) == 0
    assert await _count(runtime) == size


@pytest.mark.parametrize("size", BATCH_SIZES)
async def test_a_mixed_batch_stores_only_what_is_new(runtime: Runtime, size: int) -> None:
    ids = await _ids(runtime)
    old = _rows(ids[ENERGY], size)
    await _write(runtime, old)
    new = _rows(ids[ENERGY], size, first=size) + _rows(ids[VOLTAGE], 2)
    # Old readings again, plus repeats inside the batch itself, and a changed value for a stored key.
    mixed = [*old[::2], *new, *new[:3], ReadingRow(1, ids[ENERGY], old[0].ts, -1.0)]
    assert await _write(runtime, mixed) == len(new)
    assert await _count(runtime) == size + len(new)
    async with runtime.sessions() as session:
        first = await session.get(Reading, (1, ids[ENERGY], old[0].ts))
    assert first is not None and first.value == old[0].value  # the first value written stays


async def test_timestamps_and_flags_round_trip_as_aware_utc(runtime: Runtime) -> None:
    ids = await _ids(runtime)
    lagos, kolkata = timezone(timedelta(hours=1)), timezone(timedelta(hours=5, minutes=30))
    sent = [
        ReadingRow(7, ids[VOLTAGE], datetime(2024, 5, 1, 0, 15, tzinfo=lagos), 229.5, ReadingQuality.ESTIMATED),
        ReadingRow(7, ids[VOLTAGE], datetime(2024, 5, 1, 5, 30, 0, 123456, tzinfo=kolkata), 231.0, 2, 3),  # type: ignore[arg-type]
    ]
    assert await _write(runtime, sent) == 2
    async with runtime.sessions() as session:
        back, total = await readings.page(session, 7, obis_id=None, start=None, end=None, offset=0, limit=10)
    assert total == 2
    assert [row.ts for row in back] == [sent[1].ts, sent[0].ts]  # newest first: 00:00 UTC, then 23:15 UTC
    assert all(row.ts.utcoffset() == timedelta(0) and row.ts.tzinfo == UTC for row in back)
    assert back[1].ts == datetime(2024, 4, 30, 23, 15, tzinfo=UTC)
    assert back[0].ts.microsecond == 123456
    assert (back[0].quality, back[0].source, back[0].value) == (ReadingQuality.SUSPECT, ReadingSource.MQTT, 231.0)
    assert (back[1].quality, back[1].source) == (ReadingQuality.ESTIMATED, ReadingSource.DLMS_POLL)


@pytest.mark.parametrize("size", BATCH_SIZES)
async def test_quality_and_source_are_stored_packed_by_every_write_path(runtime: Runtime, size: int) -> None:
    ids = await _ids(runtime)
    pairs = cycle(product(ReadingQuality, ReadingSource))
    sent = [ReadingRow(row.meter_id, row.obis_id, row.ts, row.value, *next(pairs)) for row in _rows(ids[ENERGY], size)]
    assert await _write(runtime, sent) == size
    async with runtime.sessions() as session:
        stored = dict((await session.execute(select(Reading.ts, Reading.flags))).tuples().all())
        back, _total = await readings.page(session, 1, obis_id=None, start=None, end=None, offset=0, limit=size)
    assert stored == {row.ts: pack(row.quality, row.source) for row in sent}
    assert {(row.ts, row.quality, row.source) for row in back} == {(row.ts, row.quality, row.source) for row in sent}


async def test_a_stored_reading_with_unknown_flags_is_refused_when_read(runtime: Runtime) -> None:
    ids = await _ids(runtime)
    await _write(runtime, _rows(ids[ENERGY], 1))
    async with runtime.sessions() as session:
        await session.execute(update(Reading).values(flags=0x0907))  # as a newer version might write
        await session.commit()
        with pytest.raises(ValueError, match="stored reading flags 0x0907 hold quality 7 and source 9"):
            await readings.page(session, 1, obis_id=None, start=None, end=None, offset=0, limit=10)


@pytest.mark.parametrize("size", BATCH_SIZES)
async def test_nothing_is_committed_by_the_write_itself(runtime: Runtime, size: int) -> None:
    ids = await _ids(runtime)
    async with runtime.sessions() as session:
        assert await write_readings(session, _rows(ids[ENERGY], size)) == size
        await session.rollback()
    assert await _count(runtime) == 0


@pytest.mark.parametrize("size", BATCH_SIZES)
async def test_several_writes_in_one_transaction(runtime: Runtime, size: int) -> None:
    ids = await _ids(runtime)
    async with runtime.sessions() as session:
        assert await write_readings(session, _rows(ids[ENERGY], size)) == size
        assert await write_readings(session, _rows(ids[ENERGY], size, first=size // 2)) == size // 2
        assert await write_readings(session, _rows(ids[VOLTAGE], size, meter_id=2)) == size
        assert await write_readings(session, []) == 0
        await session.commit()
    assert await _count(runtime) == size + size // 2 + size


async def test_page_filters_by_code_and_inclusive_time_range(runtime: Runtime) -> None:
    ids = await _ids(runtime)
    await _write(runtime, _rows(ids[ENERGY], 10) + _rows(ids[VOLTAGE], 10) + _rows(ids[ENERGY], 5, meter_id=2))
    async with runtime.sessions() as session:
        found, total = await readings.page(
            session,
            1,
            obis_id=ids[ENERGY],
            start=START + timedelta(minutes=30),
            end=START + timedelta(minutes=90),
            offset=1,
            limit=2,
        )
    assert total == 5  # 00:30, 00:45, 01:00, 01:15, 01:30
    assert [row.ts for row in found] == [START + timedelta(minutes=75), START + timedelta(minutes=60)]


async def test_latest_gives_the_newest_reading_of_each_code(runtime: Runtime) -> None:
    ids = await _ids(runtime)
    await _write(runtime, _rows(ids[ENERGY], 10) + _rows(ids[VOLTAGE], 3) + _rows(ids[ENERGY], 20, meter_id=2))
    async with runtime.sessions() as session:
        newest = await readings.latest(session, 1)
        nothing = await readings.latest(session, 99)
    assert {row.obis_id: row.ts for row in newest} == {
        ids[ENERGY]: START + timedelta(minutes=15 * 9),
        ids[VOLTAGE]: START + timedelta(minutes=30),
    }
    assert nothing == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"ts": datetime(2024, 5, 1)}, "has no offset"),
        ({"value": math.nan}, "not a finite number"),
        ({"value": math.inf}, "not a finite number"),
        ({"quality": 9}, "9 is not a valid ReadingQuality"),
        ({"source": 42}, "42 is not a valid ReadingSource"),
    ],
)
def test_a_reading_row_refuses_what_cannot_be_stored(fields: dict[str, object], says: str) -> None:
    values: dict[str, object] = {"meter_id": 1, "obis_id": 1, "ts": START, "value": 1.0, **fields}
    with pytest.raises(ValueError) as refused:
        ReadingRow(**values)  # type: ignore[arg-type]
    assert says in str(refused.value)
