"""The HTTP section of bench/ingest.py: the ingest path in-process, then POST /api/meters/data-ingestion.

Run through bench/ingest.py (it prepares the database, the fleet and the ceiling these figures are compared with).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import msgspec

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import ReadingQuality, ReadingSource
from hes.ingest.ingestor import Ingestor, IngestSettings
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.obis_catalogue import ObisCatalogue
from hes.ingest.records import ReadingColumns
from hes.obis import ObisCode

if TYPE_CHECKING:
    from ingest import Bench

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Body:
    """One request: the gateway token and the encoded body."""

    token: str
    payload: bytes
    readings: int


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def postgres_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving `database`, plus WAL writer, checkpointer and background
    writer (shared with any other work on the server, but mostly busy with ours while we write)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if title.startswith("postgres:") and (
                    f" {database} " in title or any(part in title for part in _SHARED_PROCESSES)
                ):
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


_SHARED_PROCESSES = (": checkpointer", ": background writer", ": walwriter")


def _gateway_chunks(bench: Bench, size: int) -> list[tuple[int, list[int]]]:
    """(gateway, meter indexes) groups of `size` readings' worth of meters, each within one gateway."""
    per_body = max(1, size // 4)
    groups: list[tuple[int, list[int]]] = []
    for gateway in range(len(bench.gateway_tokens)):
        members = list(range(gateway, len(bench.meter_ids), len(bench.gateway_tokens)))
        groups += [(gateway, members[first : first + per_body]) for first in range(0, len(members), per_body)]
    return groups


def bodies_of(bench: Bench, size: int, first: int, steps: int) -> list[Body]:
    """The request bodies of `steps` quarter-hours of the whole fleet from step `first`, `size` readings each."""
    from ingest import CODES, START, STEP, UNITS, value_of

    encoder = msgspec.json.Encoder()
    groups = _gateway_chunks(bench, size)
    bodies: list[Body] = []
    for step in range(first, first + steps):
        stamp = (START + step * STEP).isoformat().replace("+00:00", "Z")
        for gateway, members in groups:
            readings = [
                {
                    "meterNumber": bench.meter_numbers[index],
                    "obis": code,
                    "timestamp": stamp,
                    "value": value_of(bench.meter_ids[index], position, step),
                    "unit": UNITS[position],
                }
                for index in members
                for position, code in enumerate(CODES)
            ]
            bodies.append(Body(bench.gateway_tokens[gateway], encoder.encode({"readings": readings}), len(readings)))
    return bodies


async def in_process(bench: Bench, args: argparse.Namespace, readings: int = 1_000_000, size: int = 1_000) -> None:
    """The ingest path without HTTP: `Ingestor.submit` of column batches from 64 concurrent senders."""
    from ingest import CODES, START, STEP, UNITS, value_of

    per_step = len(bench.meter_ids) * len(CODES)
    steps = max(1, readings // per_step)
    first = bench.take_steps(steps)
    codes = [ObisCode.parse(code) for code in CODES]
    batches: list[ReadingColumns] = []
    for step in range(first, first + steps):
        ts = START + step * STEP
        for _, members in _gateway_chunks(bench, size):
            meter_ids = [bench.meter_ids[index] for index in members for _ in CODES]
            count = len(meter_ids)
            batches.append(
                ReadingColumns(
                    meter_ids=meter_ids,
                    codes=codes,
                    code_index=list(range(len(CODES))) * len(members),
                    timestamps=[ts] * count,
                    values=[value_of(bench.meter_ids[i], c, step) for i in members for c in range(len(CODES))],
                    units=list(UNITS) * len(members),
                    qualities=[ReadingQuality.GOOD] * count,
                    sources=[ReadingSource.HTTP] * count,
                )
            )
    engine = make_engine(bench.url)
    sessions = make_session_factory(engine)
    ingestor = Ingestor(sessions, ingest_settings(args), MeterDirectory(sessions), ObisCatalogue(sessions))
    await ingestor.directory.by_ids(bench.meter_ids)
    pending = iter(batches)
    stored = 0

    async def sender() -> None:
        nonlocal stored
        for columns in pending:
            receipt = await ingestor.submit(columns)
            stored += receipt.accepted + receipt.duplicates

    try:
        began = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(sender() for _ in range(64)))
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu
    finally:
        await ingestor.close()
        await engine.dispose()
    print(f"  in-process: {stored:,} readings in {len(batches):,} submissions of {size:,}; "
          f"{cpu:.1f} CPU s in this process ({cpu / stored * 1e6:.2f} us per reading)")  # fmt: skip
    bench.report(f"ingest path in-process, submissions of {size:,}", stored / elapsed)


def ingest_settings(args: argparse.Namespace) -> IngestSettings:
    """The ingest settings of this run: the defaults, with `--batch-readings` if given."""
    defaults = IngestSettings()
    return replace(defaults, batch_readings=args.batch_readings or defaults.batch_readings)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The ingest endpoint alone: `hes serve`'s app with the background services (real-time fan-out, alert rules,
# consumption rollups, jobs, MQTT: the ingest listeners of other issues) left out, to tell their cost apart.
_BARE_SERVER = """
import sys, uvicorn
import hes.background

async def _nothing(self): pass

hes.background.BackgroundServices.start = _nothing
hes.background.BackgroundServices.stop = _nothing
from hes.app import create_app
from hes.config import Settings
uvicorn.run(create_app(Settings()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", proxy_headers=True)
"""


def start_server(bench: Bench, var_dir: str, *, bare: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """`hes serve` (uvicorn, one worker) on the bench database, or with `bare` the ingest endpoint alone."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": bench.dsn,
        "HES_ENV": "test",
        "HES_VAR_DIR": var_dir,
        "HES_LOG_LEVEL": "WARNING",
        "METER_PORT": "0",  # the dial-in listener on any free port: 4059 may be taken on a shared machine
    }
    command = [str(Path(sys.executable).parent / "hes"), "serve", "--no-migrate", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    if bare:
        command = [sys.executable, "-c", _BARE_SERVER, str(port)]
    log = open(Path(var_dir) / "server.log", "ab")  # noqa: SIM115 (the child holds it)
    process = subprocess.Popen(command, env=env, cwd=var_dir, stdout=log, stderr=subprocess.STDOUT)
    return process, port


def server_log_tail(var_dir: str, lines: int = 1) -> str:
    """The last lines the servers started in `var_dir` logged (why one did not start)."""
    return "\n".join((Path(var_dir) / "server.log").read_text(errors="replace").strip().splitlines()[-lines:])


async def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll /health until the server answers."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"hes serve exited with {process.returncode}")
            try:
                async with client.get(f"http://127.0.0.1:{port}/health") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("hes serve did not become ready")


async def post_all(port: int, bodies: list[Body], connections: int) -> tuple[int, int, list[float]]:
    """Send every body over `connections` keep-alive connections; returns (readings stored, 503s, latencies)."""
    url = f"http://127.0.0.1:{port}/api/meters/data-ingestion"
    queue = list(reversed(bodies))
    stored = refused = 0
    latencies: list[float] = []
    decoder = msgspec.json.Decoder()

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal stored, refused
        while queue:
            body = queue.pop()
            headers = {"Authorization": f"Bearer {body.token}", "Content-Type": "application/json"}
            began = time.perf_counter()
            async with client.post(url, data=body.payload, headers=headers) as answer:
                content = await answer.read()
            latencies.append(time.perf_counter() - began)
            if answer.status == 503:
                refused += 1
                queue.append(body)
                await asyncio.sleep(0.05)
                continue
            if answer.status != 202:
                raise RuntimeError(f"{answer.status}: {content[:300]!r}")
            result = decoder.decode(content)
            if result["rejected"]:
                raise RuntimeError(f"rejected items: {result['rejected'][:3]}")
            stored += result["accepted"] + result["duplicates"]

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    return stored, refused, latencies


async def http_run(
    bench: Bench,
    args: argparse.Namespace,
    server: tuple[subprocess.Popen[bytes], int, str],
    size: int,
    connections: int,
) -> None:
    """One batch size: a warm-up step (fills the server's meter and token caches), then the timed bodies."""
    process, port, variant = server
    per_step = len(bench.meter_ids) * 4
    steps = max(1, args.http_readings // per_step)
    first = bench.take_steps(steps + 1)
    await post_all(port, bodies_of(bench, size, first, 1), connections)
    bodies = bodies_of(bench, size, first + 1, steps)
    database = bench.dsn.rsplit("/", 1)[1]
    writes = await _batch_writes(port)
    server_cpu, client_cpu, database_cpu = cpu_seconds(process.pid), time.process_time(), postgres_cpu(database)
    profiler = _profile(process.pid, args, f"{variant}-{size}")
    began = time.perf_counter()
    stored, refused, latencies = await post_all(port, bodies, connections)
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)
    writes = (await _batch_writes(port)) - writes
    writers = ingest_settings(args).writers
    server_cpu = cpu_seconds(process.pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    database_cpu = postgres_cpu(database) - database_cpu
    latencies.sort()
    sent = sum(body.readings for body in bodies)
    print(f"  {variant}, batches of {size:,}, {connections} connections: {len(bodies):,} requests, {sent:,} readings, "
          f"{stored:,} stored "
          f"({'none lost' if stored == sent else f'{sent - stored:,} MISSING'}), {refused} answered 503 (re-sent); "
          f"{len(bodies) / elapsed:,.0f} requests/s, latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms")  # fmt: skip
    postgres = f"postgres {database_cpu:.1f} ({database_cpu / sent * 1e6:.2f} us/reading)"
    if database_cpu < 0:  # backends of the database closed during the run take their CPU time with them
        postgres = "postgres n/a (backends closed during the run)"
    print(f"    CPU seconds over {elapsed:.1f} s: server {server_cpu:.1f} ({server_cpu / sent * 1e6:.2f} us/reading), "
          f"client {client_cpu:.1f}, {postgres}")  # fmt: skip
    print(f"    ingest writes: {writes.batches:,} transactions of {sent / max(writes.batches, 1):,.0f} readings on "
          f"average, {writes.seconds / max(writes.batches, 1) * 1000:.0f} ms each; the "
          f"{writers} writers busy {writes.seconds / (elapsed * writers):.0%} of the run")  # fmt: skip
    bench.report(f"HTTP, batches of {size:,} ({variant})", stored / elapsed)


@dataclass(frozen=True)
class BatchWrites:
    """The server's ingest transactions so far (`hes_ingest_batch_seconds` on its /metrics)."""

    batches: float
    seconds: float

    def __sub__(self, other: BatchWrites) -> BatchWrites:
        return BatchWrites(self.batches - other.batches, self.seconds - other.seconds)


async def _batch_writes(port: int) -> BatchWrites:
    async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/metrics") as answer:
        text = await answer.text()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("hes_ingest_batch_seconds_"))
    return BatchWrites(float(samples["hes_ingest_batch_seconds_count"]), float(samples["hes_ingest_batch_seconds_sum"]))


def _profile(pid: int, args: argparse.Namespace, run: str) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server while it runs (`--py-spy PATH`): where the server's time goes."""
    if not args.py_spy:
        return None
    output = Path(args.var_dir).parent / f"hes-ingest-server-{run}.txt"
    command = [
        args.py_spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--output",
        str(output),
        "--rate",
        "250",
        "--nonblocking",
    ]
    print(f"    py-spy: collapsed stacks of the server in {output}")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def section(bench: Bench, args: argparse.Namespace) -> None:
    """In-process ingest, then HTTP with batches of 100 and 1,000."""
    defaults = ingest_settings(args)
    print(f"  ingest settings (the server's too): batches of up to {defaults.batch_readings:,} readings, "
          f"{defaults.writers} writers, linger {defaults.linger * 1000:.0f} ms")  # fmt: skip
    from ingest import copy_ceiling, roll_up

    await copy_ceiling(bench)
    await in_process(bench, args)
    for variant, bare in (("endpoint alone", True), ("hes serve", False)):
        if not bare:
            await roll_up(bench)
        process, port = start_server(bench, args.var_dir, bare=bare)
        try:
            try:
                await wait_ready(port, process)
            except RuntimeError as error:  # report what was measured, and why the rest was not
                print(f"  {variant}: not measured, the server did not start ({error}): {server_log_tail(args.var_dir)}")
                continue
            for size, connections in zip((100, 1_000), args.connections, strict=True):
                await copy_ceiling(bench)
                await http_run(bench, args, (process, port, variant), size, connections)
        finally:
            process.terminate()
            process.wait(timeout=60)
