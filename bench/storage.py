"""Readings storage on PostgreSQL: bytes per reading and write rate of `write_readings`, next to a bare-table baseline.

Run:  .venv/bin/python bench/storage.py [--meters 1000] [--codes 4] [--steps 250] [--batch 20000] [--crossover]

Creates a scratch database on postgresql://postgres@127.0.0.1:5432 (HES_BENCH_POSTGRES_DSN overrides),
migrates it, writes meters x codes x steps quarter-hourly readings in time order (every meter's
readings of one quarter-hour, then the next, as a fleet reports), and drops the database at the end.
The baseline is the bare table of notes/performance.md loaded with COPY. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from scratch import scratch_database
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import ReadingQuality, ReadingSource
from hes.db.store import obis_codes, partitions
from hes.db.store import readings as store
from hes.db.store.obis_codes import ObisDescription
from hes.db.store.readings import ReadingRow
from hes.obis import ObisCode

START = datetime(2025, 3, 3, tzinfo=UTC)
STEP = timedelta(minutes=15)
CATALOGUE = {
    ObisCode.parse("1-0:1.8.0.255"): ObisDescription("Active energy import (+A), total", "kWh"),
    ObisCode.parse("1-0:2.8.0.255"): ObisDescription("Active energy export (-A), total", "kWh"),
    ObisCode.parse("1-0:32.7.0.255"): ObisDescription("Voltage L1, instantaneous", "V"),
    ObisCode.parse("1-0:31.7.0.255"): ObisDescription("Current L1, instantaneous", "A"),
    ObisCode.parse("1-0:1.7.0.255"): ObisDescription("Active power import (+P), instantaneous", "kW"),
    ObisCode.parse("1-0:14.7.0.255"): ObisDescription("Supply frequency", "Hz"),
}
BASELINE = "bench_baseline"


@dataclass(frozen=True)
class Size:
    """Storage of a set of tables."""

    heap: int
    index: int

    @property
    def total(self) -> int:
        """Heap (incl. free-space and visibility maps) plus indexes."""
        return self.heap + self.index


def fleet_readings(meters: int, codes: Sequence[int], steps: int, seed: int = 62056) -> list[ReadingRow]:
    """Plausible quarter-hourly readings, time-major: registers rise, voltage and current wander."""
    rng = random.Random(seed)
    imported = [rng.uniform(1_000, 40_000) for _ in range(meters)]
    exported = [rng.uniform(0, 500) if rng.random() < 0.1 else 0.0 for _ in range(meters)]
    rows: list[ReadingRow] = []
    for step in range(steps):
        ts = START + step * STEP
        hour = ts.hour + ts.minute / 60
        daytime = 1.0 if 6 <= hour <= 22 else 0.35
        for meter in range(meters):
            power = rng.uniform(0.05, 3.5) * daytime  # kW over this quarter-hour
            imported[meter] += round(power / 4, 3)
            if exported[meter] and 9 <= hour <= 16:
                exported[meter] += round(rng.uniform(0, 1.2), 3)
            voltage = round(rng.gauss(231.0, 3.0), 1)
            values = (
                round(imported[meter], 3),
                round(exported[meter], 3),
                voltage,
                round(power * 1000 / voltage, 2),
                round(power, 3),
                round(rng.gauss(50.0, 0.02), 2),
            )
            quality = ReadingQuality.ESTIMATED if rng.random() < 0.001 else ReadingQuality.GOOD
            for index, obis_id in enumerate(codes):
                rows.append(ReadingRow(meter + 1, obis_id, ts, values[index], quality, ReadingSource.DLMS_POLL))
    return rows


def batches(rows: Sequence[ReadingRow], size: int) -> Iterator[Sequence[ReadingRow]]:
    """`rows` in slices of `size`."""
    for first in range(0, len(rows), size):
        yield rows[first : first + size]


async def sizes(dsn: str, tables: Sequence[str]) -> Size:
    """Heap and index bytes of `tables`, after VACUUM ANALYZE."""
    connection = await asyncpg.connect(dsn)
    try:
        heap = index = 0
        for table in tables:
            heap += await connection.fetchval("SELECT pg_table_size($1::regclass)", table)
            index += await connection.fetchval("SELECT pg_indexes_size($1::regclass)", table)
        return Size(heap, index)
    finally:
        await connection.close()


async def reading_partitions(dsn: str) -> list[str]:
    """The partitions of `readings` (monthly ones and DEFAULT)."""
    connection = await asyncpg.connect(dsn)
    try:
        names = await connection.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'readings'::regclass ORDER BY 1"
        )
        return [row["relname"] for row in names]
    finally:
        await connection.close()


async def vacuum(dsn: str, table: str) -> None:
    """VACUUM ANALYZE outside a transaction."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"VACUUM ANALYZE {table}")
    finally:
        await connection.close()


