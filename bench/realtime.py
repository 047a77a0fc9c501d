"""Socket.IO fan-out: deliveries/s and lag of the real-time hub, next to python-socketio's raw emit rate (same run).

Run:  .venv/bin/python bench/realtime.py [--clients 200] [--meters 1000] [--areas 10] [--rate 2000] [--seconds 10]

The server runs in a child process (uvicorn, the HES app with Socket.IO mounted, the RealtimeHub), on a SQLite
database prepared here; this process is the load generator: `--clients` python-socketio clients over websockets,
signed in with an admin's access token. Of the clients, 5 % join `all`, 50 % join one area room each (round robin),
and the rest join 5 meter rooms each. Two phases, each `--seconds` long:

- raw: the server emits one ~200-byte `bench-raw` event per meter update to that meter's room, its area's room and
  `all`, as fast as it can (python-socketio's own emit path, nothing coalesced): the baseline;
- hub: the server feeds the hub `--rate` StoredBatches per second (one meter each, 4 readings, meters in turn), as
  the ingest path would; the hub coalesces to at most one update per meter per second, one emit per room per tick.

A delivery is one meter update arriving at one client (the unit a browser renders); a message is one Socket.IO
event arriving at one client. Lag is measured from the server's emit (the payload's `sentAt`) to receipt; for the
hub also, per delivery, from the moment the meter's readings were fed (its `lastSeenAt`) to receipt, which includes
the coalescing wait. Printed: deliveries/s, messages/s, p50/p99/max lag, and the server process's CPU seconds per
phase. Figures, not assertions.

bench/ingest.py's `socketio` section runs this comparison too (`compare`), and reuses the clients (`Phases`,
`client_rooms`, `connect_clients`) to count what a real `hes serve` delivers while it ingests over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio  # type: ignore[import-untyped]  # python-socketio ships no type hints
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.app import create_app
from hes.config import Environment, Settings
from hes.db.enums import Role
from hes.db.migrate import upgrade
from hes.db.tables import Area, Meter
from hes.ingest.records import IncomingReading, MeterTouch, ReadingColumns, StoredBatch
from hes.obis.codes import ObisCode
from hes.realtime import (
    ALL_ROOM,
    ClientEvent,
    ServerEvent,
    area_room,
    create_server,
    meter_room,
    start_realtime,
    stop_realtime,
    with_socketio,
)
from hes.runtime import Runtime
from hes.services import auth, users

CODES = tuple(ObisCode.parse(code) for code in ("1-0:1.8.0.255", "1-0:32.7.0.255", "1-0:31.7.0.255", "1-0:1.7.0.255"))
RAW = "bench-raw"
DRAIN_S = 2.0  # a phase ends once no message arrived for this long
_PAD = "x" * 120  # brings the raw event to ~200 bytes, the size the performance notes measured


# ------------------------------------------------------------------------------------------------ server (child)


async def serve(args: argparse.Namespace) -> None:
    """The child: HES app + Socket.IO under uvicorn; phases are started by commands on stdin."""
    settings = _settings(args.db, args.jwt_secret, Path(args.var))
    runtime = Runtime.from_settings(settings)
    sio = create_server(settings)
    hub = await start_realtime(sio, runtime)
    config = uvicorn.Config(with_socketio(create_app(settings), sio), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    print(f"READY {server.servers[0].sockets[0].getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        phase, seconds = line.split()
        cpu = time.process_time()
        count = await (_raw if phase == "raw" else _feed)(sio, hub, args, float(seconds))
        print(f"DONE {count} {time.process_time() - cpu:.2f}", flush=True)
    await stop_realtime(hub)
    server.should_exit = True
    await task
    await runtime.close()


async def _raw(sio: socketio.AsyncServer, hub: Any, args: argparse.Namespace, seconds: float) -> int:
    emits = 0
    end = time.monotonic() + seconds
    for meter_id in itertools.cycle(range(1, args.meters + 1)):
        if time.monotonic() >= end:
            return emits
        payload = {"sentAt": time.time(), "meterId": meter_id, "value": 1234.5, "pad": _PAD}
        for room in (meter_room(meter_id), area_room(area_code(meter_id, args.areas)), ALL_ROOM):
            await sio.emit(RAW, payload, room=room)
            emits += 1
    return emits


async def _feed(sio: socketio.AsyncServer, hub: Any, args: argparse.Namespace, seconds: float) -> int:
    fed = 0
    step = 0.01  # pace in 10 ms slices
    per_slice = max(1, round(args.rate * step))
    meters = itertools.cycle(range(1, args.meters + 1))
    start = time.monotonic()
    while (now := time.monotonic()) < start + seconds:
        stamp = datetime.now(UTC)
        for _ in range(per_slice):
            meter_id = next(meters)
            readings = ReadingColumns.of([IncomingReading(meter_id, code, stamp, 230.0 + fed % 7) for code in CODES])
            touch = MeterTouch(meter_id, f"M{meter_id:06d}", area_code(meter_id, args.areas), stamp, False)
            await hub.batch_stored(StoredBatch(readings, (), (touch,)))
            fed += 1
        await asyncio.sleep(max(0.0, start + (fed / per_slice) * step - now))
    await asyncio.sleep(1.5)  # the last held meters leave one interval later
    return fed


def area_code(meter_id: int, areas: int) -> str:
    """The code of the area a bench meter is placed in: `areas` areas, meters dealt out in turn."""
    return f"A{meter_id % areas:02d}"


def _settings(db: str, jwt_secret: str, var: Path) -> Settings:
    return Settings(hes_env=Environment.TEST, database_url=db, jwt_secret=jwt_secret, HES_VAR_DIR=var, _env_file=None)


# ------------------------------------------------------------------------------------------------ clients (parent)


@dataclass
class Tally:
    """What the clients received in one phase."""

    messages: int = 0
    deliveries: int = 0
    lags: list[float] = field(default_factory=list)
    ingest_lags: list[float] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0

    @property
    def span(self) -> float:
        """Seconds from the first message received to the last."""
        return max(self.last - self.first, 1e-9)

    @property
    def deliveries_per_s(self) -> float:
        """Deliveries per second over the span."""
        return self.deliveries / self.span

    def note(self, now: float, deliveries: int, lag: float, ingest_lags: Sequence[float] = ()) -> None:
        """One message received at `now`: its deliveries, its emit-to-receipt lag, and per delivery the lag from
        the meter's readings being stored (or fed) to receipt."""
        self.first = self.first or now
        self.last = now
        self.messages += 1
        self.deliveries += deliveries
        self.lags.append(lag)
        self.ingest_lags.extend(ingest_lags)


