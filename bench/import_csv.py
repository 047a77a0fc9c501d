"""CSV meter import over HTTP on PostgreSQL: rows/s, wall time and server peak RSS, next to a raw COPY ceiling.

Run:  .venv/bin/python bench/import_csv.py [--rows 100000]

Creates a scratch database on postgresql://postgres@127.0.0.1:5432 (HES_BENCH_POSTGRES_DSN overrides), migrates
it, adds a few areas, customers and SIM cards, writes a meters CSV to a temporary file (a fifth of the rows name
a customer, a fifth a SIM card, half an IP address), starts HES Core with uvicorn in a subprocess on a free
loopback port, signs in as the first administrator and uploads the file as the web console does (multipart,
streamed from disk). The ceiling is the same rows copied with asyncpg `copy_records_to_table` into an
unconstrained scratch table. Drops the database at the end. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_database

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import CustomerType, SimStatus
from hes.db.store import imports as store
from hes.db.tables import Area
from hes.services.imports import TEMPLATES, ImportEntity

AREAS = 5
CUSTOMERS = 1_000
HEADER = TEMPLATES[ImportEntity.METERS].headers
CEILING_TABLE = "bench_meters_copy"


def meter_rows(rows: int) -> Iterator[list[str]]:
    """The benchmark's meter rows, in template column order."""
    sims = rows // 5
    for n in range(rows):
        area = f"AREA-{n % AREAS}" if n % 2 else f"Area {n % AREAS}"  # by code and by name, as people write
        yield [
            f"MTR{n:07d}",
            f"DCU-{n % 97:03d}",
            ("single-phase", "Three Phase", "3P", "ct")[n % 4],
            ("Hexing", "Hexcell")[n % 2],
            "HXE110",
            "V1.02.07",
            f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" if n % 2 == 0 else "",
            "4059" if n % 2 == 0 else "",
            area,
            f"ACC-{n % CUSTOMERS:05d}" if n % 5 == 0 else "",
            f"SIM-{n:07d}" if n < sims else "",
        ]


def write_csv(path: Path, rows: int) -> int:
    """Write the meters CSV; its size in bytes."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(meter_rows(rows))
    return path.stat().st_size


async def seed(url: str, sims: int) -> None:
    """Areas, customers and SIM cards the meters refer to (not timed)."""
    engine = make_engine(url)
    at = datetime.now(UTC)
    try:
        async with make_session_factory(engine)() as session:
            session.add_all(Area(code=f"AREA-{n}", name=f"Area {n}") for n in range(AREAS))
            await session.flush()
            customers = [
                store.NewCustomer(
                    f"ACC-{n:05d}", f"Customer {n}", None, None, None, None, CustomerType.RESIDENTIAL, None, None
                )
                for n in range(CUSTOMERS)
            ]
            await store.insert_customers(session, customers, at)
            for start in range(0, sims, 5_000):
                batch = [
                    store.NewSimCard(
                        f"SIM-{n:07d}",
                        f"8923401{n:012d}",
                        None,
                        None,
                        "MTN",
                        SimStatus.AVAILABLE,
                        None,
                        None,
                        None,
                        None,
                    )
                    for n in range(start, min(start + 5_000, sims))
                ]
                await store.insert_sim_cards(session, batch, at)
            await session.commit()
    finally:
        await engine.dispose()


async def counts(dsn: str) -> dict[str, int]:
    """What the import left in the database."""
    connection = await asyncpg.connect(dsn)
    try:
        return {
            "meters": await connection.fetchval("SELECT count(*) FROM meters"),
            "with customer": await connection.fetchval("SELECT count(*) FROM meters WHERE customer_id IS NOT NULL"),
            "with SIM": await connection.fetchval("SELECT count(*) FROM meters WHERE sim_card_id IS NOT NULL"),
            "history rows": await connection.fetchval("SELECT count(*) FROM meter_assignments"),
            "active SIMs": await connection.fetchval("SELECT count(*) FROM sim_cards WHERE status = 'active'"),
        }
    finally:
        await connection.close()


async def copy_ceiling(dsn: str, rows: int) -> float:
    """Seconds to COPY the same rows into an unconstrained table (rows built in memory first, not timed)."""
    records = [tuple(row) for row in meter_rows(rows)]
    connection = await asyncpg.connect(dsn)
    try:
        columns = ", ".join(f'"{name}" text' for name in HEADER)
        await connection.execute(f"CREATE TABLE {CEILING_TABLE} ({columns})")
        started = time.perf_counter()
        await connection.copy_records_to_table(CEILING_TABLE, records=records, columns=list(HEADER))
        return time.perf_counter() - started
    finally:
        await connection.close()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def memory_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status (VmRSS: now, VmHWM: peak since start), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class RssSampler:
    """Samples a process's VmRSS in a background thread: the import's own peak, apart from start-up's."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, memory_mib(self.pid, "VmRSS"))


