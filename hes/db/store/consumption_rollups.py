"""SQL that rebuilds the consumption rollups (consumption_hourly, consumption_daily) from the readings.

Every lookup takes many series at once: the keys travel as one table joined to the rollups or readings (on
PostgreSQL `unnest` of one array per column, so the statement text never changes and stays prepared; on
SQLite a VALUES list), and a chunk of series costs a handful of statements whatever its size. Nothing here
commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import (
    Date,
    FromClause,
    Integer,
    SmallInteger,
    Table,
    and_,
    bindparam,
    case,
    column,
    delete,
    func,
    select,
    tuple_,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from hes.db.store import advisory
from hes.db.tables import ConsumptionDay, ConsumptionHour, LatestReading, Reading
from hes.db.types import UTCDateTime

_HOURS = cast(Table, ConsumptionHour.__table__)
_DAYS = cast(Table, ConsumptionDay.__table__)
# The table, not the ORM class: selecting ORM attributes sends every row through ORM loading (measured: most of
# a rebuild's Python time for its tens of thousands of readings).
_READINGS = cast(Table, Reading.__table__)
# Keys per statement: on SQLite 5 parameters each stays below its 32,766; PostgreSQL takes arrays.
_KEYS_PER_STATEMENT = 1_000
_KEYS_PER_ARRAY = 20_000
KeySpec = tuple[tuple[str, TypeEngine[Any]], ...]
_RANGE_KEYS: KeySpec = (
    ("idx", Integer()),
    ("meter_id", Integer()),
    ("obis_id", SmallInteger()),
    ("after", UTCDateTime()),
    ("until", UTCDateTime()),
)
_SERIES_KEYS: KeySpec = (("meter_id", Integer()), ("obis_id", SmallInteger()))
_DAY_KEYS: KeySpec = (
    ("meter_id", Integer()),
    ("obis_id", SmallInteger()),
    ("day", Date()),
    ("first_hour", UTCDateTime()),
    ("last_hour", UTCDateTime()),
)
# Days are UTC days, as every time on the wire.
HOURS_PER_DAY = 24
_HOUR_COLUMNS = tuple(column.name for column in _HOURS.columns)
_DAY_COLUMNS = tuple(column.name for column in _DAYS.columns)


@dataclass(frozen=True, slots=True)
class SeriesRange:
    """One register series (meter, OBIS id) and a time range (`after`, `until`], both ends as UTC times."""

    meter_id: int
    obis_id: int
    after: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class HourRecord:
    """A consumption_hourly row."""

    meter_id: int
    obis_id: int
    hour: datetime
    first_value: float
    last_value: float
    delta: float
    samples: int
    resets: int
    rollovers: int
    complete: bool


@dataclass(frozen=True, slots=True)
class DayKey:
    """One series' UTC day."""

    meter_id: int
    obis_id: int
    day: date


@dataclass(frozen=True, slots=True)
class DayRecord:
    """A consumption_daily row."""

    meter_id: int
    obis_id: int
    day: date
    delta: float
    hours: int
    resets: int
    rollovers: int
    complete: bool


def _postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _key_table(session: AsyncSession, spec: KeySpec, rows: Sequence[tuple[Any, ...]]) -> FromClause:
    """Rows of keys as a table named `k` with the columns of `spec`."""
    if _postgresql(session):
        arrays = [
            bindparam(f"k_{name}", [row[i] for row in rows], type_=ARRAY(type_)) for i, (name, type_) in enumerate(spec)
        ]
        return func.unnest(*arrays).table_valued(*(column(n, t) for n, t in spec)).render_derived(name="k")
    # A CTE with a column list, `WITH k(idx, ...) AS (VALUES ...)`: SQLite cannot name the columns of a VALUES
    # list in FROM.
    return values(*(column(name, type_) for name, type_ in spec), name="k").data(list(rows)).cte("k")


def _parts(session: AsyncSession, items: Sequence[Any]) -> Iterator[tuple[int, Sequence[Any]]]:
    size = _KEYS_PER_ARRAY if _postgresql(session) else _KEYS_PER_STATEMENT
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def _range_keys(session: AsyncSession, ranges: Sequence[SeriesRange], offset: int) -> FromClause:
    """The ranges as keys numbered from `offset` (their position in the caller's list)."""
    rows = [(offset + i, r.meter_id, r.obis_id, r.after, r.until) for i, r in enumerate(ranges)]
    return _key_table(session, _RANGE_KEYS, rows)


