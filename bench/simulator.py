"""Simulated fleet at scale: start-up time, memory per meter, requests/s and CPU per answered request.

Run:  .venv/bin/python bench/simulator.py [--meters 1000 10000] [--state live|fixed] [--transport hdlc|wrapper]
                                         [--auth none|lls|hls] [--concurrency 32] [--rounds 1]

For each fleet size, the simulator runs alone in a child process (`run_fleet`, as `hes simulate` runs it), so its
CPU time and resident memory are its own. It reports its start-up time (building the fleet and listening) and its
RSS before the fleet is built (interpreter, imports and the brand profile), once listening, and after every meter
has been touched once. This process is the load generator: gurux-dlms's client (sans-IO) over asyncio streams on
loopback runs a fixed number of sessions, at most `--concurrency` at a time; each session connects, associates
(SNRM/UA on HDLC, AARQ/AARE), reads the clock, the active energy register and three instantaneous values,
releases (RLRQ, DISC) and hangs up. A request is one round trip the client sent and the meter answered. Two
phases: the first touch (one session per meter, in meter order: each meter builds the objects it is asked for),
then `--rounds` more sessions per meter on meters already touched. `--state live` (the default) runs the meters
as `hes simulate` does, their values from the physics model; `--state fixed` feeds the same COSEM objects fixed
values, to see what the protocol and the object model cost alone.

Printed per size: meters, start-up seconds, RSS (MiB) before / listening / after touching every meter, KiB per
meter, and per phase: sessions, requests, requests/s, CPU ms per answered request of the simulator process (from
/proc/<pid>/stat utime+stime) and, as the same-run baseline, the load generator's own CPU ms per request (gurux's
client), with the ratio simulator / client. Linux only (/proc). Figures, not assertions.

HDLC (the default) puts every meter on one shared port, so 10,000 meters need one listening socket; wrapper meters
need one port each, and the child lifts its open-files limit as `hes simulate` does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gurux_dlms import GXByteBuffer, GXReplyData
from gurux_dlms.enums import Authentication as GuruxAuthentication
from gurux_dlms.enums import InterfaceType, Security
from gurux_dlms.objects import GXDLMSClock, GXDLMSRegister
from gurux_dlms.secure import GXDLMSSecureClient

from hes.obis import load_profile
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.dlms.association import ObjectModel
from hes.simulator.fleet import Authentication, FleetSpec, MeterSpec, Transport, fleet_from_options
from hes.simulator.meter import MANAGEMENT_LOGICAL_DEVICE, ObjectsForClient
from hes.simulator.server import ServerLimits, run_fleet

SEED = 7
HOST = "127.0.0.1"
CLOCK = "0.0.1.0.0.255"
REGISTERS = ("1.0.1.8.0.255", "1.0.32.7.0.255", "1.0.31.7.0.255", "1.0.1.7.0.255")  # +A, voltage, current, +P
CLIENT_TITLE = b"BENCH001"
_GURUX_AUTH = {
    Authentication.NONE: GuruxAuthentication.NONE,
    Authentication.LLS: GuruxAuthentication.LOW,
    Authentication.HLS_GMAC: GuruxAuthentication.HIGH_GMAC,
}
_READ_CHUNK = 4096
_ANSWER_TIMEOUT = 30.0  # seconds a session waits for one answer before it counts as failed
_SPARE_DESCRIPTORS = 64
_KIB = 1024


# ------------------------------------------------------------------------------------------------ /proc readings


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces; fields after it start at 3
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------------ the simulator


def _fleet(args: argparse.Namespace, meters: int) -> FleetSpec:
    return fleet_from_options(
        meters, brand=args.brand, transport=args.transport, auth=args.auth, seed=SEED, host=HOST, base_port=0
    )


# What `--state fixed` meters read: the values the sessions ask for, in their units (Wh, V, A, W).
FIXED_MEASUREMENTS = {
    "1-0:1.8.0.255": 12_345_678.0,
    "1-0:32.7.0.255": 231.4,
    "1-0:31.7.0.255": 5.2,
    "1-0:1.7.0.255": 1_200.0,
}


def fixed_objects(spec: MeterSpec) -> ObjectsForClient:
    """The brand profile's objects fed by fixed values instead of the physics model (`--state fixed`): what the
    protocol and the object model cost alone. Built on first use, as `brand_objects` builds them."""
    built: list[MeterObjects] = []

    def for_client(client_sap: int) -> ObjectModel:
        if not built:
            data = {"0-0:96.1.0.255": spec.meter_number}
            state = InMemoryMeterState.of(datetime.now(UTC), FIXED_MEASUREMENTS, data)
            built.append(MeterObjects.build(load_profile(spec.brand), state, spec.client_sap))
        return built[0].for_client(client_sap)

    return for_client


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def serve(args: argparse.Namespace) -> None:
    """The child: run the fleet, report start-up and memory, answer `stats` on stdin until `quit` or EOF."""
    limits = ServerLimits(max_connections=max(args.concurrency * 2, 64))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.serve + limits.max_connections + _SPARE_DESCRIPTORS
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    load_profile(args.brand)  # brand data is shared by every meter: part of the baseline, not of a meter
    gc.collect()
    before = rss_kib()
    started = time.perf_counter()
    fleet = _fleet(args, args.serve)
    objects = fixed_objects if args.state == "fixed" else None  # None: run_fleet's own, the physics model
    asyncio.run(_serve(fleet, objects, limits, started, before))


async def _serve(
    fleet: FleetSpec,
    objects: Callable[[MeterSpec], ObjectsForClient] | None,
    limits: ServerLimits,
    started: float,
    before: int,
) -> None:
    async with run_fleet(fleet, objects=objects, limits=limits) as server:
        startup = time.perf_counter() - started
        gc.collect()
        ports = [server.endpoints[meter.meter_number].port for meter in fleet.meters]
        _say({"startup_s": startup, "rss_before": before, "rss_started": rss_kib(), "ports": ports})
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line != "stats":
                return
            gc.collect()
            meters = server.meters.values()
            _say(
                {
                    "rss": rss_kib(),
                    "apdus": sum(meter.counters.requests for meter in meters),
                    "touched": sum(1 for meter in meters if meter.counters.connections),
                    "errors": sum(meter.counters.communication_errors for meter in meters),
                }
            )


# ------------------------------------------------------------------------------------------------ the load


@dataclass
class Tally:
    """What the load generator counted."""

    sessions: int = 0
    failed: int = 0
    requests: int = 0
    first_error: str = ""


def _client(meter: MeterSpec) -> GXDLMSSecureClient:
    """gurux's client for the HES's client SAP of `meter`, as the HES would set it up from the secrets file."""
    if meter.transport is Transport.HDLC:
        server = GXDLMSSecureClient.getServerAddress(MANAGEMENT_LOGICAL_DEVICE, meter.physical_address)
        interface = InterfaceType.HDLC
    else:
        server, interface = MANAGEMENT_LOGICAL_DEVICE, InterfaceType.WRAPPER
    auth = _GURUX_AUTH[meter.authentication]
    client = GXDLMSSecureClient(True, meter.client_sap, server, auth, meter.lls_password, interface)
    if meter.ciphered:
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = CLIENT_TITLE
        client.ciphering.blockCipherKey = meter.encryption_key
        client.ciphering.authenticationKey = meter.authentication_key
    return client


class Session:
    """One client session with one meter over one TCP connection."""

    def __init__(self, meter: MeterSpec, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.client = _client(meter)
        self.reader = reader
        self.writer = writer
        self.requests = 0

    async def exchange(self, frames: Any) -> GXReplyData:
        """Send each request frame and read until gurux has the whole answer (more HDLC segments, GET blocks)."""
        reply = GXReplyData()
        for frame in frames if isinstance(frames, list) else [frames]:
            reply.clear()
            await self._round_trip(bytes(frame), reply)
            while reply.isMoreData():
                await self._round_trip(bytes(self.client.receiverReady(reply)), reply)
        return reply

    async def _round_trip(self, frame: bytes, reply: GXReplyData) -> None:
        self.writer.write(frame)
        received = b""
        while True:
            async with asyncio.timeout(_ANSWER_TIMEOUT):
                data = await self.reader.read(_READ_CHUNK)
            if not data:
                raise ConnectionError("the meter hung up")
            received += data
            with contextlib.redirect_stdout(io.StringIO()):  # gurux prints "Encryption is applied."
                if self.client.getData(GXByteBuffer(received), reply, None):
                    self.requests += 1
                    return

    async def run(self) -> None:
        """Associate, read the clock, energy and instantaneous values, release."""
        client = self.client
        if client.interfaceType == InterfaceType.HDLC:
            client.parseUAResponse((await self.exchange(client.snrmRequest())).data)
        reply = await self.exchange(client.aarqRequest())
        with contextlib.redirect_stdout(io.StringIO()):
            client.parseAareResponse(reply.data)
        if client.getIsAuthenticationRequired():
            reply = await self.exchange(client.getApplicationAssociationRequest())
            with contextlib.redirect_stdout(io.StringIO()):
                client.parseApplicationAssociationResponse(reply.data)
        for target in (GXDLMSClock(CLOCK), *(GXDLMSRegister(name) for name in REGISTERS)):
            reply = await self.exchange(client.read(target, 2))
            client.updateValue(target, 2, reply.value)
        await self.exchange(client.releaseRequest())
        if client.interfaceType == InterfaceType.HDLC:
            await self.exchange(client.disconnectRequest())


async def _one(meter: MeterSpec, port: int, tally: Tally) -> None:
    session = None
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            session = Session(meter, reader, writer)
            await session.run()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    except Exception as error:  # a figure to report, not a reason to stop the run
        tally.failed += 1
        tally.first_error = tally.first_error or f"{meter.meter_number}: {type(error).__name__}: {error}"
    finally:
        tally.sessions += 1
        tally.requests += session.requests if session is not None else 0


async def load(fleet: FleetSpec, ports: Sequence[int], rounds: int, concurrency: int) -> Tally:
    """`rounds` sessions per meter, in meter order, at most `concurrency` at a time."""
    tally = Tally()
    total = len(fleet.meters) * rounds
    next_session = 0

    async def worker() -> None:
        nonlocal next_session
        while next_session < total:
            index = next_session % len(fleet.meters)
            next_session += 1
            await _one(fleet.meters[index], ports[index], tally)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


# ------------------------------------------------------------------------------------------------ one size


@dataclass
class Phase:
    """One load phase: what the client counted, how long it took, and the CPU each side used."""

    tally: Tally
    wall_s: float
    simulator_cpu_s: float
    client_cpu_s: float

    @property
    def simulator_ms(self) -> float:
        """Simulator CPU ms per answered request."""
        return self.simulator_cpu_s * 1000 / max(self.tally.requests, 1)

    @property
    def client_ms(self) -> float:
        """Load generator CPU ms per answered request."""
        return self.client_cpu_s * 1000 / max(self.tally.requests, 1)


@dataclass
class Figures:
    """One fleet size's results."""

    meters: int
    startup_s: float
    rss_before: int
    rss_started: int
    rss_touched: int
    rss_after: int
    touched: int
    apdus: int
    first: Phase  # one session per meter: every meter's objects are built
    steady: Phase | None  # more sessions per meter, on meters already touched


