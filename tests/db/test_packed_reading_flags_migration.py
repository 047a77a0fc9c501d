"""Migration 0004 packs each stored reading's quality and source into `flags` and back, keeping every row and partition.

Each test migrates a database of its own (not the session's): it stops at 0003 to write readings in the old layout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Column, Double, Integer, MetaData, SmallInteger, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import ReadingQuality, ReadingSource
from hes.db.migrate import downgrade, upgrade
from hes.db.store import partitions, readings
from hes.db.store.readings import ReadingRow
from hes.db.types import UTCDateTime
from tests.conftest import BACKENDS, migrated_database

T = TypeVar("T")
BEFORE = "0003"
MAY, JUNE = datetime(2031, 5, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC)
BEFORE_ANY_PARTITION = datetime(2020, 1, 1, tzinfo=UTC)
# `readings` as revision 0003 left it.
SEPARATE = Table(
    "readings",
    MetaData(),
    Column("meter_id", Integer),
    Column("obis_id", SmallInteger),
    Column("ts", UTCDateTime),
    Column("value", Double),
    Column("quality", SmallInteger),
    Column("source", SmallInteger),
)
# Each partition's name, bounds, storage parameters and indexes, then which partition holds each reading.
PARTITIONS = text(
    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reloptions, "
    "(SELECT array_agg(x.indexrelid::regclass::text ORDER BY 1) FROM pg_index x WHERE x.indrelid = c.oid) "
    "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'readings'::regclass ORDER BY c.relname"
)
HOMES = text("SELECT tableoid::regclass::text, meter_id, ts FROM readings ORDER BY 2, 3")
SQLITE_TABLE = text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'readings'")


def _sent() -> list[ReadingRow]:
    """Every quality and source pair, over two meters and two months, and one reading before any partition."""
    pairs = product(ReadingQuality, ReadingSource)
    rows = [
        ReadingRow(1 + index % 2, 3, (MAY, JUNE)[index % 2] + timedelta(hours=index), 0.5 + index, quality, source)
        for index, (quality, source) in enumerate(pairs)
    ]
    rows.append(ReadingRow(1, 3, BEFORE_ANY_PARTITION, -2.0, ReadingQuality.SUSPECT, ReadingSource.HTTP))
    return sorted(rows, key=lambda row: (row.meter_id, row.ts))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database migrated to revision 0003, dropped afterwards."""
    with migrated_database(request.param, tmp_path, BEFORE) as url:
        yield url


def _in_session(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work` in one committed session on `url` (outside any event loop, as migrations run)."""

    async def run() -> T:
        engine = make_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _store_separately(session: AsyncSession, rows: list[ReadingRow]) -> None:
    """`rows` in the 0003 layout; on PostgreSQL in the partitions of May and June (one tuned) and DEFAULT."""
    if session.get_bind().dialect.name == "postgresql":
        assert await partitions.ensure_monthly_partitions(session, MAY, 0, 1) == [
            "readings_2031_05",
            "readings_2031_06",
        ]
        await session.execute(text("ALTER TABLE readings_2031_06 SET (fillfactor = 95)"))
    fields = ("meter_id", "obis_id", "ts", "value", "quality", "source")
    await session.execute(SEPARATE.insert(), [{name: getattr(row, name) for name in fields} for row in rows])


async def _layout(session: AsyncSession) -> list[Any]:
    """PostgreSQL: the partitions and where each reading lives. SQLite: the table's definition."""
    if session.get_bind().dialect.name == "postgresql":
        return [*(await session.execute(PARTITIONS)).tuples(), *(await session.execute(HOMES)).tuples()]
    definition = str(await session.scalar(SQLITE_TABLE))
    return ["WITHOUT ROWID" in definition, "CONSTRAINT pk_readings PRIMARY KEY (meter_id, obis_id, ts)" in definition]


async def _read_packed(session: AsyncSession) -> list[ReadingRow]:
    """Every reading through the store, which unpacks the flags."""
    found: list[ReadingRow] = []
    for meter_id in (1, 2):
        page, _total = await readings.page(session, meter_id, obis_id=None, start=None, end=None, offset=0, limit=100)
        found.extend(reversed(page))
    return found


async def _read_separate(session: AsyncSession) -> list[ReadingRow]:
    rows = await session.execute(select(SEPARATE).order_by(SEPARATE.c.meter_id, SEPARATE.c.ts))
    return [ReadingRow(*row) for row in rows.tuples()]


async def _write_again(session: AsyncSession) -> int:
    return await readings.write_readings(session, _sent())


def test_readings_keep_quality_source_and_partition_through_0004_and_back(database: str) -> None:
    sent = _sent()
    _in_session(database, lambda session: _store_separately(session, sent))
    layout = _in_session(database, _layout)
    if "postgresql" in database:
        homes = {row[0] for row in layout if len(row) == 3}
        assert homes == {"readings_2031_05", "readings_2031_06", "readings_default"}
    else:
        assert layout == [True, True]

    upgrade(database)
    assert _in_session(database, _read_packed) == sent
    assert _in_session(database, _layout) == layout
    assert _in_session(database, _write_again) == 0  # the primary key is back: every reading is a repeat

    downgrade(database, BEFORE)
    assert _in_session(database, _read_separate) == sent
    assert _in_session(database, _layout) == layout
