"""Monthly partitions of readings on PostgreSQL: created ahead, stray rows moved out of DEFAULT, old months dropped.

The test database lives for the whole run, so each test works in months no other test touches.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from hes.db.store import obis_codes, partitions
from hes.db.store.readings import ReadingRow, write_readings
from hes.obis import ObisCode
from hes.runtime import Runtime

ENERGY = ObisCode.parse("1-0:1.8.0.255")


def _utc(year: int, month: int, day: int = 1, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def _postgresql_only(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("partitions exist only on PostgreSQL")


async def _write(runtime: Runtime, times: list[datetime]) -> None:
    async with runtime.sessions() as session:
        obis_id = (await obis_codes.get_or_create_ids(session, [ENERGY]))[ENERGY]
        rows = [ReadingRow(meter_id, obis_id, ts, 1.5) for ts in times for meter_id in (1, 2)]
        assert await write_readings(session, rows) == len(rows)
        await session.commit()


async def _homes(runtime: Runtime) -> dict[str, int]:
    """How many readings each partition holds."""
    async with runtime.sessions() as session:
        rows = await session.execute(text("SELECT tableoid::regclass::text, count(*) FROM readings GROUP BY 1"))
        return {name: count for name, count in rows.tuples()}


async def _ensure(runtime: Runtime, around: datetime, back: int = 1, ahead: int = 3) -> list[str]:
    async with runtime.sessions() as session:
        created = await partitions.ensure_monthly_partitions(session, around, back, ahead)
        await session.commit()
    return created


async def _existing(runtime: Runtime) -> set[str]:
    async with runtime.sessions() as session:
        return set(await partitions.monthly_partitions(session))


def test_month_arithmetic_is_in_utc() -> None:
    assert partitions.month_start(datetime(2031, 3, 1, 0, 30, tzinfo=UTC)) == _utc(2031, 3)
    cairo_morning = datetime(2031, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # 28 Feb, 23:30 UTC
    assert partitions.month_start(cairo_morning) == _utc(2031, 2)
    assert partitions.add_months(_utc(2031, 11), 3) == _utc(2032, 2)
    assert partitions.add_months(_utc(2031, 1), -1) == _utc(2030, 12)
    assert partitions.partition_name(_utc(2031, 2)) == "readings_2031_02"
    with pytest.raises(ValueError, match="naive"):
        partitions.month_start(datetime(2031, 1, 1))


async def test_sqlite_has_no_partitions(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("the no-op path is SQLite's")
    async with runtime.sessions() as session:
        assert await partitions.ensure_monthly_partitions(session, _utc(2031, 1)) == []
        assert await partitions.drop_partitions_before(session, _utc(2031, 1)) == []
        assert await partitions.monthly_partitions(session) == {}


async def test_partitions_are_created_once_around_a_month(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    created = await _ensure(runtime, _utc(2040, 1, 15))
    assert created == [f"readings_{month}" for month in ("2039_12", "2040_01", "2040_02", "2040_03", "2040_04")]
    assert await _ensure(runtime, _utc(2040, 1, 20)) == []
    assert await _ensure(runtime, _utc(2040, 2, 1), back=0, ahead=3) == ["readings_2040_05"]
    assert set(created) < await _existing(runtime)


async def test_rows_land_in_their_month_and_stray_rows_move_out_of_default(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    await _ensure(runtime, _utc(2041, 2), back=0, ahead=0)
    # February has its partition; the last instant of January, and March, do not yet.
    january_end = _utc(2041, 2) - timedelta(microseconds=1)
    await _write(runtime, [_utc(2041, 2), _utc(2041, 2, 28, 23), january_end, _utc(2041, 3, 10), _utc(2041, 4)])
    assert await _homes(runtime) == {"readings_2041_02": 4, "readings_default": 6}

    assert await _ensure(runtime, _utc(2041, 2), back=1, ahead=1) == ["readings_2041_01", "readings_2041_03"]
    assert await _homes(runtime) == {
        "readings_2041_01": 2,
        "readings_2041_02": 4,
        "readings_2041_03": 2,
        "readings_default": 2,  # April still has no partition
    }
    async with runtime.sessions() as session:
        january = await session.scalar(text("SELECT max(ts) FROM readings_2041_01"))
    assert january == january_end


async def test_two_processes_ensuring_at_once_both_succeed(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    await _write(runtime, [_utc(2042, 6, 3)])  # in DEFAULT: both would try to move it

    results = await asyncio.gather(*(_ensure(runtime, _utc(2042, 6)) for _ in range(2)))
    assert sorted(results, key=len) == [[], [f"readings_2042_{month:02d}" for month in range(5, 10)]]
    assert (await _homes(runtime)).get("readings_2042_06") == 2


async def test_drop_partitions_before_removes_whole_old_months_only(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    await _ensure(runtime, _utc(2001, 2), back=1, ahead=2)  # 2001-01 .. 2001-04
    await _write(runtime, [_utc(2001, month, 10) for month in (1, 2, 3, 4)] + [_utc(2000, 12, 31)])

    async with runtime.sessions() as session:
        dropped = await partitions.drop_partitions_before(session, _utc(2001, 3, 15))
        await session.commit()
    assert dropped == ["readings_2001_01", "readings_2001_02"]  # March is not over at the cut-off
    homes = await _homes(runtime)
    assert {name: homes.get(name) for name in ("readings_2001_03", "readings_2001_04", "readings_default")} == {
        "readings_2001_03": 2,
        "readings_2001_04": 2,
        "readings_default": 2,  # December 2000 never had a partition; DEFAULT is not touched
    }
    assert "readings_2001_01" not in homes and "readings_2001_01" not in await _existing(runtime)

    async with runtime.sessions() as session:
        assert await partitions.drop_partitions_before(session, _utc(2001, 3, 15)) == []
        with pytest.raises(ValueError, match="naive"):
            await partitions.drop_partitions_before(session, datetime(2001, 3, 1))


async def test_rolled_back_maintenance_leaves_nothing_behind(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    await _write(runtime, [_utc(2043, 7, 4)])
    async with runtime.sessions() as session:
        assert await partitions.ensure_monthly_partitions(session, _utc(2043, 7), 0, 0) == ["readings_2043_07"]
        await session.rollback()
    assert "readings_2043_07" not in await _existing(runtime)
    assert await _homes(runtime) == {"readings_default": 2}
