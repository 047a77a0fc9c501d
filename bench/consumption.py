"""Consumption and dashboard queries on PostgreSQL against a large fleet's rollups, and the rollup rebuild rate.

Run:  .venv/bin/python bench/consumption.py [--meters 10000] [--days 90] [--areas 10] [--exporters 0.1]

Creates a scratch database on postgresql://postgres@127.0.0.1:5432 (HES_BENCH_POSTGRES_DSN overrides), migrates
it, and generates in the server (generate_series) the hourly rollups of `meters` x `days` x 24 hours of import
(plus export for a share of meters), hour by hour as the listener writes them, then the daily rollups from them.
Meters sit in `areas` areas under one root area. It then times (median of 7 after one warm-up):
  - GET /api/consumption's service call for one meter and one area, over a month, daily and hourly;
  - the whole fleet (the root area) over a month, daily;
  - the dashboard's figures (meters, active alerts, last hour from the rollups, read success today);
and the listener's rebuild of one new hour for every meter (4 quarter-hour readings each) on top of it all.
Figures, not assertions. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from scratch import scratch_database
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import Role
from hes.db.store import obis_codes
from hes.db.store.obis_codes import ObisDescription
from hes.db.store.readings import ReadingRow, write_readings
from hes.ingest.records import IncomingReading, ReadingColumns, StoredBatch
from hes.services import consumption, dashboard
from hes.services.consumption import ConsumptionRequest, Interval
from hes.services.consumption_rollup import ConsumptionRollups, RollupSettings
from hes.services.energy_registers import ENERGY_REGISTERS
from hes.services.principal import Principal

ADMIN = Principal(user_id=0, username="bench", role=Role.ADMIN)
START = datetime(2025, 1, 1, tzinfo=UTC)


async def load(dsn: str, args: argparse.Namespace, import_id: int, export_id: int) -> None:
    """Areas, meters, alerts, today's read attempts, and the rollups, generated in the server."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET synchronous_commit = off")
        await connection.execute(
            "INSERT INTO areas (id, code, name, created_at, updated_at) VALUES (1, 'ALL', 'All', now(), now())"
        )
        await connection.execute(
            "INSERT INTO areas (id, code, name, parent_id, created_at, updated_at) "
            "SELECT a + 1, 'AREA-' || a, 'Area ' || a, 1, now(), now() FROM generate_series(1, $1) a",
            args.areas,
        )
        await connection.execute(
            "INSERT INTO meters (id, meter_number, meter_type, area_id, status, relay_state, connection_mode, "
            "dlms_transport, dlms_client_address, dlms_server_address, dlms_authentication, dlms_security_suite, "
            "dlms_invocation_counter, consecutive_failures, last_seen_at, created_at, updated_at) "
            "SELECT m, 'BM-' || m, 'single-phase', 2 + m % $2, "
            "CASE WHEN m % 10 = 0 THEN 'offline' WHEN m % 97 = 0 THEN 'installed' ELSE 'online' END, "
            "'connected', 'outbound', 'wrapper', 16, 1, 'none', 0, 0, 0, "
            "CASE WHEN m % 97 = 0 THEN NULL ELSE now() END, now(), now() FROM generate_series(1, $1) m",
            args.meters,
            args.areas,
        )
        await connection.execute(
            "INSERT INTO alerts (meter_id, alert_type, severity, status, message, occurrences, first_seen_at, "
            "last_seen_at) SELECT m, 'cover_open', (ARRAY['info','warning','error','critical'])[1 + m % 4], "
            "(ARRAY['open','acknowledged','resolved'])[1 + m % 3], 'bench', 1, now(), now() "
            "FROM generate_series(1, $1, 3) m",
            args.meters,
        )
        await connection.execute(
            "INSERT INTO read_attempts (day, meter_id, attempts, successes) "
            "SELECT (now() AT TIME ZONE 'UTC')::date, m, 96, 96 - m % 5 FROM generate_series(1, $1) m",
            args.meters,
        )
        started = time.perf_counter()
        # Day by day, hour-major: the order the rollup listener writes rows in as a fleet reports.
        for day in range(args.days):
            first = START + timedelta(days=day)
            await connection.execute(
                "INSERT INTO consumption_hourly (meter_id, obis_id, hour, first_value, last_value, delta, samples, "
                "resets, rollovers, complete) "
                "SELECT m, o, h, 0, 0, (random() * 1500)::int, 4, 0, 0, random() > 0.001 "
                "FROM generate_series($3::timestamptz, $4::timestamptz, interval '1 hour') h, "
                "generate_series(1, $5) m, "
                "(VALUES ($1::smallint, 1.0::float8), ($2::smallint, $6::float8)) r(o, share) "
                "WHERE m <= $5 * share ORDER BY h, m, o",
                import_id,
                export_id,
                first,
                first + timedelta(hours=23),
                args.meters,
                args.exporters,
            )
        hourly_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute(
            "INSERT INTO consumption_daily (meter_id, obis_id, day, delta, hours, resets, rollovers, complete) "
            "SELECT meter_id, obis_id, (hour AT TIME ZONE 'UTC')::date, sum(delta), count(*), sum(resets), "
            "sum(rollovers), count(*) = 24 AND bool_and(complete) FROM consumption_hourly GROUP BY 1, 2, 3 "
            "ORDER BY 3, 1, 2"
        )
        daily_seconds = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE")
        hourly = await connection.fetchval("SELECT count(*) FROM consumption_hourly")
        daily = await connection.fetchval("SELECT count(*) FROM consumption_daily")
        hourly_bytes = await connection.fetchval("SELECT pg_total_relation_size('consumption_hourly')")
        daily_bytes = await connection.fetchval("SELECT pg_total_relation_size('consumption_daily')")
    finally:
        await connection.close()
    print(f"hourly rollups: {hourly:>12,} rows in {hourly_seconds:6.1f} s, {hourly_bytes / hourly:5.1f} bytes/row")
    print(f"daily rollups:  {daily:>12,} rows in {daily_seconds:6.1f} s, {daily_bytes / daily:5.1f} bytes/row")