class Phases:
    """Routes each received event into the current phase's tally."""

    def __init__(self) -> None:
        self.current = Tally()

    async def raw(self, data: dict[str, Any]) -> None:
        """A `bench-raw` event: one delivery."""
        now = time.time()
        self.current.note(now, 1, now - data["sentAt"])

    async def hub(self, data: dict[str, Any]) -> None:
        """A `meter-reading-update`: one delivery per meter in it, each `lastSeenAt` (the time the ingest path
        stored its readings; in this file's feed, the time they were fed) to receipt."""
        now = time.time()
        sent = datetime.fromisoformat(data["sentAt"]).timestamp()
        seen = [now - datetime.fromisoformat(meter["lastSeenAt"]).timestamp() for meter in data["meters"]]
        self.current.note(now, len(data["meters"]), now - sent, seen)


async def prepare(db: str, settings: Settings, meters: int, areas: int) -> str:
    """Areas, meters and an admin in a fresh database; the admin's access token."""
    await asyncio.to_thread(upgrade, db)  # alembic runs its own event loop
    runtime = Runtime.from_settings(settings)
    async with runtime.sessions() as session:
        session.add_all(Area(code=area_code(index, areas), name=f"Area {index}") for index in range(areas))
        await session.flush()
        codes = dict((await session.execute(select(Area.code, Area.id))).tuples().all())
        session.add_all(
            Meter(meter_number=f"M{index:06d}", area_id=codes[area_code(index, areas)])
            for index in range(1, meters + 1)
        )
        await session.commit()
        token = await admin_token(session, settings)
    await runtime.close()
    return token


async def admin_token(session: AsyncSession, settings: Settings) -> str:
    """A new admin account `bench` (committed) and its access token, signed with `settings`' JWT secret."""
    admin = await users.create_user(session, "bench", users.NewUser("bench", secrets.token_hex(8), Role.ADMIN))
    return auth.issue_pair(admin, settings).access_token