def start_server(database_url: str, password: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """HES Core under uvicorn on a free loopback port; its base URL once /health answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HES_ADMIN_PASSWORD": password,
        "HES_VAR_DIR": str(workdir / "var"),
        "HES_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "hes.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = (workdir / "server.log").open("wb")
    # Run from the scratch directory so a developer's .env is not picked up.
    server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {(workdir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("server did not answer /health within 60 s")


def upload(base: str, password: str, path: Path) -> tuple[float, dict[str, object]]:
    """Sign in and upload the file as multipart (streamed from disk); seconds and the report."""
    with httpx.Client(base_url=base, timeout=httpx.Timeout(600, connect=10)) as client:
        login = client.post("/api/auth/login", json={"username": "admin", "password": password})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        with path.open("rb") as file:
            started = time.perf_counter()
            answer = client.post("/api/meters/import", files={"file": (path.name, file, "text/csv")}, headers=headers)
            elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"import answered {answer.status_code}: {answer.text[:2000]}")
    return elapsed, answer.json()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    rows: int = args.rows

    password = secrets.token_urlsafe(18)
    server: subprocess.Popen[bytes] | None = None
    with scratch_database("import") as database, tempfile.TemporaryDirectory(prefix="hes-bench-import-") as work:
        try:
            workdir = Path(work)
            asyncio.run(seed(database.url, rows // 5))
            csv_path = workdir / "meters.csv"
            size = write_csv(csv_path, rows)
            server, base = start_server(database.dsn, password, workdir)
            rss_before = memory_mib(server.pid, "VmRSS")
            with RssSampler(server.pid) as sampler:
                elapsed, report = upload(base, password, csv_path)
            rss_peak = memory_mib(server.pid, "VmHWM")
            server.terminate()
            server.wait(timeout=30)
            stored = asyncio.run(counts(database.dsn))
            ceiling = asyncio.run(copy_ceiling(database.dsn, rows))
        finally:
            if server is not None and server.poll() is None:
                server.kill()

    rate, ceiling_rate = rows / elapsed, rows / ceiling
    print(f"HES Core CSV import benchmark: {rows:,} meter rows, PostgreSQL, {os.cpu_count()} CPUs")
    print(f"  file                {size / 1_048_576:.1f} MiB ({rows // 5:,} rows name a customer, {rows // 5:,} a SIM)")
    counted = f"totalRows {report['totalRows']:,}, imported {report['imported']:,}, failed {report['failed']}"
    print(f"  report              {counted}")
    print("  stored              " + ", ".join(f"{label} {value:,}" for label, value in stored.items()))
    print(f"  HTTP import         {elapsed:.2f} s wall, {rate:,.0f} rows/s (multipart upload, validate, link, commit)")
    print(
        f"  server peak RSS     {rss_peak:.0f} MiB (VmHWM, start-up included); during the upload "
        f"{sampler.peak:.0f} MiB at most (VmRSS every 50 ms), {rss_before:.0f} MiB before it"
    )
    how = "asyncpg copy_records_to_table, unconstrained table"
    print(f"  COPY ceiling        {ceiling:.2f} s, {ceiling_rate:,.0f} rows/s ({how})")
    print(f"  ratio               import is {ceiling_rate / rate:.0f}x slower than the COPY ceiling")


if __name__ == "__main__":
    main()
