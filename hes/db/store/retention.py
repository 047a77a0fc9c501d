"""SQL for retention: readings and events older than a cut-off leave in bounded batches (no commit here).

On PostgreSQL old readings leave by dropping whole monthly partitions (`partitions.drop_partitions_before`);
only the DEFAULT partition, which holds months that never had a partition, is emptied row by row.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, bindparam, delete, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store.partitions import DEFAULT_PARTITION, monthly_partitions
from hes.db.tables import Event, Reading
from hes.db.types import UTCDateTime

# ctid batches: the DEFAULT partition has no index on ts alone, and ctid is the cheapest handle on a row.
_DELETE_OLD_DEFAULT = text(
    f"DELETE FROM {DEFAULT_PARTITION} WHERE ctid = ANY(ARRAY("
    f"SELECT ctid FROM {DEFAULT_PARTITION} WHERE ts < :cutoff LIMIT :limit))"
).bindparams(bindparam("cutoff", type_=UTCDateTime))
_OLDEST_IN_DEFAULT = text(f"SELECT min(ts) FROM {DEFAULT_PARTITION}")


async def delete_readings_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete at most `limit` readings older than `cutoff`; return how many went.

    On PostgreSQL only the DEFAULT partition is visited: monthly partitions are dropped whole instead.
    """
    if _is_postgresql(session):
        result = await session.execute(_DELETE_OLD_DEFAULT, {"cutoff": cutoff, "limit": limit})
        return _count(result)
    # SQLite has no DELETE ... LIMIT in its default build: name the batch by its primary keys.
    key = tuple_(Reading.meter_id, Reading.obis_id, Reading.ts)
    batch = select(Reading.meter_id, Reading.obis_id, Reading.ts).where(Reading.ts < cutoff).limit(limit)
    statement = delete(Reading).where(key.in_(batch)).execution_options(synchronize_session=False)
    return _count(await session.execute(statement))


async def delete_events_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete at most `limit` events that occurred before `cutoff`; return how many went."""
    batch = select(Event.id).where(Event.occurred_at < cutoff).limit(limit)
    statement = delete(Event).where(Event.id.in_(batch)).execution_options(synchronize_session=False)
    return _count(await session.execute(statement))


async def oldest_reading(session: AsyncSession) -> datetime | None:
    """When the oldest kept reading was taken, or None without readings.

    On PostgreSQL, to the month for readings in monthly partitions: the exact minimum would scan a whole
    month of readings (ts leads no index), while retention works in whole months anyway.
    """
    if not _is_postgresql(session):
        oldest: datetime | None = await session.scalar(select(func.min(Reading.ts)))
        return oldest
    candidates: list[datetime] = []
    in_default = await session.scalar(_OLDEST_IN_DEFAULT)
    if in_default is not None:
        candidates.append(in_default)
    for name, start in sorted((await monthly_partitions(session)).items(), key=lambda item: item[1]):
        # Partition names come from pg_inherits, matched against readings_YYYY_MM: safe to interpolate.
        if await session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {name})")):
            candidates.append(start)
            break
    return min(candidates, default=None)


def _count(result: object) -> int:
    return max(cast(CursorResult[object], result).rowcount, 0)


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