async def lock_rollups(session: AsyncSession) -> None:
    """Make this transaction the only rollup rebuild running (PostgreSQL) until it ends.

    Two rebuilds of one series (two HES instances, or a backfill next to the listener) then run one after the
    other, and the second reads every reading the first committed: a rebuild from an older snapshot can never
    land last. An advisory lock, not row locks: ingest writers never wait for a rebuild. (Locking each series'
    latest_readings row did that: every batch touching a series being rebuilt waited for the whole rebuild
    transaction.) One lock for every series keeps the lock table small; SQLite has one writer anyway.
    """
    await advisory.lock_transaction(session, "hes.consumption_rollups")


async def anchors(session: AsyncSession, ranges: Sequence[SeriesRange]) -> dict[int, tuple[datetime, float]]:
    """Per range (by position): the hour row just before `after` (its hour and end value), where one exists."""
    found: dict[int, tuple[datetime, float]] = {}
    for offset, part in _parts(session, ranges):
        keys = _range_keys(session, part, offset)
        earlier = _HOURS.alias("earlier")
        before = (
            select(func.max(earlier.c.hour))
            .where(
                earlier.c.meter_id == keys.c.meter_id,
                earlier.c.obis_id == keys.c.obis_id,
                earlier.c.hour < keys.c.after,
            )
            .correlate(keys)
            .scalar_subquery()
        )
        rows = await session.execute(
            select(keys.c.idx, _HOURS.c.hour, _HOURS.c.last_value)
            .select_from(keys)
            .join(
                _HOURS,
                and_(_HOURS.c.meter_id == keys.c.meter_id, _HOURS.c.obis_id == keys.c.obis_id, _HOURS.c.hour == before),
            )
        )
        found.update({idx: (hour, value) for idx, hour, value in rows.tuples()})
    return found


async def next_hours(session: AsyncSession, ranges: Sequence[SeriesRange]) -> dict[int, datetime]:
    """Per range (by position): the first hour row at or after `until`, where one exists."""
    found: dict[int, datetime] = {}
    for offset, part in _parts(session, ranges):
        keys = _range_keys(session, part, offset)
        after = (
            select(func.min(_HOURS.c.hour))
            .correlate(keys)
            .where(
                _HOURS.c.meter_id == keys.c.meter_id, _HOURS.c.obis_id == keys.c.obis_id, _HOURS.c.hour >= keys.c.until
            )
            .scalar_subquery()
        )
        rows = await session.execute(select(keys.c.idx, after))
        found.update({idx: hour for idx, hour in rows.tuples() if hour is not None})
    return found


async def register_readings(
    session: AsyncSession, ranges: Sequence[SeriesRange]
) -> dict[int, list[tuple[datetime, float]]]:
    """Per range (by position): its series' readings in (`after`, `until`], in time order."""
    found: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for offset, part in _parts(session, ranges):
        keys = _range_keys(session, part, offset)
        rows = await session.execute(
            select(keys.c.idx, _READINGS.c.ts, _READINGS.c.value)
            .select_from(keys)
            .join(
                _READINGS,
                and_(
                    _READINGS.c.meter_id == keys.c.meter_id,
                    _READINGS.c.obis_id == keys.c.obis_id,
                    _READINGS.c.ts > keys.c.after,
                    _READINGS.c.ts <= keys.c.until,
                ),
            )
            .order_by(keys.c.idx, _READINGS.c.ts)
        )
        for idx, moment, value in rows.tuples():
            found[idx].append((moment, value))
    return found


async def first_reading_times(
    session: AsyncSession, series: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], datetime]:
    """The time of each series' oldest reading (series without readings are left out)."""
    found: dict[tuple[int, int], datetime] = {}
    for _, part in _parts(session, series):
        keys = _key_table(session, _SERIES_KEYS, part)
        oldest = (
            select(func.min(Reading.ts))
            .correlate(keys)
            .where(Reading.meter_id == keys.c.meter_id, Reading.obis_id == keys.c.obis_id)
            .scalar_subquery()
        )
        rows = await session.execute(select(keys.c.meter_id, keys.c.obis_id, oldest))
        found.update({(meter_id, obis_id): moment for meter_id, obis_id, moment in rows.tuples() if moment is not None})
    return found