def _phase(
    child: subprocess.Popen[str], fleet: FleetSpec, ports: Sequence[int], rounds: int, concurrency: int
) -> Phase:
    simulator_cpu, client_cpu, started = cpu_seconds(child.pid), time.process_time(), time.perf_counter()
    tally = asyncio.run(load(fleet, ports, rounds, concurrency))
    wall = time.perf_counter() - started
    return Phase(tally, wall, cpu_seconds(child.pid) - simulator_cpu, time.process_time() - client_cpu)


def _ask(child: subprocess.Popen[str], command: str) -> dict[str, Any]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(command + "\n")
    child.stdin.flush()
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"the simulator exited (code {child.wait()})")
    answer: dict[str, Any] = json.loads(line)
    return answer


def measure(args: argparse.Namespace, meters: int) -> Figures:
    """Start the simulator with `meters` meters, load it, read its counters, stop it."""
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(meters)]
    command += ["--brand", args.brand, "--transport", args.transport, "--auth", args.auth]
    command += ["--concurrency", str(args.concurrency), "--state", args.state]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator did not start (code {child.wait()})")
        ready = json.loads(line)
        fleet = _fleet(args, meters)  # the same seed: the same meters, addresses and keys as the child's
        print(f"... {meters:,} meters listening; first touch of every meter", file=sys.stderr, flush=True)
        first = _phase(child, fleet, ready["ports"], 1, args.concurrency)
        touched = _ask(child, "stats")
        steady = _phase(child, fleet, ready["ports"], args.rounds, args.concurrency) if args.rounds else None
        stats = _ask(child, "stats")
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return Figures(
        meters,
        ready["startup_s"],
        ready["rss_before"],
        ready["rss_started"],
        touched["rss"],
        stats["rss"],
        touched["touched"],
        stats["apdus"],
        first,
        steady,
    )


