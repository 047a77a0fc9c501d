"""SQL for readings: the one durable, idempotent, batched write, and the reads behind the readings API.

A reading is unique per meter, OBIS code and timestamp; writing it again is not an error and stores
nothing. Figures behind the write paths are in bench/storage.py and notes/performance.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Row, Table, and_, func, select, text, true
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import ReadingQuality, ReadingSource
from hes.db.store.reading_flags import pack_columns, unpack
from hes.db.tables import ObisCode as ObisCodeRow
from hes.db.tables import Reading

_READINGS = cast(Table, Reading.__table__)
_COLUMNS = ("meter_id", "obis_id", "flags", "ts", "value")
_METER_ID, _OBIS_ID, _TS, _VALUE, _QUALITY, _SOURCE = map(
    attrgetter, ("meter_id", "obis_id", "ts", "value", "quality", "source")
)

# Below this many rows one INSERT ... SELECT FROM unnest(arrays) beats COPY into the staging table,
# whose fixed cost is three extra round trips (create-if-missing, COPY, truncate). Measured with
# `bench/storage.py --crossover` (best of 3, one commit per batch): unnest is 10-50 % faster up to
# 1,000 rows, the two are even at 2,000-3,000, and COPY is 30-60 % faster from 5,000 rows.
SMALL_BATCH = 2_000

# Per-connection staging table: COPY (the fastest way in) cannot skip duplicates, so rows land here
# first and move to `readings` with ON CONFLICT DO NOTHING. It is emptied with TRUNCATE after every
# use, since autovacuum never visits temporary tables and DELETE would leave them bloated.
_STAGING = "hes_readings_staging"
_CREATE_STAGING = text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (LIKE readings INCLUDING DEFAULTS)")
_COLUMN_LIST = ", ".join(_COLUMNS)
# Not sorted by key on the way in: that is ~35 % faster, but with readings arriving in time order it
# leaves the primary-key index ~25 % larger (42 instead of 33 bytes per reading, bench/storage.py),
# past the 100-bytes-per-reading budget.
_MOVE_STAGED = text(
    f"INSERT INTO readings ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {_STAGING} ON CONFLICT DO NOTHING"
)
_EMPTY_STAGING = text(f"TRUNCATE {_STAGING}")
_INSERT_UNNEST = text(
    f"INSERT INTO readings ({_COLUMN_LIST}) "
    "SELECT * FROM unnest(CAST(:meter_id AS integer[]), CAST(:obis_id AS smallint[]), "
    "CAST(:flags AS smallint[]), CAST(:ts AS timestamptz[]), CAST(:value AS double precision[])) "
    "ON CONFLICT DO NOTHING"
)


class _CopyConnection(Protocol):
    """The one asyncpg connection method used here (asyncpg ships no type information)."""

    async def copy_records_to_table(
        self, table_name: str, *, records: Iterable[tuple[Any, ...]], columns: Sequence[str]
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """One stored reading: meter and OBIS ids (see `obis_codes.get_or_create_ids`), time, value, quality, source.

    Raises:
        ValueError: a naive timestamp, a value that is not a finite number, an unknown quality or source.
    """

    meter_id: int
    obis_id: int
    ts: datetime
    value: float
    quality: ReadingQuality = ReadingQuality.GOOD
    source: ReadingSource = ReadingSource.DLMS_POLL

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None or self.ts.utcoffset() is None:
            raise ValueError(f"reading time {self.ts.isoformat()} has no offset; HES Core stores UTC")
        if not math.isfinite(self.value):
            raise ValueError(f"reading value {self.value!r} is not a finite number")
        # Cheap identity checks first: this runs once per reading on the ingest path.
        if type(self.quality) is not ReadingQuality:
            object.__setattr__(self, "quality", ReadingQuality(self.quality))
        if type(self.source) is not ReadingSource:
            object.__setattr__(self, "source", ReadingSource(self.source))


async def write_readings(session: AsyncSession, rows: Sequence[ReadingRow]) -> int:
    """Store `rows` in the caller's transaction (no commit); return how many were new.

    Repeats of a stored (meter, OBIS, time), and repeats inside `rows`, are skipped silently. On
    PostgreSQL, batches of `SMALL_BATCH` rows or more go through COPY into a staging table.
    """
    if not rows:
        return 0
    if session.get_bind().dialect.name != "postgresql":
        return await _write_sqlite(session, rows)
    if len(rows) < SMALL_BATCH:
        return await _write_unnest(session, rows)
    return await _write_copy(session, rows)


async def _write_copy(session: AsyncSession, rows: Sequence[ReadingRow]) -> int:
    # Through the session first: it opens the transaction the raw COPY then joins.
    await session.execute(_CREATE_STAGING)
    driver = await _driver_connection(session)
    await driver.copy_records_to_table(_STAGING, records=_records(rows), columns=_COLUMNS)
    stored = await session.execute(_MOVE_STAGED)
    await session.execute(_EMPTY_STAGING)
    return _rowcount(stored)


async def _write_unnest(session: AsyncSession, rows: Sequence[ReadingRow]) -> int:
    stored = await session.execute(_INSERT_UNNEST, dict(zip(_COLUMNS, map(list, _columns(rows)), strict=True)))
    return _rowcount(stored)


async def _write_sqlite(session: AsyncSession, rows: Sequence[ReadingRow]) -> int:
    # The Core table (not the ORM class) keeps this a plain executemany rather than an ORM bulk insert.
    statement = sqlite_insert(_READINGS).on_conflict_do_nothing()
    stored = await session.execute(statement, [dict(zip(_COLUMNS, record, strict=True)) for record in _records(rows)])
    return _rowcount(stored)


def _records(rows: Sequence[ReadingRow]) -> Iterator[tuple[Any, ...]]:
    """`rows` as tuples of the stored columns, in `_COLUMNS` order."""
    return zip(*_columns(rows), strict=True)


def _columns(rows: Sequence[ReadingRow]) -> tuple[Iterable[Any], ...]:
    """`rows` as one iterable per stored column, in `_COLUMNS` order, with no Python call per row."""
    flags = pack_columns(map(_QUALITY, rows), map(_SOURCE, rows))
    return map(_METER_ID, rows), map(_OBIS_ID, rows), flags, map(_TS, rows), map(_VALUE, rows)


async def _driver_connection(session: AsyncSession) -> _CopyConnection:
    raw = await (await session.connection()).get_raw_connection()
    return cast(_CopyConnection, raw.driver_connection)


def _rowcount(result: Any) -> int:
    # INSERT answers "INSERT 0 <n>"; SQLAlchemy exposes n as the cursor result's rowcount.
    return int(result.rowcount)


def _filters(
    meter_id: int, obis_id: int | None, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    conditions = [Reading.meter_id == meter_id]
    if obis_id is not None:
        conditions.append(Reading.obis_id == obis_id)
    if start is not None:
        conditions.append(Reading.ts >= start)
    if end is not None:
        conditions.append(Reading.ts <= end)
    return conditions


async def page(
    session: AsyncSession,
    meter_id: int,
    *,
    obis_id: int | None,
    start: datetime | None,
    end: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[ReadingRow], int]:
    """A meter's readings, newest first (both ends of the time range included), one page, with the total."""
    conditions = _filters(meter_id, obis_id, start, end)
    total = await session.scalar(select(func.count()).select_from(_READINGS).where(*conditions))
    found = await session.execute(
        select(_READINGS)
        .where(*conditions)
        .order_by(Reading.ts.desc(), Reading.obis_id.asc())
        .offset(offset)
        .limit(limit)
    )
    return [_row(row) for row in found], int(total or 0)