async def run(url: str, dsn: str, args: argparse.Namespace) -> None:
    """Every measurement, printed as it completes."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        async with sessions() as session:
            await partitions.ensure_monthly_partitions(session, START)
            ids = await obis_codes.get_or_create_ids(session, list(CATALOGUE)[: args.codes], CATALOGUE)
            await session.commit()
        codes = sorted(ids.values())
        began = time.perf_counter()
        rows = fleet_readings(args.meters, codes, args.steps)
        built = time.perf_counter() - began
        print(f"built {len(rows):,} ReadingRow values in {built:.1f} s ({len(rows) / built:,.0f}/s, not counted below)")

        began = time.perf_counter()
        stored = 0
        for batch in batches(rows, args.batch):
            async with sessions() as session:
                stored += await store.write_readings(session, batch)
                await session.commit()
        write_seconds = time.perf_counter() - began

        began = time.perf_counter()
        again = 0
        for batch in batches(rows, args.batch):
            async with sessions() as session:
                again += await store.write_readings(session, batch)
                await session.commit()
        rerun_seconds = time.perf_counter() - began

        baseline_seconds = await copy_baseline(dsn, rows, args.batch)

        await vacuum(dsn, "readings")
        await vacuum(dsn, BASELINE)
        parts = await reading_partitions(dsn)
        ours = await sizes(dsn, parts)
        bare = await sizes(dsn, [BASELINE])

        print()
        print(f"{len(rows):,} readings = {args.meters:,} meters x {args.codes} OBIS codes x {args.steps} quarter-hours")
        print(f"written in time order, {args.batch:,} per batch, one commit per batch; partitions: {', '.join(parts)}")
        print()
        print(f"{'':34}{'readings (write_readings)':>28}{'bare table (COPY)':>22}")
        print(f"{'rows stored':34}{stored:>28,}{len(rows):>22,}")
        print(f"{'total bytes (heap + indexes)':34}{ours.total:>28,}{bare.total:>22,}")
        print(f"{'bytes per reading':34}{ours.total / stored:>28.1f}{bare.total / len(rows):>22.1f}")
        print(f"{'  heap bytes per reading':34}{ours.heap / stored:>28.1f}{bare.heap / len(rows):>22.1f}")
        print(f"{'  index bytes per reading':34}{ours.index / stored:>28.1f}{bare.index / len(rows):>22.1f}")
        print(f"{'  index share':34}{ours.index / ours.total:>28.0%}{bare.index / bare.total:>22.0%}")
        print(f"{'write seconds':34}{write_seconds:>28.2f}{baseline_seconds:>22.2f}")
        print(f"{'write rate (rows/s)':34}{stored / write_seconds:>28,.0f}{len(rows) / baseline_seconds:>22,.0f}")
        print()
        print(
            f"duplicate-safe rerun: the same {len(rows):,} readings again stored {again:,} new rows "
            f"in {rerun_seconds:.2f} s ({len(rows) / rerun_seconds:,.0f} rows/s checked)"
        )
        print()
        await read_timings(sessions, codes[0], args.meters // 2)
        if args.crossover:
            print()
            await crossover(sessions, codes)
    finally:
        await engine.dispose()


async def read_timings(sessions: async_sessionmaker[AsyncSession], obis_id: int, meter_id: int) -> None:
    """Median time of the queries behind the readings API (a page includes its total count), warm cache."""
    queries: dict[str, Callable[[AsyncSession], Awaitable[object]]] = {
        "newest 50 of a meter": lambda session: store.page(
            session, meter_id, obis_id=None, start=None, end=None, offset=0, limit=50
        ),
        "newest 50 of a meter and code": lambda session: store.page(
            session, meter_id, obis_id=obis_id, start=None, end=None, offset=0, limit=50
        ),
        "page 5 of a meter, 12 h window": lambda session: store.page(
            session, meter_id, obis_id=None, start=START, end=START + timedelta(hours=12), offset=200, limit=50
        ),
        "latest value per code": lambda session: store.latest(session, meter_id),
    }
    async with sessions() as session:
        for label, query in queries.items():
            times = []
            for _ in range(21):
                began = time.perf_counter()
                await query(session)
                times.append(time.perf_counter() - began)
            print(f"read: {label:34} median {sorted(times)[10] * 1000:6.2f} ms")


async def copy_baseline(dsn: str, rows: Sequence[ReadingRow], batch: int) -> float:
    """The bare table of notes/performance.md, loaded with COPY in the same batches; returns seconds."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            f"CREATE TABLE {BASELINE} (meter int, obis smallint, ts timestamptz, value float8, "
            "PRIMARY KEY (meter, obis, ts))"
        )
        began = time.perf_counter()
        for chunk in batches(rows, batch):
            records = [(row.meter_id, row.obis_id, row.ts, row.value) for row in chunk]
            await connection.copy_records_to_table(BASELINE, records=records)
        return time.perf_counter() - began
    finally:
        await connection.close()


async def crossover(sessions: async_sessionmaker[AsyncSession], codes: Sequence[int]) -> None:
    """Rows/s of the unnest and COPY paths by batch size, on fresh keys (this picks `SMALL_BATCH`).

    Each size runs 20 batches (one commit each) per path, in 3 alternating rounds; the best round counts.
    """
    print(f"batch size: best rows/s through unnest | through COPY + staging   (SMALL_BATCH = {store.SMALL_BATCH})")
    meter = 1_000_000
    for size in (10, 100, 300, 500, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000):
        best = [0.0, 0.0]
        for _round in range(3):
            for which, path in enumerate((store._write_unnest, store._write_copy)):
                meter += 1
                rows = [ReadingRow(meter, codes[0], START + step * STEP, 1.0) for step in range(size * 20)]
                began = time.perf_counter()
                for batch in batches(rows, size):
                    async with sessions() as session:
                        await path(session, batch)
                        await session.commit()
                best[which] = max(best[which], len(rows) / (time.perf_counter() - began))
        print(f"{size:>10,}: {best[0]:>10,.0f} | {best[1]:>10,.0f}")


def main() -> None:
    """Parse arguments, create the scratch database, measure, drop it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=1_000)
    parser.add_argument("--codes", type=int, default=4, choices=range(1, len(CATALOGUE) + 1))
    parser.add_argument("--steps", type=int, default=250, help="quarter-hours per meter and code")
    parser.add_argument("--batch", type=int, default=20_000, help="readings per write_readings call and commit")
    parser.add_argument("--crossover", action="store_true", help="also time unnest vs COPY by batch size")
    args = parser.parse_args()

    with scratch_database("storage") as database:
        asyncio.run(run(database.url, database.dsn, args))


if __name__ == "__main__":
    main()