async def series_ends(
    session: AsyncSession, obis_ids: Sequence[int]
) -> list[tuple[int, int, datetime, datetime | None]]:
    """Each series' newest reading time (latest_readings) and newest hour row's start (None: no rows yet).

    Each as (meter, OBIS id, newest reading, newest hour row): what a restart compares to catch up on batches
    that were stored but not yet rolled up.
    """
    newest_hour = (
        select(func.max(_HOURS.c.hour))
        .where(_HOURS.c.meter_id == LatestReading.meter_id, _HOURS.c.obis_id == LatestReading.obis_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(LatestReading.meter_id, LatestReading.obis_id, LatestReading.ts, newest_hour).where(
            LatestReading.obis_id.in_(obis_ids)
        )
    )
    return list(rows.tuples())


async def upsert_hours(session: AsyncSession, records: Sequence[HourRecord]) -> None:
    """Write hour rows, replacing those of the same series and hour (rows go in key order: no deadlocks)."""
    ordered: list[HourRecord] = sorted(records, key=_hour_key)
    await _upsert(session, _HOURS, ["meter_id", "obis_id", "hour"], ordered)


async def delete_hours(session: AsyncSession, keys: Sequence[tuple[int, int, datetime]]) -> None:
    """Remove the hour rows of these (meter, OBIS id, hour) keys."""
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        part = sorted(keys[start : start + _KEYS_PER_STATEMENT])
        await session.execute(
            delete(_HOURS).where(tuple_(_HOURS.c.meter_id, _HOURS.c.obis_id, _HOURS.c.hour).in_(part))
        )


async def day_sums(session: AsyncSession, days: Sequence[DayKey]) -> list[DayRecord]:
    """The daily rows the hour rows of these days add up to (days without hour rows are left out)."""
    found: list[DayRecord] = []
    for _, part in _parts(session, days):
        wanted = [(key.meter_id, key.obis_id, key.day, *_day_hours(key.day)) for key in part]
        keys = _key_table(session, _DAY_KEYS, wanted)
        rows = await session.execute(
            select(
                keys.c.meter_id,
                keys.c.obis_id,
                keys.c.day,
                func.sum(_HOURS.c.delta),
                func.count(),
                func.sum(_HOURS.c.resets),
                func.sum(_HOURS.c.rollovers),
                func.sum(case((_HOURS.c.complete, 1), else_=0)),
            )
            .select_from(keys)
            .join(
                _HOURS,
                and_(
                    _HOURS.c.meter_id == keys.c.meter_id,
                    _HOURS.c.obis_id == keys.c.obis_id,
                    _HOURS.c.hour >= keys.c.first_hour,
                    _HOURS.c.hour <= keys.c.last_hour,
                ),
            )
            .group_by(keys.c.meter_id, keys.c.obis_id, keys.c.day)
        )
        for meter_id, obis_id, day, delta, hours, resets, rollovers, complete_hours in rows.tuples():
            complete = hours == HOURS_PER_DAY and complete_hours == HOURS_PER_DAY
            found.append(DayRecord(meter_id, obis_id, _as_date(day), delta, hours, resets, rollovers, complete))
    return found


async def upsert_days(session: AsyncSession, records: Sequence[DayRecord]) -> None:
    """Write daily rows, replacing those of the same series and day."""
    ordered = sorted(records, key=lambda record: (record.meter_id, record.obis_id, record.day))
    await _upsert(session, _DAYS, ["meter_id", "obis_id", "day"], ordered)


async def delete_days(session: AsyncSession, keys: Sequence[DayKey]) -> None:
    """Remove the daily rows of these series' days."""
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        part = sorted(astuple(key) for key in keys[start : start + _KEYS_PER_STATEMENT])
        await session.execute(delete(_DAYS).where(tuple_(_DAYS.c.meter_id, _DAYS.c.obis_id, _DAYS.c.day).in_(part)))


async def _upsert(
    session: AsyncSession, table: Table, key: list[str], records: Sequence[HourRecord | DayRecord]
) -> None:
    if not records:
        return
    names = _HOUR_COLUMNS if table is _HOURS else _DAY_COLUMNS
    row_of = attrgetter(*names)
    if _postgresql(session):
        # One statement over one array per column (see `_key_table`): a fraction of an executemany's cost.
        spec = tuple((name, table.c[name].type) for name in names)
        rows = _key_table(session, spec, [row_of(record) for record in records])
        from_arrays = postgresql_insert(table).from_select(names, select(*(rows.c[name] for name in names)))
        await session.execute(_replacing(from_arrays, key, names))
        return
    params = [dict(zip(names, row_of(record), strict=True)) for record in records]
    await session.execute(_replacing(sqlite_insert(table), key, names), params)


def _replacing(insert: Any, key: list[str], names: Sequence[str]) -> Any:
    """`insert` replacing the non-key columns of the row it meets (PostgreSQL and SQLite spell it alike)."""
    return insert.on_conflict_do_update(
        index_elements=key, set_={name: insert.excluded[name] for name in names if name not in key}
    )


def _hour_key(record: HourRecord) -> tuple[int, int, datetime]:
    return record.meter_id, record.obis_id, record.hour


def _day_hours(day: date) -> tuple[datetime, datetime]:
    """The first and last hour rows of a UTC day (each row holds the hour that starts at its `hour`)."""
    first = datetime.combine(day, time(), UTC)
    return first, first + timedelta(hours=HOURS_PER_DAY - 1)


def _as_date(value: object) -> date:
    # SQLite hands back the VALUES column as text; PostgreSQL as a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))