async def latest(session: AsyncSession, meter_id: int) -> list[ReadingRow]:
    """The newest reading of each OBIS code the meter has readings for."""
    if session.get_bind().dialect.name == "postgresql":
        # One backward index probe per known code (and partition), instead of reading the meter's history.
        newest = (
            select(_READINGS)
            .where(Reading.meter_id == meter_id, Reading.obis_id == ObisCodeRow.id)
            .order_by(Reading.ts.desc())
            .limit(1)
            .lateral()
        )
        query = select(newest).select_from(ObisCodeRow).join(newest, true())
    else:
        times = (
            select(Reading.obis_id, func.max(Reading.ts).label("ts"))
            .where(Reading.meter_id == meter_id)
            .group_by(Reading.obis_id)
            .subquery()
        )
        query = (
            select(_READINGS)
            .join(times, and_(Reading.obis_id == times.c.obis_id, Reading.ts == times.c.ts))
            .where(Reading.meter_id == meter_id)
        )
    return [_row(row) for row in await session.execute(query)]


def _row(row: Row[Any]) -> ReadingRow:
    quality, source = unpack(row.flags)
    return ReadingRow(
        meter_id=row.meter_id, obis_id=row.obis_id, ts=row.ts, value=row.value, quality=quality, source=source
    )