def client_rooms(clients: int, meter_ids: Sequence[int], area_codes: Sequence[str]) -> list[list[str]]:
    """The rooms of each client: 5 % watch `all`, 50 % one area each (in turn), the rest 5 meters each."""
    rooms: list[list[str]] = []
    for index in range(clients):
        if index < max(1, clients // 20):
            rooms.append([ALL_ROOM])
        elif index < clients // 2 + clients // 20:
            rooms.append([area_room(area_codes[index % len(area_codes)])])
        else:
            rooms.append([meter_room(meter_ids[(index * 5 + offset) % len(meter_ids)]) for offset in range(5)])
    return rooms


def _bench_rooms(args: argparse.Namespace) -> list[list[str]]:
    """This file's clients: meters 1..`--meters` in `--areas` areas."""
    areas = [area_code(index, args.areas) for index in range(args.areas)]
    return client_rooms(args.clients, range(1, args.meters + 1), areas)


async def connect_clients(
    url: str, token: str, rooms: Sequence[Sequence[str]], phases: Phases
) -> list[socketio.AsyncClient]:
    """Connect one client per entry of `rooms` and have it join those rooms, 20 clients at a time."""
    clients: list[socketio.AsyncClient] = []

    async def one(joins: Sequence[str]) -> None:
        client = socketio.AsyncClient(reconnection=False)
        client.on(RAW, phases.raw)
        client.on(ServerEvent.METER_READING_UPDATE.value, phases.hub)
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
        for room in joins:
            answer = await client.call(ClientEvent.JOIN_ROOM.value, room, timeout=30)
            if not answer["ok"]:
                raise RuntimeError(f"join-room {room}: {answer}")
        clients.append(client)

    for start in range(0, len(rooms), 20):
        await asyncio.gather(*(one(joins) for joins in rooms[start : start + 20]))
    return clients


async def until_quiet(tally: Tally) -> None:
    """Return once no message has arrived for DRAIN_S."""
    while True:
        seen = tally.messages
        await asyncio.sleep(DRAIN_S)
        if tally.messages == seen:
            return


async def run_phase(child: subprocess.Popen[str], phases: Phases, name: str, seconds: float) -> tuple[Tally, str]:
    """Start a phase in the child, wait for its report and for the last messages; the tally."""
    phases.current = tally = Tally()
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{name} {seconds}\n")
    child.stdin.flush()
    report = await asyncio.get_running_loop().run_in_executor(None, child.stdout.readline)
    if not report:
        raise RuntimeError(f"the server child ended during the {name} phase (its traceback is above)")
    await until_quiet(tally)
    return tally, report


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 (nearest rank)."""
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _row(label: str, tally: Tally, report: str) -> str:
    _, count, cpu = report.split()
    p50, p99, worst = (1000 * value for value in (*percentiles(tally.lags), max(tally.lags, default=0.0)))
    return (
        f"{label:<26}{tally.deliveries_per_s:>14,.0f}{tally.messages / tally.span:>12,.0f}"
        f"{p50:>9.0f}{p99:>9.0f}{worst:>9.0f}"
        f"{float(cpu):>8.1f}  {int(count):,} {'emits' if label.startswith('raw') else 'batches fed'}"
    )


@dataclass(frozen=True)
class Comparison:
    """Both phases of one run: each tally with the child's report (`DONE <emits or batches> <CPU s>`)."""

    raw: Tally
    raw_report: str
    hub: Tally
    hub_report: str


async def compare(args: argparse.Namespace) -> Comparison:
    """Prepare, start the child, connect the clients, run both phases."""
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{tmp}/bench.db"
        secret = secrets.token_hex(32)
        token = await prepare(db, _settings(db, secret, Path(tmp)), args.meters, args.areas)
        command = [sys.executable, __file__, "--serve", "--db", db, "--jwt-secret", secret, "--var", tmp]
        command += ["--meters", str(args.meters), "--areas", str(args.areas), "--rate", str(args.rate)]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline().split()[1])
            phases = Phases()
            clients = await connect_clients(f"http://127.0.0.1:{port}", token, _bench_rooms(args), phases)
            raw, raw_report = await run_phase(child, phases, "raw", args.seconds)
            hub, hub_report = await run_phase(child, phases, "hub", args.seconds)
            for client in clients:
                await client.disconnect()
        finally:
            with contextlib.suppress(Exception):
                assert child.stdin is not None
                child.stdin.close()
            child.wait(timeout=30)
    return Comparison(raw, raw_report, hub, hub_report)


def print_comparison(args: argparse.Namespace, result: Comparison) -> None:
    """The table of both phases and the hub's share of the raw emit rate."""
    memberships = sum(len(rooms) for rooms in _bench_rooms(args))
    print(f"{args.clients} clients ({memberships} room memberships), {args.meters} meters in {args.areas} areas")
    print(f"hub fed {args.rate:,} StoredBatches/s (4 readings each) for {args.seconds:.0f} s; coalescing 1 s per meter")
    print()
    print(f"{'':<26}{'deliveries/s':>14}{'messages/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'CPU s':>8}")
    print(_row("raw python-socketio emit", result.raw, result.raw_report))
    print(_row("RealtimeHub", result.hub, result.hub_report))
    fed_p50, fed_p99 = (1000 * value for value in percentiles(result.hub.ingest_lags))
    print(f"hub lag from feed to receipt (incl. coalescing wait): p50 {fed_p50:.0f} ms, p99 {fed_p99:.0f} ms")
    share = result.hub.deliveries_per_s / max(result.raw.deliveries_per_s, 1e-9)
    print(f"hub deliveries/s = {share:.2f} x the raw emit rate of the same run")


async def main(args: argparse.Namespace) -> None:
    """Run the comparison and print it."""
    print_comparison(args, await compare(args))


def parser() -> argparse.ArgumentParser:
    """This file's options (bench/ingest.py's `socketio` section parses its own choices with it)."""
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--clients", type=int, default=200)
    options.add_argument("--meters", type=int, default=1000)
    options.add_argument("--areas", type=int, default=10)
    options.add_argument("--rate", type=int, default=2000, help="StoredBatches fed to the hub per second")
    options.add_argument("--seconds", type=float, default=10.0)
    options.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options.add_argument("--db", help=argparse.SUPPRESS)
    options.add_argument("--jwt-secret", help=argparse.SUPPRESS)
    options.add_argument("--var", help=argparse.SUPPRESS)
    return options


if __name__ == "__main__":
    arguments = parser().parse_args()
    asyncio.run(serve(arguments) if arguments.serve else main(arguments))
