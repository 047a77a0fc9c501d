"""Read-attempt counters: added up per meter and day, summed per day, area or brand, deleted by age."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hes.db.store import read_attempts
from hes.db.store.read_attempts import AttemptCount, StatsGrouping
from hes.db.tables import Area, Meter, ReadAttempts
from hes.runtime import Runtime

DAY = date(2026, 2, 1)
NEXT_DAY = date(2026, 2, 2)


async def _meters(runtime: Runtime) -> list[int]:
    """Meters of brands "Hexing", "hexing", none, and one in area EAST."""
    async with runtime.sessions() as session:
        east = Area(code="EAST", name="East")
        session.add(east)
        await session.flush()
        meters = [
            Meter(meter_number="RA-1", brand="Hexing"),
            Meter(meter_number="RA-2", brand="hexing"),
            Meter(meter_number="RA-3"),
            Meter(meter_number="RA-4", brand="Hexcell", area_id=east.id),
        ]
        session.add_all(meters)
        await session.commit()
        return [meter.id for meter in meters]


async def test_counts_add_up_per_meter_and_day(runtime: Runtime) -> None:
    first, second, *_ = await _meters(runtime)
    async with runtime.sessions() as session:
        await read_attempts.add_counts(session, [AttemptCount(DAY, first, 2, 1), AttemptCount(DAY, second, 1, 1)])
        await read_attempts.add_counts(session, [AttemptCount(DAY, first, 3, 3), AttemptCount(NEXT_DAY, first, 1, 0)])
        await read_attempts.add_counts(session, [])
        await session.commit()
        rows = await session.scalars(select(ReadAttempts).order_by(ReadAttempts.day, ReadAttempts.meter_id))
        assert [(row.day, row.meter_id, row.attempts, row.successes) for row in rows] == [
            (DAY, first, 5, 4),
            (DAY, second, 1, 1),
            (NEXT_DAY, first, 1, 0),
        ]


async def test_totals_per_day_area_and_brand(runtime: Runtime) -> None:
    hexing_upper, hexing_lower, unbranded, eastern = await _meters(runtime)
    async with runtime.sessions() as session:
        await read_attempts.add_counts(
            session,
            [
                AttemptCount(DAY, hexing_upper, 4, 3),
                AttemptCount(DAY, hexing_lower, 4, 4),
                AttemptCount(NEXT_DAY, unbranded, 2, 0),
                AttemptCount(NEXT_DAY, eastern, 10, 9),
                AttemptCount(date(2026, 3, 1), eastern, 100, 0),  # outside the range
            ],
        )
        await session.commit()

        def table(rows: list[read_attempts.AttemptTotals]) -> set[tuple[str | None, str | None, int, int]]:
            return {(row.key, row.label, row.attempts, row.successes) for row in rows}

        by_day = await read_attempts.totals(session, DAY, NEXT_DAY, StatsGrouping.DAY, None)
        assert table(by_day) == {("2026-02-01", None, 8, 7), ("2026-02-02", None, 12, 9)}
        by_brand = await read_attempts.totals(session, DAY, NEXT_DAY, StatsGrouping.BRAND, None)
        assert table(by_brand) == {("hexing", "Hexing", 8, 7), (None, None, 2, 0), ("hexcell", "Hexcell", 10, 9)}
        by_area = await read_attempts.totals(session, DAY, NEXT_DAY, StatsGrouping.AREA, None)
        assert table(by_area) == {(None, None, 10, 7), ("EAST", "East", 10, 9)}
        meter = await session.get(Meter, eastern)
        assert meter is not None and meter.area_id is not None
        limited = await read_attempts.totals(session, DAY, NEXT_DAY, StatsGrouping.DAY, frozenset({meter.area_id}))
        assert table(limited) == {("2026-02-02", None, 10, 9)}
        assert await read_attempts.totals(session, DAY, NEXT_DAY, StatsGrouping.DAY, frozenset()) == []


async def test_rows_of_old_days_are_deleted_in_bounded_batches(runtime: Runtime) -> None:
    meter_ids = await _meters(runtime)
    async with runtime.sessions() as session:
        await read_attempts.add_counts(
            session, [AttemptCount(day, meter, 1, 1) for day in (DAY, NEXT_DAY) for meter in meter_ids]
        )
        assert await read_attempts.delete_before(session, NEXT_DAY, limit=3) == 3
        assert await read_attempts.delete_before(session, NEXT_DAY, limit=3) == 1
        assert await read_attempts.delete_before(session, NEXT_DAY, limit=3) == 0
        await session.commit()
        assert set(await session.scalars(select(ReadAttempts.day))) == {NEXT_DAY}