def _print_phase(name: str, phase: Phase) -> None:
    tally = phase.tally
    ratio = phase.simulator_ms / phase.client_ms if phase.client_ms else float("nan")
    print(f"{name}")
    print(f"  sessions (failed)         {tally.sessions:>12,} ({tally.failed})")
    print(f"  requests answered         {tally.requests:>12,}  in {phase.wall_s:.1f} s")
    print(f"  requests/s                {tally.requests / phase.wall_s:>12,.0f}")
    print(f"  simulator CPU per request {phase.simulator_ms:>12.3f} ms")
    print(f"  client CPU per request    {phase.client_ms:>12.3f} ms  (gurux-dlms client, same run)")
    print(f"  simulator / client CPU    {ratio:>12.2f}")
    if tally.first_error:
        print(f"  first failure             {tally.first_error}")


def report(figures: Figures, rounds: int) -> None:
    """Print one size's figures."""
    per_meter = (figures.rss_touched - figures.rss_before) / figures.meters  # KiB
    print(f"meters                      {figures.meters:>12,}")
    print(f"start-up (build + listen)   {figures.startup_s:>12.2f} s")
    print(f"RSS before fleet            {figures.rss_before / _KIB:>12.1f} MiB  (interpreter, imports, brand profile)")
    print(f"RSS listening               {figures.rss_started / _KIB:>12.1f} MiB")
    print(f"RSS after touching          {figures.rss_touched / _KIB:>12.1f} MiB  ({figures.touched:,} meters touched)")
    print(f"memory per meter            {per_meter:>12.1f} KiB  ((after touching - before) / meters)")
    _print_phase("first touch (1 session per meter)", figures.first)
    if figures.steady is not None:
        _print_phase(f"touched meters ({rounds} more session(s) per meter)", figures.steady)
        print(f"RSS at the end              {figures.rss_after / _KIB:>12.1f} MiB")
    print(f"APDUs the simulator counted {figures.apdus:>12,}")
    print(flush=True)


def main() -> None:
    """Parse the options; run the child or the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--meters", type=int, nargs="+", default=[1_000, 10_000], help="fleet sizes to run")
    parser.add_argument("--brand", default="hexing", choices=("hexing", "hexcell", "idis"))
    parser.add_argument("--transport", default="hdlc", choices=("hdlc", "wrapper"))
    parser.add_argument("--auth", default="none", choices=("none", "lls", "hls"))
    parser.add_argument("--concurrency", type=int, default=32, help="sessions in flight at once")
    parser.add_argument(
        "--state",
        default="live",
        choices=("live", "fixed"),
        help="live: the physics model, as `hes simulate` runs; fixed: fixed values (protocol and objects alone)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="sessions per meter after the first touch")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child: run this many meters
    args = parser.parse_args()
    if args.serve is not None:
        serve(args)
        return
    print(f"{args.brand} meters ({args.state} state), {args.transport}, auth {args.auth}, ", end="")
    print(f"{args.concurrency} sessions at a time, ", end="")
    print(f"1 + {args.rounds} session(s) per meter; each: associate, read clock + 4 registers, release\n", flush=True)
    for meters in args.meters:
        report(measure(args, meters), args.rounds)


if __name__ == "__main__":
    main()
