"""SQL for one ingest micro-batch: readings through a staging table, telling new ones from repeats.

The ingest path writes readings as columns, not as one object per reading: on PostgreSQL they go
through COPY (the fastest way in, notes/performance.md) into a per-connection staging table and move to
`readings` with ON CONFLICT DO NOTHING. Each staged row carries its position in the batch (`seq`), so
the few that were repeats can be named and counted per sender. The staging table also feeds the
latest-values upsert (`latest_readings.upsert_from_staging`) without sending the rows a second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Column, Float, Integer, MetaData, SmallInteger, Table, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import advisory
from hes.db.store.reading_flags import pack_columns
from hes.db.tables import Event
from hes.db.types import UTCDateTime

STAGING = "hes_ingest_staging"
_COLUMNS = ("seq", "meter_id", "obis_id", "flags", "ts", "value")
_PG_COLUMNS = ("seq", "meter_id", "obis_id", "flags", "ts_us", "value")
_READING_COLUMNS = ", ".join(_COLUMNS[1:])
# On PostgreSQL the time is staged as microseconds since the Unix epoch (bigint): asyncpg encodes an
# integer in a quarter of the time it takes for a datetime (measured: 0.2 against 0.8 us per row), and the
# conversion back is exact integer arithmetic in the server. ON COMMIT DELETE ROWS empties the table at
# each commit in place; an explicit TRUNCATE would give it a new file (and catalogue update) per batch.
_CREATE_PG = text(
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (seq integer NOT NULL, meter_id integer NOT NULL, "
    "obis_id smallint NOT NULL, flags smallint NOT NULL, ts_us bigint NOT NULL, value double precision NOT NULL) "
    "ON COMMIT DELETE ROWS"
)
# The staged rows as readings (times back to timestamptz); SQLite stages `ts` as it is stored.
STAGED_PG = (
    "(SELECT seq, meter_id, obis_id, flags, TIMESTAMPTZ 'epoch' + ts_us * INTERVAL '1 microsecond' AS ts, value "
    f"FROM {STAGING})"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CREATE_SQLITE = text(
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (seq INTEGER NOT NULL, meter_id INTEGER NOT NULL, "
    "obis_id INTEGER NOT NULL, flags INTEGER NOT NULL, ts DATETIME NOT NULL, value FLOAT NOT NULL)"
)
# Arrival order, not key order: sorting first leaves the primary-key index larger (see readings.py).
# "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
_MOVE_PG = text(
    f"INSERT INTO readings ({_READING_COLUMNS}) SELECT {_READING_COLUMNS} FROM {STAGED_PG} AS staged "
    "ON CONFLICT DO NOTHING"
)
_MOVE_SQLITE = text(
    f"INSERT INTO readings ({_READING_COLUMNS}) SELECT {_READING_COLUMNS} FROM {STAGING} WHERE true "
    "ON CONFLICT DO NOTHING"
)
# After the move (PostgreSQL): a staged row is a repeat when the stored row was not written by this
# transaction (its xmin is another transaction's), or when an earlier row of the same batch has its key.
_REPEATS_AFTER_MOVE = text(
    "SELECT s.seq FROM (SELECT seq, meter_id, obis_id, ts, row_number() OVER "
    f"(PARTITION BY meter_id, obis_id, ts ORDER BY seq) AS nth FROM {STAGED_PG} AS staged) s "
    "JOIN readings r ON r.meter_id = s.meter_id AND r.obis_id = s.obis_id AND r.ts = s.ts "
    "WHERE s.nth > 1 OR r.xmin <> pg_current_xact_id()::xid ORDER BY s.seq"
)
# Before the move (SQLite, which has no xmin): already stored, or not the first of its key in the batch.
_REPEATS_BEFORE_MOVE = text(
    f"SELECT seq FROM {STAGING} s WHERE EXISTS (SELECT 1 FROM readings r WHERE r.meter_id = s.meter_id "
    "AND r.obis_id = s.obis_id AND r.ts = s.ts) "
    f"OR seq NOT IN (SELECT min(seq) FROM {STAGING} GROUP BY meter_id, obis_id, ts) ORDER BY seq"
)
_EMPTY_SQLITE = text(f"DELETE FROM {STAGING}")
# The staging table as SQLAlchemy sees it on SQLite, so times are bound exactly as `readings` stores them.
_SQLITE_STAGING = Table(
    STAGING,
    MetaData(),
    Column("seq", Integer),
    Column("meter_id", Integer),
    Column("obis_id", SmallInteger),
    Column("flags", SmallInteger),
    Column("ts", UTCDateTime),
    Column("value", Float),
    prefixes=["TEMPORARY"],
)


class _CopyConnection(Protocol):
    """The one asyncpg connection method used here (asyncpg ships no type information)."""

    async def copy_records_to_table(
        self, table_name: str, *, records: Iterable[tuple[Any, ...]], columns: Sequence[str]
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class StagedReadings:
    """A batch of readings as parallel columns with ids resolved; timestamps aware (UTC).

    Quality and source stay separate here; `stage` packs them into the stored flags (`reading_flags`).
    """

    meter_ids: Sequence[int]
    obis_ids: Sequence[int]
    timestamps: Sequence[datetime]
    values: Sequence[float]
    qualities: Sequence[int]
    sources: Sequence[int]

    def __len__(self) -> int:
        return len(self.meter_ids)


@dataclass(frozen=True, slots=True)
class EventKey:
    """What makes two reports the same meter event: meter, type, code and time."""

    meter_id: int | None
    event_type: str
    code: int | None
    occurred_at: datetime


async def stage(session: AsyncSession, readings: StagedReadings) -> None:
    """Put `readings` in the staging table of the caller's transaction (no commit), numbered from 0.

    Raises:
        ValueError: a reading's quality or source is not a value of its enum (nothing is staged).
    """
    postgresql = _is_postgresql(session)
    times: Sequence[object] = readings.timestamps
    if postgresql:
        times = [(moment - _EPOCH) // _MICROSECOND for moment in readings.timestamps]
    flags = pack_columns(readings.qualities, readings.sources)
    records = zip(
        range(len(readings)), readings.meter_ids, readings.obis_ids, flags, times, readings.values, strict=True
    )
    if not postgresql:
        await session.execute(_CREATE_SQLITE)
        rows = [dict(zip(_COLUMNS, record, strict=True)) for record in records]
        if rows:
            await session.execute(_SQLITE_STAGING.insert(), rows)
        return
    # Through the session first: it opens the transaction the raw COPY then joins.
    await session.execute(_CREATE_PG)
    raw = await (await session.connection()).get_raw_connection()
    driver = cast(_CopyConnection, raw.driver_connection)
    await driver.copy_records_to_table(STAGING, records=records, columns=_PG_COLUMNS)


async def store_staged(session: AsyncSession, staged: int) -> list[int]:
    """Move the `staged` rows into `readings` (no commit); return the positions of repeats, ascending.

    A repeat is a reading already stored before this batch, or a second copy of one inside it.
    """
    if staged == 0:
        return []
    if not _is_postgresql(session):
        repeats = list((await session.execute(_REPEATS_BEFORE_MOVE)).scalars())
        await session.execute(_MOVE_SQLITE)
        return repeats
    moved = await session.execute(_MOVE_PG)
    if int(cast(Any, moved).rowcount) == staged:
        return []  # the usual case: every reading new, no second query
    return list((await session.execute(_REPEATS_AFTER_MOVE)).scalars())


async def clear_staged(session: AsyncSession) -> None:
    """Empty the staging table before the commit (PostgreSQL empties it at commit by itself)."""
    if not _is_postgresql(session):
        await session.execute(_EMPTY_SQLITE)


async def lock_event_log(session: AsyncSession) -> None:
    """Make this transaction the only one telling new events from stored ones (PostgreSQL), until it ends.

    The check is read-then-insert: two writers (or instances) storing the same event at once, say a sender's retry
    next to its first attempt, would both find it new. After the lock, the second one's check sees the first one's
    commit. Batches without events never take it; SQLite has one writer anyway.
    """
    await advisory.lock_transaction(session, "hes.ingest.event_log")


async def stored_events(session: AsyncSession, keys: Sequence[EventKey]) -> set[EventKey]:
    """Which of `keys` are already in the event log (a meter reporting the same event again)."""
    pairs = {(key.meter_id, key.occurred_at) for key in keys if key.meter_id is not None}
    if not pairs:
        return set()
    rows = await session.execute(
        select(Event.meter_id, Event.event_type, Event.code, Event.occurred_at).where(
            tuple_(Event.meter_id, Event.occurred_at).in_(sorted(pairs))
        )
    )
    found = {EventKey(*row) for row in rows.tuples()}
    return found & set(keys)


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
