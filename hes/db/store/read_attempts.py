"""SQL for read attempts: per meter and UTC day, collections tried and succeeded, and their totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Select, Table, delete, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import Area, Meter, ReadAttempts

_TABLE = cast(Table, ReadAttempts.__table__)


class StatsGrouping(StrEnum):
    """How attempt totals are broken down."""

    DAY = "day"
    AREA = "area"
    BRAND = "brand"


@dataclass(frozen=True, slots=True)
class AttemptCount:
    """Attempts and successes to add to one meter's day."""

    day: date
    meter_id: int
    attempts: int
    successes: int


@dataclass(frozen=True, slots=True)
class AttemptTotals:
    """Summed attempts and successes of one group: a day (ISO date), an area (code) or a brand (lower case).

    `key` is None for meters without an area or brand; `label` is what a person reads (area name, brand).
    """

    key: str | None
    label: str | None
    attempts: int
    successes: int


async def add_counts(session: AsyncSession, counts: Sequence[AttemptCount]) -> None:
    """Add `counts` to the stored ones, creating a meter's day on its first attempt; one statement.

    Every meter must exist (read_attempts refers to meters). Rows go in key order, so two writers touching the
    same rows lock them in the same order and cannot deadlock.
    """
    if not counts:
        return
    rows = [
        {"day": count.day, "meter_id": count.meter_id, "attempts": count.attempts, "successes": count.successes}
        for count in sorted(counts, key=lambda count: (count.day, count.meter_id))
    ]
    insert = postgresql_insert(_TABLE) if _is_postgresql(session) else sqlite_insert(_TABLE)
    statement = insert.on_conflict_do_update(
        index_elements=[_TABLE.c.day, _TABLE.c.meter_id],
        set_={
            "attempts": _TABLE.c.attempts + insert.excluded.attempts,
            "successes": _TABLE.c.successes + insert.excluded.successes,
        },
    )
    await session.execute(statement, rows)


async def totals(
    session: AsyncSession, start: date, end: date, grouping: StatsGrouping, area_ids: frozenset[int] | None
) -> list[AttemptTotals]:
    """Attempts and successes from `start` to `end` (both included) per group, for meters in `area_ids` (None: all)."""
    attempts = func.coalesce(func.sum(ReadAttempts.attempts), 0)
    successes = func.coalesce(func.sum(ReadAttempts.successes), 0)
    in_range = (ReadAttempts.day >= start, ReadAttempts.day <= end)
    query: Select[Any]
    if grouping is StatsGrouping.DAY:
        query = select(ReadAttempts.day, literal(None), attempts, successes).group_by(ReadAttempts.day)
    elif grouping is StatsGrouping.AREA:
        query = (
            select(Area.code, Area.name, attempts, successes)
            .join(Meter, Meter.id == ReadAttempts.meter_id)
            .outerjoin(Area, Area.id == Meter.area_id)
            .group_by(Area.code, Area.name)
        )
    else:
        brand = func.lower(Meter.brand)
        query = (
            select(brand, func.min(Meter.brand), attempts, successes)
            .join(Meter, Meter.id == ReadAttempts.meter_id)
            .group_by(brand)
        )
    query = query.select_from(ReadAttempts).where(*in_range)
    if area_ids is not None:
        meters_in_areas = select(Meter.id).where(Meter.area_id.in_(area_ids))
        query = query.where(ReadAttempts.meter_id.in_(meters_in_areas))
    rows = await session.execute(query)
    return [
        AttemptTotals(None if key is None else str(key), label, int(tried), int(succeeded))
        for key, label, tried, succeeded in rows.tuples()
    ]


async def delete_before(session: AsyncSession, day: date, limit: int) -> int:
    """Delete at most `limit` rows of days before `day`; return how many went (no commit)."""
    key = tuple_(ReadAttempts.day, ReadAttempts.meter_id)
    batch = select(ReadAttempts.day, ReadAttempts.meter_id).where(ReadAttempts.day < day).limit(limit)
    statement = delete(ReadAttempts).where(key.in_(batch)).execution_options(synchronize_session=False)
    result = cast(CursorResult[object], await session.execute(statement))
    return max(result.rowcount, 0)


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
