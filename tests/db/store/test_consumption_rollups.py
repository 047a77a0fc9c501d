"""SQL of the rollup rebuild: neighbouring hour rows, readings per range, day sums, deletes, the rebuild lock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hes.db.store import consumption_rollups as store
from hes.db.store.consumption_rollups import DayKey, HourRecord, SeriesRange
from hes.db.store.readings import ReadingRow, write_readings
from hes.runtime import Runtime

HOUR = timedelta(hours=1)
DAY = datetime(2025, 3, 3, tzinfo=UTC)


def _hour(meter_id: int, offset: int, last_value: float, *, complete: bool = True) -> HourRecord:
    return HourRecord(meter_id, 1, DAY + offset * HOUR, last_value - 10, last_value, 10.0, 4, 0, 0, complete)


async def test_neighbouring_rows_and_readings_of_many_ranges_in_one_go(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await store.upsert_hours(session, [_hour(7, 0, 100.0), _hour(7, 5, 150.0), _hour(8, 2, 20.0)])
        await write_readings(
            session, [ReadingRow(7, 1, DAY + 3 * HOUR + m * timedelta(minutes=15), 110.0 + m) for m in range(1, 5)]
        )
        ranges = [
            SeriesRange(7, 1, DAY + 3 * HOUR, DAY + 4 * HOUR),
            SeriesRange(8, 1, DAY, DAY + HOUR),
            SeriesRange(9, 1, DAY, DAY + HOUR),
        ]
        assert await store.anchors(session, ranges) == {0: (DAY, 100.0)}
        assert await store.next_hours(session, ranges) == {0: DAY + 5 * HOUR, 1: DAY + 2 * HOUR}
        readings = await store.register_readings(session, ranges)
        assert list(readings) == [0]
        assert [value for _, value in readings[0]] == [111.0, 112.0, 113.0, 114.0]
        assert await store.first_reading_times(session, [(7, 1), (9, 1)]) == {(7, 1): DAY + 3 * HOUR + HOUR / 4}


async def test_rows_are_replaced_and_days_summed_from_their_hours(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await store.upsert_hours(session, [_hour(7, h, 100.0 + h) for h in range(24)])
        await store.upsert_hours(session, [_hour(7, 3, 103.0, complete=False)])
        await store.upsert_hours(session, [_hour(7, 24, 124.0)])
        sums = await store.day_sums(
            session, [DayKey(7, 1, date(2025, 3, 3)), DayKey(7, 1, date(2025, 3, 4)), DayKey(7, 1, date(2025, 3, 5))]
        )
        assert [(s.day, s.delta, s.hours, s.complete) for s in sums] == [
            (date(2025, 3, 3), 240.0, 24, False),
            (date(2025, 3, 4), 10.0, 1, False),
        ]
        await store.upsert_days(session, sums)
        await store.delete_hours(session, [(7, 1, DAY + 24 * HOUR)])
        await store.delete_days(session, [DayKey(7, 1, date(2025, 3, 4))])
        assert [s.day for s in await store.day_sums(session, [DayKey(7, 1, date(2025, 3, 4))])] == []


async def test_series_ends_and_locks(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await store.upsert_hours(session, [_hour(7, 0, 100.0)])
        await store.lock_rollups(session)
        assert await store.series_ends(session, [1]) == []  # no latest_readings rows: nothing to compare
