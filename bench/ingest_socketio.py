"""The Socket.IO section of bench/ingest.py: what a real `hes serve` delivers to Socket.IO clients while it ingests.

Run through bench/ingest.py (`--sections socketio`; it prepares the database, the fleet and the COPY-stage ceiling).
Places the fleet in AREAS areas, creates an admin account, starts `hes serve` on the bench database (the HTTP
section's start-up) and connects `--socketio-clients` python-socketio clients in a child process, so their decoding
does not share an interpreter with the HTTP sender: 5 % watch `all`, 50 % one area room each, the rest 5 meter rooms
each (bench/realtime.py's mix). Twice, each with a server of its own: HTTP bodies of 1,000 readings sent at a steady
`--socketio-rate` readings/s for `--socketio-steady-seconds` (the lag a control room sees at that load), then the
HTTP section's run flat out (at saturation). For as long as the clients receive `meter-reading-update`, it counts:

  deliveries/s  one meter's update arriving at one client (one message carries every meter of its room's tick);
  lag           per delivery, receipt minus the meter's `lastSeenAt`: when the ingest path began the transaction
                that stored its newest readings (server clock, same host). It spans the commit, the hub's coalescing
                (at most one update per meter per second) and tick, the emit and the receipt. Also printed: from
                the emit (`sentAt`) to receipt.

Then bench/realtime.py's comparison, in a server of its own (SQLite, the hub fed in-process, no ingest): the hub's
deliveries/s next to python-socketio's own emit path at one meter per event, the baseline (`--socketio-seconds` per
phase, 0 skips it). Target (issue 5): >= 10,000 deliveries/s with p99 lag <= 500 ms while ingesting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from realtime import (
    Phases,
    admin_token,
    area_code,
    client_rooms,
    compare,
    connect_clients,
    parser,
    percentiles,
    print_comparison,
    until_quiet,
)
from sqlalchemy import insert, update

from hes.config import Environment, Settings
from hes.db.engine import make_engine, make_session_factory
from hes.db.tables import Area, Meter

if TYPE_CHECKING:
    from ingest import Bench
    from ingest_http import Body

AREAS = 10
HTTP_BATCH = 1_000


@dataclass(frozen=True)
class Received:
    """What the clients received while the server ingested (lags in seconds)."""

    deliveries: int
    messages: int
    span: float
    lag: tuple[float, float, float]  # p50, p99, max: lastSeenAt to receipt
    emit_lag: tuple[float, float]  # p50, p99: sentAt to receipt
    cpu: float  # the clients' process

    @property
    def deliveries_per_s(self) -> float:
        """Deliveries per second, first receipt to last."""
        return self.deliveries / self.span


# --- the clients (child process) ---------------------------------------------------------------------------


async def listen(url: str) -> None:
    """Child: connect the clients described on stdin, count until told to stop, print what they received as JSON."""
    loop = asyncio.get_running_loop()
    setup = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    phases = Phases()
    clients = await connect_clients(url, setup["token"], setup["rooms"], phases)
    print("READY", flush=True)
    cpu = time.process_time()
    await loop.run_in_executor(None, sys.stdin.readline)
    tally = phases.current
    await until_quiet(tally)
    received = Received(
        tally.deliveries,
        tally.messages,
        tally.span,
        (*percentiles(tally.ingest_lags), max(tally.ingest_lags, default=0.0)),
        percentiles(tally.lags),
        time.process_time() - cpu,
    )
    for client in clients:
        await client.disconnect()
    print(json.dumps(asdict(received)), flush=True)


class Listener:
    """The clients' child process, driven over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, url: str, token: str, rooms: list[list[str]]) -> Listener:
        """Start the child and return once every client has joined its rooms."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--listen", url, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        listener = cls(process)
        await listener._say(json.dumps({"token": token, "rooms": rooms}))  # stdin: the token stays off `ps`
        if (await listener._hear()) != "READY":
            raise RuntimeError("the Socket.IO clients did not connect (see the traceback above)")
        return listener

    async def stop(self) -> Received:
        """Let the last updates arrive; what the clients received."""
        await self._say("stop")
        answer = await self._hear()
        await self.process.wait()
        fields = json.loads(answer)
        return Received(**{**fields, "lag": tuple(fields["lag"]), "emit_lag": tuple(fields["emit_lag"])})

    def kill(self) -> None:
        """End the child if it is still running."""
        if self.process.returncode is None:
            self.process.kill()

    async def _say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def _hear(self) -> str:
        assert self.process.stdout is not None
        return (await self.process.stdout.readline()).decode().strip()


# --- the section -------------------------------------------------------------------------------------------


async def _audience(bench: Bench, var_dir: str) -> tuple[list[str], str]:
    """Areas with the fleet dealt out over them (meter id modulo AREAS) and an admin; the area codes and its token.

    The token is signed with the JWT secret `hes serve` will read from the same var directory.
    """
    codes = [area_code(index, AREAS) for index in range(AREAS)]
    settings = Settings(hes_env=Environment.TEST, database_url=bench.dsn, HES_VAR_DIR=Path(var_dir), _env_file=None)
    engine = make_engine(bench.url)
    try:
        async with make_session_factory(engine)() as session:
            rows = [{"code": code, "name": f"Bench area {code}"} for code in codes]
            area_ids = dict((await session.execute(insert(Area).returning(Area.code, Area.id), rows)).tuples().all())
            for index, code in enumerate(codes):
                await session.execute(update(Meter).where(Meter.id % AREAS == index).values(area_id=area_ids[code]))
            await session.commit()
            token = await admin_token(session, settings)
    finally:
        await engine.dispose()
    return codes, token


async def _while_ingesting(bench: Bench, args: argparse.Namespace, token: str, rooms: list[list[str]]) -> Received:
    """`hes serve`, the clients connected to it, the HTTP run; what the clients received meanwhile."""
    from ingest import copy_ceiling
    from ingest_http import http_run

    async def flat_out(port: int, process: subprocess.Popen[bytes]) -> None:
        await copy_ceiling(bench)
        variant = f"hes serve, {len(rooms)} sockets"
        await http_run(bench, args, (process, port, variant), HTTP_BATCH, args.connections[1])

    return await _served(bench, args, token, rooms, flat_out)


async def _at_steady_rate(bench: Bench, args: argparse.Namespace, token: str, rooms: list[list[str]]) -> Received:
    """The same with HTTP bodies sent at `--socketio-rate` readings/s for `--socketio-steady-seconds`: the lag a
    control room sees at a given load, not at saturation."""
    from ingest import CODES
    from ingest_http import bodies_of

    per_step = len(bench.meter_ids) * len(CODES)
    steps = max(1, round(args.socketio_rate * args.socketio_steady_seconds / per_step))
    bodies = bodies_of(bench, HTTP_BATCH, bench.take_steps(steps), steps)

    async def paced(port: int, _process: subprocess.Popen[bytes]) -> None:
        sent, seconds = await post_paced(port, bodies, args.socketio_rate)
        print(f"  HTTP at a steady {args.socketio_rate:,.0f} readings/s: {sent:,} readings stored in {seconds:.1f} s "
              f"({sent / seconds:,.0f}/s)")  # fmt: skip

    return await _served(bench, args, token, rooms, paced)


async def _served(
    bench: Bench,
    args: argparse.Namespace,
    token: str,
    rooms: list[list[str]],
    ingest: Callable[[int, subprocess.Popen[bytes]], Awaitable[None]],
) -> Received:
    """Start `hes serve` and the clients, run `ingest` against it, return what the clients received."""
    from ingest import roll_up
    from ingest_http import server_log_tail, start_server, wait_ready

    await roll_up(bench)
    process, port = start_server(bench, args.var_dir)
    try:
        try:
            await wait_ready(port, process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log ends:\n{server_log_tail(args.var_dir, 12)}") from None
        listener = await Listener.start(f"http://127.0.0.1:{port}", token, rooms)
        try:
            await ingest(port, process)
            return await listener.stop()
        finally:
            listener.kill()
    finally:
        process.terminate()
        process.wait(timeout=60)


async def post_paced(port: int, bodies: list[Body], rate: float) -> tuple[int, float]:
    """Send each body when its turn comes at `rate` readings/s (a 503 is sent again); (readings stored, seconds)."""
    url = f"http://127.0.0.1:{port}/api/meters/data-ingestion"
    stored = 0

    async def post(client: aiohttp.ClientSession, body: Body) -> None:
        nonlocal stored
        headers = {"Authorization": f"Bearer {body.token}", "Content-Type": "application/json"}
        while True:
            async with client.post(url, data=body.payload, headers=headers) as answer:
                result = await answer.json() if answer.status == 202 else None
            if result is not None:
                stored += result["accepted"] + result["duplicates"]
                return
            if answer.status != 503:
                raise RuntimeError(f"HTTP {answer.status} from the ingestion endpoint")
            await asyncio.sleep(0.05)

    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as client:
        posts: list[asyncio.Task[None]] = []
        due = 0.0
        for body in bodies:
            await asyncio.sleep(max(0.0, began + due - time.perf_counter()))
            posts.append(asyncio.create_task(post(client, body)))
            due += body.readings / rate
        await asyncio.gather(*posts)
    return stored, time.perf_counter() - began


def _print_received(bench: Bench, received: Received, how: str) -> None:
    p50, p99, worst = (1000 * value for value in received.lag)
    emit_p50, emit_p99 = (1000 * value for value in received.emit_lag)
    print(f"  Socket.IO while ingesting {how}: {received.deliveries:,} deliveries in {received.messages:,} messages "
          f"over {received.span:.1f} s, clients' CPU {received.cpu:.1f} s;\n"
          f"    lag lastSeenAt -> receipt p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms; "
          f"emit -> receipt p50 {emit_p50:.0f} ms, p99 {emit_p99:.0f} ms")  # fmt: skip
    bench.report(f"Socket.IO deliveries, ingesting {how}", received.deliveries_per_s, "deliveries/s", ratio=False)
    bench.report(f"Socket.IO lag p50, ingesting {how}", p50, "ms", ratio=False)
    bench.report(f"Socket.IO lag p99, ingesting {how}", p99, "ms", ratio=False)


async def _hub_against_raw_emit(bench: Bench, args: argparse.Namespace) -> None:
    """bench/realtime.py's comparison: its table, and its two rates as figures."""
    options = parser().parse_args(["--clients", str(args.socketio_clients), "--seconds", str(args.socketio_seconds)])
    print("  in-process hub vs raw python-socketio emit (bench/realtime.py, its own server on SQLite, no ingest):")
    result = await compare(options)
    with contextlib.redirect_stdout(io.StringIO()) as table:
        print_comparison(options, result)
    print(textwrap.indent(table.getvalue(), "    "), end="")
    for label, tally in (("raw emit, 1 meter per event", result.raw), ("hub fed in-process", result.hub)):
        bench.report(f"Socket.IO {label}, no ingest", tally.deliveries_per_s, "deliveries/s", ratio=False)


