"""Ingest throughput on PostgreSQL with >= 20 M readings already stored, next to the same-run COPY-stage ceiling.

Run:  .venv/bin/python bench/ingest.py [--preload 20000000] [--meters 10000] [--sections http mqtt socketio storage]
                                       [--connections 256 64] [--http-readings 1500000]
                                       [--mqtt-messages 100000] [--mqtt-meters 8]
                                       [--socketio-clients 200] [--socketio-rate 10000] [--socketio-steady-seconds 30]
                                       [--socketio-seconds 10]

Creates a scratch database on postgresql://postgres@127.0.0.1:5432 (HES_BENCH_POSTGRES_DSN overrides),
migrates it, registers `--meters` meters under 10 concentrators (one gateway device token each), preloads
`--preload` readings with COPY (4 OBIS codes, quarter-hourly, time-major as a fleet reports), VACUUMs, rolls
up the preload's newest hour (a server that rolled up all along would have its rollups; before each real
`hes serve` starts, what runs without listeners stored is rolled up too, unmeasured, so the server's start-up
catch-up does not rebuild it while being measured), then:

  ceiling   rows/s through `write_readings`' COPY + staging path (100,000-row batches, one commit each) on
            fresh keys, measured again right before the figures of each run; every figure is printed next to
            the latest one, with the ratio where the figure is readings/s too (an MQTT message is one reading);
  sections  each adds its own figures (`--sections`, in order; all of them by default):
            http      the ingest path in-process (Ingestor.submit, no HTTP, no listeners), then
                      POST /api/meters/data-ingestion, batches of 100 and 1,000 readings over `--connections`
                      keep-alive connections (aiohttp; more for small batches, so that as many readings are
                      in flight), first against the ingest endpoint alone (the app without its background
                      services), then against a real `hes serve` (uvicorn, one worker) with its listeners
                      (real-time fan-out, alert rules, consumption rollups). Each run prints CPU seconds of
                      server, client and PostgreSQL (the backends of the bench database, plus the shared WAL
                      writer, checkpointer and background writer);  bench/ingest_http.py
            mqtt      `--mqtt-messages` QoS 1 messages from `--mqtt-meters` meters through a private Mosquitto
                      with deploy/mosquitto's configuration: the publish rate, a raw paho consumer (the library's
                      own rate), HES Core's MqttChannel into a counting sink, into the ingest path on this
                      database (a backlog drained), and live (publishing while it consumes); zero loss checked
                      by counting the stored rows;  bench/ingest_mqtt.py
            socketio  `--socketio-clients` Socket.IO clients of a real `hes serve` (admin token; `all`, area and
                      meter rooms) while it ingests over HTTP, at a steady `--socketio-rate` readings/s for
                      `--socketio-steady-seconds` (long enough to span rollup flushes) and then flat out:
                      deliveries/s and the lag from the readings' storing (`lastSeenAt`) to receipt; then
                      bench/realtime.py's in-process hub against raw python-socketio emit (`--socketio-seconds`
                      per phase, 0 skips it);  bench/ingest_socketio.py
            storage   bytes per stored reading: pg_total_relation_size over the partitions of `readings` / rows.

The database is dropped at the end. Figures, not assertions. Targets (issue 5): >= 150,000 readings/s over
HTTP and >= 0.7 x the ceiling; >= 12,000 MQTT messages/s at QoS 1 with zero loss; >= 10,000 Socket.IO
deliveries/s with p99 lag <= 500 ms; <= 100 bytes per reading.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import scratch_database

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import MeterStatus, Role
from hes.db.store import obis_codes, partitions
from hes.db.store import readings as store
from hes.db.store.readings import ReadingRow
from hes.db.tables import Meter
from hes.obis import ObisCode
from hes.services import device_tokens
from hes.services.consumption_rollup import backfill, catch_up
from hes.services.principal import Principal

# Sections import their shared pieces from `ingest`: run as a script, that is this very module.
sys.modules.setdefault("ingest", sys.modules[__name__])

START = datetime(2025, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
CODES = ("1-0:1.8.0.255", "1-0:2.8.0.255", "1-0:32.7.0.255", "1-0:31.7.0.255")
UNITS = ("Wh", "Wh", "V", "A")  # each code's catalogue unit: values are stored as sent, no conversion
GATEWAYS = 10
CEILING_BATCH = 100_000
INSTALLED = MeterStatus.INSTALLED
_ADMIN = Principal(user_id=0, username="bench", role=Role.ADMIN)


@dataclass
class Bench:
    """The scratch database, its fleet, the time cursor handing out fresh timestamps, and the figures so far."""

    dsn: str
    url: str
    meter_numbers: list[str]
    meter_ids: list[int]
    gateway_tokens: list[str]  # one per concentrator; meter i belongs to concentrator i % GATEWAYS
    obis_ids: dict[str, int]
    next_step: int = 0
    ceiling: float = 0.0  # the latest measurement; every figure is compared with the one just before it
    ceilings: list[float] = field(default_factory=list)
    figures: list[tuple[str, str, float | None, float | None]] = field(default_factory=list)

    def take_steps(self, count: int) -> int:
        """The first of `count` quarter-hours no reading has used yet."""
        first = self.next_step
        self.next_step += count
        return first

    def report(self, label: str, value: float, unit: str = "readings/s", *, ratio: bool = True) -> None:
        """Print a figure next to the latest ceiling (and its ratio to it, unless `ratio` is off: other units)
        and keep it for the summary."""
        shown = f"{value:,.0f} {unit}"
        share = value / self.ceiling if ratio and self.ceiling else None
        self.figures.append((label, shown, self.ceiling or None, share))
        print(_figure_line(*self.figures[-1]))


def _figure_line(label: str, shown: str, ceiling: float | None, share: float | None) -> str:
    line = f"  {label:48} {shown:>22}"
    if ceiling:
        line += f"   ceiling {ceiling:>10,.0f} rows/s"
    if share is not None:
        line += f"   ratio {share:.2f}"
    return line


Section = Callable[[Bench, argparse.Namespace], Awaitable[None]]
SECTIONS = ("http", "mqtt", "socketio", "storage")


async def prepare(url: str, dsn: str, meters: int) -> Bench:
    """Partitions, OBIS codes, meters under GATEWAYS concentrators and a gateway token for each."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        async with sessions() as session:
            await partitions.ensure_monthly_partitions(session, START, months_back=0, months_ahead=1)
            ids = await obis_codes.get_or_create_ids(session, [ObisCode.parse(code) for code in CODES])
            numbers = [f"BM-{index:07d}" for index in range(meters)]
            rows = [
                {
                    "meter_number": number,
                    "concentrator_id": f"GW-{index % GATEWAYS:02d}",
                    "status": MeterStatus.INSTALLED,
                }
                for index, number in enumerate(numbers)
            ]
            result = await session.execute(insert(Meter).returning(Meter.id, sort_by_parameter_order=True), rows)
            meter_ids = list(result.scalars())
            await session.commit()
        tokens = []
        for gateway in range(GATEWAYS):
            async with sessions() as session:
                issued = await device_tokens.issue(
                    session, _ADMIN, meter_ids[gateway], device_tokens.DeviceTokenScope.CONCENTRATOR,
                    device_tokens.DeviceTokenCache(0),
                )  # fmt: skip
            tokens.append(issued.token)
    finally:
        await engine.dispose()
    obis = {code: ids[ObisCode.parse(code)] for code in CODES}
    return Bench(dsn, url, numbers, meter_ids, tokens, obis)