async def timed(label: str, call: Callable[[], Awaitable[object]], repeat: int = 7) -> None:
    """Median wall time of `call` after one warm-up run."""
    await call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    print(f"{label:52} median {statistics.median(times) * 1000:8.1f} ms   (min {min(times) * 1000:.1f})")


async def queries(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> None:
    """The consumption and dashboard timings."""
    month = (START + timedelta(days=31), START + timedelta(days=59))  # February
    now = START + timedelta(days=args.days, hours=-2)

    def series(
        interval: Interval, meter_id: int | None = None, area: str | None = None
    ) -> Callable[[], Awaitable[object]]:
        async def call() -> object:
            async with sessions() as session:
                request = ConsumptionRequest(meter_id, area, month[0], month[1], interval)
                return await consumption.consumption(session, ADMIN, request)

        return call

    async def stats() -> object:
        async with sessions() as session:
            return await dashboard.stats(session, ADMIN, now)

    per_area = args.meters // args.areas
    await timed("one meter, one month, daily", series(Interval.DAILY, meter_id=42))
    await timed("one meter, one month, hourly", series(Interval.HOURLY, meter_id=42))
    await timed(f"one area ({per_area:,} meters), one month, daily", series(Interval.DAILY, area="AREA-3"))
    await timed(f"one area ({per_area:,} meters), one month, weekly", series(Interval.WEEKLY, area="AREA-3"))
    await timed(f"one area ({per_area:,} meters), one month, hourly", series(Interval.HOURLY, area="AREA-3"))
    await timed(f"whole fleet ({args.meters:,} meters), one month, daily", series(Interval.DAILY, area="ALL"))
    await timed("dashboard stats (whole fleet)", stats)
    async with sessions() as session:
        point = (await dashboard.stats(session, ADMIN, now)).last_hour
    print(f"  (last hour: {point.import_kwh} kWh imported by {point.meters_reporting:,} meters)")


async def rebuild_rate(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace, import_id: int) -> None:
    """One new hour for every meter, stored and rolled up by the listener (without the HTTP and ingest layers)."""
    hour = START + timedelta(days=args.days)
    rows = [
        ReadingRow(meter, import_id, hour + timedelta(minutes=15 * step), 1_000.0 * step)
        for meter in range(1, args.meters + 1)
        for step in range(1, 5)
    ]
    async with sessions() as session:
        await write_readings(session, rows)
        await session.commit()
    listener = ConsumptionRollups(sessions, RollupSettings(catch_up=False, max_pending=10 * args.meters))
    code = ENERGY_REGISTERS[0].obis
    readings = ReadingColumns.of([IncomingReading(row.meter_id, code, row.ts, row.value) for row in rows])
    batch = StoredBatch(readings, (), ())
    started = time.perf_counter()
    await listener.batch_stored(batch)
    noted = time.perf_counter() - started
    started = time.perf_counter()
    written = await listener.flush()
    flushed = time.perf_counter() - started
    print(f"listener: noted {len(rows):,} readings in {noted * 1000:.1f} ms ({len(rows) / noted:,.0f} readings/s)")
    print(
        f"listener: rebuilt {written:,} hour rows (+ their days) in {flushed:.2f} s "
        f"({written / flushed:,.0f} series-hours/s)"
    )


async def run(url: str, dsn: str, args: argparse.Namespace) -> None:
    """Load, then measure."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        async with sessions() as session:
            described = {
                register.obis: ObisDescription(register.direction.value, "Wh") for register in ENERGY_REGISTERS
            }
            ids = await obis_codes.get_or_create_ids(session, list(described), described)
            await session.commit()
        import_id, export_id = (ids[register.obis] for register in ENERGY_REGISTERS)
        print(f"{args.meters:,} meters in {args.areas} areas, {args.days} days of hourly rollups")
        await load(dsn, args, import_id, export_id)
        print()
        await queries(sessions, args)
        print()
        await rebuild_rate(sessions, args, import_id)
    finally:
        await engine.dispose()


def main() -> None:
    """Parse arguments, make the scratch database, run, drop it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--areas", type=int, default=10)
    parser.add_argument("--exporters", type=float, default=0.1, help="share of meters with an export register")
    args = parser.parse_args()
    with scratch_database("consumption") as database:
        asyncio.run(run(database.url, database.dsn, args))


if __name__ == "__main__":
    main()
