"""Collection at scale: a simulated fleet at 2G latency, collected through the real dispatcher and ingest path.

Run:  .venv/bin/python bench/collect.py [--meters 3000] [--latency-ms 300] [--max-sessions 1000] [--rate 400]
                                       [--brand hexing] [--auth none|lls|hls] [--profile FILE] [--gc-threshold N]

The simulator runs as a separate `hes simulate` process (its CPU is its own) with `--latency-ms` before each
answer, wrapper meters each on their own loopback port. This process is HES Core: a temporary PostgreSQL database
(migrated, dropped at the end, as the tests do), the meters registered with the simulator's secrets file, a
Runtime (its Ingestor) and a Connectivity with the given limits. It then collects from every meter, in one wave,
the registers (clock and the brand's main registers) and one day of load profile (4 channels x 96 intervals),
exactly as polling would: one session per meter, the values stored through the ingest path.

Printed: meters collected per second (first connection to last job done), peak concurrent sessions, readings
stored, failed jobs, and CPU milliseconds per meter of this process (time.process_time, which includes the ingest
writers and the SQLAlchemy/asyncpg side of storing; PostgreSQL's own CPU is not counted) and of the simulator
process (/proc/<pid>/stat utime + stime). `--profile FILE` writes a cProfile of the collection to FILE and prints
its top functions, to see where the HES's CPU goes. `--gc-threshold` (default 100,000, start-up heap frozen; 0 for
Python's stock 700) is the garbage collector setting this process runs with. Linux only (/proc). Figures, not
assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import Scratch, scratch_database

from hes.config import Environment, Settings
from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.service import Connectivity
from hes.connectivity.settings import ConnectivitySettings
from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, MeterStatus
from hes.db.tables import Meter
from hes.runtime import Runtime

_TICKS = os.sysconf("SC_CLK_TCK")
_SPARE_FILES = 256


def _cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _postgres_backends(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `database` ("postgres: user database host ...")."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                found[int(entry.name)] = _cpu_seconds_of(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
    return found


async def _postgres_cpu(database: str, seen: dict[int, tuple[float, float]], period: float = 2.0) -> None:
    """Sample the database's backends every `period`: first and latest CPU seconds of each (new ones from 0)."""
    first_round = True
    while True:
        for pid, cpu in _postgres_backends(database).items():
            start = seen[pid][0] if pid in seen else (cpu if first_round else 0.0)
            seen[pid] = (start, cpu)
        first_round = False
        await asyncio.sleep(period)


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot (/proc/stat)."""
    fields = [float(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def _loop_lag(samples: list[float], period: float = 0.05) -> None:
    """How late the event loop wakes a task that sleeps `period` (a loop busy with sessions wakes it late)."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(period)
        samples.append(loop.time() - before - period)


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _start_simulator(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    secrets_file = workdir / "secrets.json"
    command = [
        str(Path(sys.executable).with_name("hes")),
        "simulate",
        "--meters", str(args.meters),
        "--brand", args.brand,
        "--auth", args.auth,
        "--transport", "wrapper",
        "--base-port", "0",
        "--latency-ms", str(args.latency_ms),
        "--max-connections", str(args.max_sessions + 100),
        "--secrets-json", str(secrets_file),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while not secrets_file.exists():
        if process.poll() is not None:
            raise SystemExit(f"hes simulate ended: {process.stderr.read().decode() if process.stderr else ''}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("hes simulate did not start within 10 minutes")
        time.sleep(0.2)
    return process, json.loads(secrets_file.read_text())


async def _register(runtime: Runtime, document: dict[str, Any], brand: str) -> list[int]:
    box = runtime.secret_box
    meters = []
    for entry in document["meters"]:
        dlms = entry["dlms"]
        password, key, cipher = dlms["password"], dlms["authenticationKey"], dlms["blockCipherKey"]
        meters.append(
            Meter(
                meter_number=entry["meterNumber"],
                brand=brand,
                status=MeterStatus.INSTALLED,
                connection_mode=ConnectionMode.OUTBOUND,
                ip_address=entry["ipAddress"],
                port=entry["port"],
                dlms_transport=DlmsTransport(dlms["transport"]),
                dlms_client_address=dlms["clientAddress"],
                dlms_server_address=dlms["serverAddress"],
                dlms_authentication=DlmsAuthentication(dlms["authentication"]),
                dlms_system_title=dlms["systemTitle"],
                dlms_password_enc=box.seal(password.encode()) if password else None,
                dlms_authentication_key_enc=box.seal(bytes.fromhex(key)) if key else None,
                dlms_block_cipher_key_enc=box.seal(bytes.fromhex(cipher)) if cipher else None,
            )
        )
    async with runtime.sessions() as session:
        session.add_all(meters)
        await session.commit()
        return [meter.id for meter in meters]


async def _collect(
    args: argparse.Namespace, runtime: Runtime, meter_ids: list[int], simulator_pid: int, database: str
) -> None:
    settings = ConnectivitySettings(
        max_sessions=args.max_sessions,
        max_sessions_per_target=4,
        connections_per_second=args.rate,
        connection_burst=max(1, int(args.rate)),
        connect_timeout=30.0,
        response_timeout=60.0,
        release_timeout=10.0,
        retries=2,
        backoff=1.0,
    )
    connectivity = Connectivity(runtime.sessions, runtime.ingestor, runtime.secret_box, settings)
    await connectivity.start()
    kinds = [CollectionKind.REGISTERS, CollectionKind.LOAD_PROFILE]
    start = datetime.now(UTC) - timedelta(days=1)
    profiler = cProfile.Profile() if args.profile else None
    if args.gc_threshold:
        # Fewer, cheaper collections: a wave allocates millions of short-lived containers, and every gen-2 pass
        # over the long-lived heap stalls all 1,000 sessions (stock: p99 loop lag 1-2 s on a loaded box).
        gc.collect()
        gc.freeze()
        gc.set_threshold(args.gc_threshold, 50, 100)
    simulator_before, machine_before = _cpu_seconds_of(simulator_pid), _machine_busy()
    lags: list[float] = []
    backends: dict[int, tuple[float, float]] = {}
    watchers = [asyncio.create_task(_loop_lag(lags)), asyncio.create_task(_postgres_cpu(database, backends))]
    await asyncio.sleep(0)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    if profiler is not None:
        profiler.enable()
    handles = await connectivity.collect(meter_ids, kinds, start=start)
    outcomes = await asyncio.gather(*(handle.result() for handle in handles), return_exceptions=True)
    wall = time.monotonic() - wall_before
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - cpu_before
    simulator_cpu = _cpu_seconds_of(simulator_pid) - simulator_before
    for pid, seconds in _postgres_backends(database).items():
        backends[pid] = (backends[pid][0] if pid in backends else 0.0, seconds)
    postgres_cpu = sum(last - first for first, last in backends.values())
    machine_after = _machine_busy()
    busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1.0)
    for watcher in watchers:
        watcher.cancel()
    lags.sort()
    stats = connectivity.stats
    await connectivity.stop()
    failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    stored = sum(getattr(outcome, "readings", 0) for outcome in outcomes)
    failed_meters = {handle.meter_id for handle, outcome in zip(handles, outcomes, strict=True) if outcome in failed}
    collected = len(meter_ids) - len(failed_meters)
    meters = len(meter_ids)
    print(f"meters                      {meters} ({args.brand}, auth {args.auth}, {args.latency_ms} ms latency)")
    print(f"collected                   {collected} meters, {len(failed)} jobs failed, {stored} readings stored")
    print(f"wall time                   {wall:.1f} s")
    print(f"meters collected per second {collected / wall:.1f}")
    print(f"peak concurrent sessions    {stats.peak_sessions} (limit {args.max_sessions}, {args.rate:g} connections/s)")
    collector = f"threshold {args.gc_threshold}, start-up heap frozen" if args.gc_threshold else "stock"
    print(f"garbage collector           {collector}")
    print(f"HES CPU per meter           {cpu / meters * 1000:.1f} ms  (this process: DLMS, dispatcher, ingest)")
    print(f"simulator CPU per meter     {simulator_cpu / meters * 1000:.1f} ms  (hes simulate, pid {simulator_pid})")
    print(f"PostgreSQL CPU per meter    {postgres_cpu / meters * 1000:.1f} ms  (the backends of the bench database)")
    print(f"machine CPU busy            {busy * 100:.0f} % of {os.cpu_count()} cores (every process, others too)")
    if lags:
        p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        figures = (("p50", p50), ("p99", p99), ("max", lags[-1]))
        print(f"HES event loop lag          {', '.join(f'{name} {value * 1000:.0f} ms' for name, value in figures)}")
    if failed:
        kinds_failed: dict[str, int] = {}
        for error in failed:
            kinds_failed[type(error).__name__] = kinds_failed.get(type(error).__name__, 0) + 1
        print(f"failures                    {kinds_failed}")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


async def _run(args: argparse.Namespace, document: dict[str, Any], simulator_pid: int, database: Scratch) -> None:
    with tempfile.TemporaryDirectory() as var:
        settings = Settings(
            hes_env=Environment.TEST,
            database_url=database.url,
            HES_VAR_DIR=Path(var),
            jwt_secret=secrets.token_hex(32),
            HES_DATA_KEY=Fernet.generate_key().decode(),
            _env_file=None,
        )
        runtime = Runtime.from_settings(settings)
        try:
            meter_ids = await _register(runtime, document, args.brand)
            await _collect(args, runtime, meter_ids, simulator_pid, database.name)
        finally:
            await runtime.close()


def main() -> None:
    """Parse the options, start the simulator, run the collection, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=3000)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--max-sessions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=400.0, help="new connections per second")
    parser.add_argument("--brand", default="hexing", choices=["hexing", "idis"])
    parser.add_argument("--auth", default="none", choices=["none", "lls", "hls"])
    parser.add_argument("--profile", help="write a cProfile of the collection to this file")
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=100_000,
        help="first-generation GC threshold of the HES process, with the start-up heap frozen (0: Python's stock GC)",
    )
    args = parser.parse_args()
    _raise_open_files(args.max_sessions * 2 + _SPARE_FILES)
    with tempfile.TemporaryDirectory() as workdir:
        simulator, document = _start_simulator(args, Path(workdir))
        try:
            with scratch_database("collect") as database:
                asyncio.run(_run(args, document, simulator.pid, database))
        finally:
            simulator.terminate()
            try:
                simulator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                simulator.kill()


if __name__ == "__main__":
    main()