def value_of(meter: int, code: int, step: int) -> float:
    """A plausible value: registers rise, instantaneous values wander a little."""
    if code < 2:
        return round(1_000.0 + meter % 977 + step * 0.25, 3)
    return round((231.0 if code == 2 else 4.0) + (meter * 7 + step) % 13 / 10, 2)


async def preload(bench: Bench, count: int) -> None:
    """`count` readings into `readings` with COPY, time-major, then VACUUM ANALYZE; prints how long."""
    per_step = len(bench.meter_ids) * len(CODES)
    steps = -(-count // per_step)
    first = bench.take_steps(steps)
    obis = list(bench.obis_ids.values())

    def records() -> object:
        for step in range(first, first + steps):
            ts = START + step * STEP
            for meter_id in bench.meter_ids:
                for code, obis_id in enumerate(obis):
                    yield (meter_id, obis_id, 0, ts, value_of(meter_id, code, step))  # flags 0: good, polled

    connection = await asyncpg.connect(bench.dsn)
    try:
        began = time.perf_counter()
        await connection.copy_records_to_table(
            "readings", records=records(), columns=("meter_id", "obis_id", "flags", "ts", "value")
        )
        copied = time.perf_counter() - began
        print(
            f"preload: {steps * per_step:,} readings with COPY in {copied:.1f} s ({steps * per_step / copied:,.0f}/s)"
        )
        began = time.perf_counter()
        await connection.execute("VACUUM ANALYZE readings")
        print(f"preload: VACUUM ANALYZE in {time.perf_counter() - began:.1f} s")
    finally:
        await connection.close()
    # The preload went around the ingest path, so it has no rollups. Its newest hour gets them, as on a server that
    # rolled up all along: the server's start-up catch-up (see `roll_up`) steps on from there.
    newest = START + (first + steps - 1) * STEP
    await _rolled_up(bench, "preload's newest hour", backfill, newest - timedelta(hours=1), newest, bench.meter_ids)


async def roll_up(bench: Bench) -> None:
    """Roll up what was stored around the listeners (runs of the ingest path or endpoint alone) before a real
    `hes serve` starts: its start-up catch-up would otherwise rebuild all of it while being measured."""
    await _rolled_up(bench, "what runs without listeners stored", catch_up)


async def _rolled_up(bench: Bench, what: str, rebuild: Callable[..., Awaitable[int]], *args: object) -> None:
    engine = make_engine(bench.url)
    try:
        began = time.perf_counter()
        written = await rebuild(make_session_factory(engine), *args)
        print(f"  rollups of {what} (not measured): {written:,} hour rows in {time.perf_counter() - began:.1f} s")
    finally:
        await engine.dispose()


async def copy_ceiling(bench: Bench, rows_wanted: int = 1_000_000) -> None:
    """Rows/s through `write_readings`' COPY + staging path on fresh keys (rows built before timing).

    Measured again right before each figure (`Bench.report` divides by the latest): the table grows by
    millions of rows during the run, and other work on the machine comes and goes.
    """
    per_step = len(bench.meter_ids) * len(CODES)
    steps = max(1, rows_wanted // per_step)
    first = bench.take_steps(steps)
    obis = list(bench.obis_ids.values())
    rows = [
        ReadingRow(meter_id, obis_id, START + step * STEP, value_of(meter_id, code, step))
        for step in range(first, first + steps)
        for meter_id in bench.meter_ids
        for code, obis_id in enumerate(obis)
    ]
    engine = make_engine(bench.url)
    sessions = make_session_factory(engine)
    try:
        began = time.perf_counter()
        stored = 0
        for offset in range(0, len(rows), CEILING_BATCH):
            async with sessions() as session:
                stored += await store.write_readings(session, rows[offset : offset + CEILING_BATCH])
                await session.commit()
        bench.ceiling = stored / (time.perf_counter() - began)
    finally:
        await engine.dispose()
    print(f"  COPY-stage ceiling: {stored:,} rows through write_readings in {CEILING_BATCH:,}-row batches: "
          f"{bench.ceiling:,.0f} rows/s")  # fmt: skip
    bench.ceilings.append(bench.ceiling)


async def storage(bench: Bench, _args: argparse.Namespace) -> None:
    """Bytes per stored reading, over every partition of `readings`, after VACUUM ANALYZE."""
    connection = await asyncpg.connect(bench.dsn)
    try:
        await connection.execute("VACUUM ANALYZE readings")
        total = await connection.fetchval(
            "SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = 'readings'::regclass"
        )
        rows = await connection.fetchval("SELECT count(*) FROM readings")
    finally:
        await connection.close()
    print(f"storage: {rows:,} readings in {total / 2**20:,.0f} MiB (heap + indexes, every partition)")
    bench.report("bytes per stored reading", total / rows, "bytes", ratio=False)


def sections() -> dict[str, Section]:
    """Each section by name (imported here: the section modules import their shared pieces from this one)."""
    import ingest_http
    import ingest_mqtt
    import ingest_socketio

    found: dict[str, Section] = {
        "http": ingest_http.section,
        "mqtt": ingest_mqtt.section,
        "socketio": ingest_socketio.section,
        "storage": storage,
    }
    assert tuple(found) == SECTIONS
    return found


async def run(bench_args: argparse.Namespace, url: str, dsn: str) -> None:
    """Every measurement, printed as it completes, then the summary."""
    chosen = sections()
    if bench_args.batch_readings:
        os.environ["HES_INGEST_BATCH_READINGS"] = str(bench_args.batch_readings)  # the server's, via its env
    bench = await prepare(url, dsn, bench_args.meters)
    await preload(bench, bench_args.preload)
    for name in bench_args.sections:
        print(f"\n[{name}]")
        await chosen[name](bench, bench_args)
    print("\nsummary (ceiling: the COPY-stage rate measured just before the figure, same run; ratio = figure / it)")
    print(
        f"  {'COPY-stage ceiling, each measurement':48} " + ", ".join(f"{c:,.0f}" for c in bench.ceilings) + " rows/s"
    )
    for figure in bench.figures:
        print(_figure_line(*figure))


def main() -> None:
    """Parse arguments, create the scratch database, measure, drop it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", type=int, default=20_000_000, help="readings stored before measuring")
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="which sections to run, in order"
    )
    parser.add_argument(
        "--connections",
        type=int,
        nargs=2,
        default=[256, 64],
        metavar=("FOR_100", "FOR_1000"),
        help="HTTP client connections (devices sending at once) for batches of 100 and of 1,000",
    )
    parser.add_argument("--http-readings", type=int, default=1_500_000, help="readings per HTTP batch size")
    parser.add_argument("--py-spy", help="path of py-spy: record the server's stacks during each HTTP run")
    parser.add_argument("--batch-readings", type=int, help="HES_INGEST_BATCH_READINGS for the server and in-process")
    parser.add_argument("--mqtt-messages", type=int, default=100_000, help="QoS 1 messages per MQTT phase")
    parser.add_argument("--mqtt-meters", type=int, default=8, help="meters publishing over MQTT (one connection each)")
    parser.add_argument("--socketio-clients", type=int, default=200)
    parser.add_argument(
        "--socketio-rate", type=float, default=10_000.0, help="readings/s of the steady HTTP run the clients watch"
    )
    parser.add_argument(
        "--socketio-steady-seconds", type=float, default=30.0, help="length of the steady HTTP run the clients watch"
    )
    parser.add_argument(
        "--socketio-seconds", type=float, default=10.0, help="each phase of the hub vs raw emit comparison; 0 skips it"
    )
    args = parser.parse_args()

    with scratch_database("ingest") as database, tempfile.TemporaryDirectory(prefix="hes-bench-ingest-") as var_dir:
        args.var_dir = var_dir
        asyncio.run(run(args, database.url, database.dsn))


if __name__ == "__main__":
    main()