async def section(bench: Bench, args: argparse.Namespace) -> None:
    """Deliveries/s and lag of a real server while it ingests over HTTP; then the hub against raw emit."""
    codes, token = await _audience(bench, args.var_dir)
    rooms = client_rooms(args.socketio_clients, bench.meter_ids, codes)
    print(f"  {len(rooms)} clients ({sum(map(len, rooms))} room memberships), {len(bench.meter_ids):,} meters in "
          f"{AREAS} areas; HTTP batches of {HTTP_BATCH:,} over {args.connections[1]} connections")  # fmt: skip
    runs = {
        f"at {args.socketio_rate:,.0f} readings/s": _at_steady_rate,
        "flat out (batches of 1,000)": _while_ingesting,
    }
    for how, run in runs.items():
        received = await run(bench, args, token, rooms)
        if received.deliveries:
            _print_received(bench, received, how)
            continue
        from ingest_http import server_log_tail

        log = server_log_tail(args.var_dir, 12)
        print(f"  Socket.IO while ingesting {how}: no update arrived; the server's log ends:\n{log}")
    if args.socketio_seconds:
        await _hub_against_raw_emit(bench, args)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--listen"]:
        sys.exit("run through bench/ingest.py --sections socketio (this file runs itself as the clients' child)")
    asyncio.run(listen(sys.argv[2]))
