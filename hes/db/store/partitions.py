"""SQL for the monthly partitions of `readings` on PostgreSQL (on SQLite every function here is a no-op).

`readings` is PARTITION BY RANGE (ts) with a DEFAULT partition (migration 0001). A partition per UTC
month, named readings_YYYY_MM, keeps each month's heap and primary-key index small and lets
retention drop a month at once instead of deleting hundreds of millions of rows.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

DEFAULT_PARTITION = "readings_default"
_MONTHLY = re.compile(r"readings_(\d{4})_(\d{2})")
# Serialises partition maintenance across processes (two API instances starting together, the
# retention job); held until the caller's transaction ends. The value is arbitrary but fixed.
_ADVISORY_LOCK_KEY = 0x4845_5350_4152_54  # "HESPART"
_MOVED = "hes_partition_move"


def month_start(moment: datetime) -> datetime:
    """Midnight UTC of the first day of `moment`'s month (in UTC).

    Raises:
        ValueError: `moment` is naive.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: partition months are UTC months")
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def add_months(start: datetime, months: int) -> datetime:
    """The first of the month `months` after (or before, if negative) the month starting at `start`."""
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    """readings_YYYY_MM for the month starting at `start`."""
    return f"readings_{start.year:04d}_{start.month:02d}"


async def monthly_partitions(session: AsyncSession) -> dict[str, datetime]:
    """The monthly partitions that exist, by name, with the start of their month (PostgreSQL only)."""
    if not _is_postgresql(session):
        return {}
    names = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'readings'::regclass"
        )
    )
    found: dict[str, datetime] = {}
    for name in names:
        match = _MONTHLY.fullmatch(name)
        if match:
            found[name] = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
    return found


async def ensure_monthly_partitions(
    session: AsyncSession, around: datetime, months_back: int = 1, months_ahead: int = 3
) -> list[str]:
    """Create the missing monthly partitions from `months_back` before `around`'s month to `months_ahead` after.

    Rows already in the DEFAULT partition for a month being created are moved into it, in the
    caller's transaction (no commit here). Safe to run concurrently: an advisory lock serialises it.
    Returns the names of the partitions created.
    """
    if not _is_postgresql(session):
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    existing = await monthly_partitions(session)
    first = month_start(around)
    created: list[str] = []
    for offset in range(-months_back, months_ahead + 1):
        start = add_months(first, offset)
        name = partition_name(start)
        if name in existing:
            continue
        await _create_partition(session, name, start, add_months(start, 1))
        created.append(name)
    return created


async def _create_partition(session: AsyncSession, name: str, start: datetime, end: datetime) -> None:
    bounds = {"start": start, "end": end}
    in_default = "FROM readings_default WHERE ts >= :start AND ts < :end"
    # PostgreSQL refuses to create a partition while the DEFAULT one holds rows of its range; take
    # them out, create the partition, and put them back (they route to the new partition).
    stray = await session.scalar(text(f"SELECT count(*) {in_default}"), bounds)
    if stray:
        await session.execute(text(f"CREATE TEMPORARY TABLE {_MOVED} (LIKE readings) ON COMMIT DROP"))
        await session.execute(
            text(f"WITH moved AS (DELETE {in_default} RETURNING *) INSERT INTO {_MOVED} SELECT * FROM moved"), bounds
        )
    # Literal UTC bounds: a bound written with the session's time zone would shift the month.
    await session.execute(
        text(
            f"CREATE TABLE {name} PARTITION OF readings "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    if stray:
        await session.execute(text(f"INSERT INTO readings SELECT * FROM {_MOVED}"))
        await session.execute(text(f"DROP TABLE {_MOVED}"))
        logger.info("moved %d readings from %s into the new partition %s", stray, DEFAULT_PARTITION, name)


async def drop_partitions_before(session: AsyncSession, cutoff: datetime) -> list[str]:
    """Drop every monthly partition whose whole month lies before `cutoff`; return their names.

    Rows in the DEFAULT partition are left alone. No commit here: the caller's transaction decides.
    """
    if not _is_postgresql(session):
        return []
    if cutoff.tzinfo is None:
        raise ValueError("naive datetime refused: retention cut-offs are UTC")
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    dropped = sorted(
        name for name, start in (await monthly_partitions(session)).items() if add_months(start, 1) <= cutoff
    )
    for name in dropped:
        await session.execute(text(f"DROP TABLE {name}"))
    return dropped


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
