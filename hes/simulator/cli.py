"""`hes simulate`: run a fleet of simulated DLMS meters on loopback TCP ports until interrupted.

The options are declared with the other subcommands in hes/cli.py; `run(args)` is the handler. Three modes:
- `--mode listen` (default): each meter listens (hes.simulator.server) and the HES connects to it;
- `--mode dial-in --hes-host H --hes-port P`: each meter connects to the HES, announces itself and serves DLMS on
  that socket (hes.simulator.dial_in);
- `--mode push --push-host H --push-port P --push-interval-s N`: the meters listen, and also push DataNotifications
  to the HES's listener on schedule and on alarm (hes.simulator.push).
`--faults SHARE` and `--fault KIND=SHARE` give a share of the meters faults (hes.simulator.faults).

Once every meter listens (or dials), the command writes the files asked for (each written whole, then renamed
into place, so whoever waits for it never reads half a file):
- `--csv FILE`: the fleet in the columns of the meters import template, ready for `hes import meters FILE`;
- `--secrets-json FILE`: per meter, the DLMS settings a HES needs to associate (client and server addresses,
  authentication, system title, LLS password, keys), shaped like the meters API's `dlms` object, and its faults
  (a wrong-secret meter does not accept these secrets). Test keys for tests and demos; the file is readable by
  its owner only.
A dial-in meter listens nowhere: its address and port are left empty.
It then prints where the meters listen and serves until SIGINT or SIGTERM, and shuts down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hes.simulator.cosem.invocation_counter import INVOCATION_COUNTER
from hes.simulator.dial_in import DialInFleet, DialInSettings
from hes.simulator.faults import FaultShares, parse_fault_share
from hes.simulator.fleet import FleetError, FleetSpec, MeterSpec, Transport, fleet_from_options, with_fault_shares
from hes.simulator.fleet_file import load_fleet_file
from hes.simulator.meter import MANAGEMENT_LOGICAL_DEVICE
from hes.simulator.push import PushRunner, PushSettings
from hes.simulator.server import Endpoint, FleetServer, ServerLimits, build_meters, fault_table, run_fleet

__all__ = ["METER_COLUMNS", "MODES", "meter_rows", "run", "secrets_document", "write_file"]

logger = logging.getLogger(__name__)

# The meters import template's columns (hes.services.imports.templates), in its order; a test keeps them equal.
METER_COLUMNS = (
    "meterNumber",
    "concentratorId",
    "meterType",
    "brand",
    "model",
    "firmware",
    "ipAddress",
    "port",
    "area",
    "customer",
    "simCard",
)
# File descriptors besides the meters' listening sockets and open connections: stdio, logs, the event loop's own.
_SPARE_DESCRIPTORS = 64
MODES = ("listen", "dial-in", "push")


def meter_rows(fleet: FleetSpec, endpoints: Mapping[str, Endpoint]) -> list[dict[str, str]]:
    """One import-template row per meter, with the port it really listens on (empty for a meter that dials in)."""
    rows = []
    for meter in fleet.meters:
        brand, endpoint = meter.brand_info, endpoints.get(meter.meter_number)
        row = dict.fromkeys(METER_COLUMNS, "")
        row.update(
            meterNumber=meter.meter_number,
            meterType=brand.meter_type,
            brand=brand.name,
            model=brand.model,
            firmware=brand.firmware,
            ipAddress=endpoint.host if endpoint is not None else "",
            port=str(endpoint.port) if endpoint is not None else "",
        )
        rows.append(row)
    return rows


def _meters_csv(fleet: FleetSpec, endpoints: Mapping[str, Endpoint]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=METER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(meter_rows(fleet, endpoints))
    return out.getvalue()


def _hex(value: bytes | None) -> str | None:
    return value.hex().upper() if value is not None else None


def _secrets_of(meter: MeterSpec, endpoint: Endpoint | None) -> dict[str, Any]:
    hdlc = meter.transport is Transport.HDLC
    return {
        "meterNumber": meter.meter_number,
        "ipAddress": endpoint.host if endpoint is not None else None,
        "port": endpoint.port if endpoint is not None else None,
        # The fields of the meters API's DlmsSettings (hes.api.schemas.meters), so a test can send them as they are.
        "dlms": {
            "transport": meter.transport.value,
            "clientAddress": meter.client_sap,
            "serverAddress": MANAGEMENT_LOGICAL_DEVICE,
            "physicalAddress": meter.physical_address if hdlc else None,
            "authentication": meter.authentication.value,
            "securitySuite": 0,
            "systemTitle": _hex(meter.system_title),
            "password": meter.lls_password.decode() if meter.lls_password is not None else None,
            "authenticationKey": _hex(meter.authentication_key),
            "blockCipherKey": _hex(meter.encryption_key),
        },
        # HLS-GMAC meters refuse any request of that client that is not authenticated and encrypted.
        "securityPolicy": "authenticated-encrypted" if meter.ciphered else "none",
        # How the meter offers to wrap ciphered APDUs (a client that negotiates general-protection uses 0xDB).
        "ciphering": meter.ciphering.value if meter.ciphered else None,
        "publicClientAddress": 16 if meter.brand_info.public_client else None,
        # Where the public client reads the invocation counter the HES's client must use next (or above).
        "invocationCounterObis": str(INVOCATION_COUNTER) if meter.ciphered and meter.brand_info.public_client else None,
        "faults": [fault.describe() for fault in meter.faults],
    }


def secrets_document(fleet: FleetSpec, endpoints: Mapping[str, Endpoint]) -> dict[str, Any]:
    """What a HES needs to associate with each meter: addresses, mechanism, system title, password and keys."""
    meters = [_secrets_of(meter, endpoints.get(meter.meter_number)) for meter in fleet.meters]
    return {"seed": fleet.seed, "meters": meters}


def write_file(path: Path, text: str, *, private: bool = False) -> None:
    """Write `text` to a temporary file next to `path`, then rename it into place (owner-only when `private`)."""
    temporary = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    os.replace(temporary, path)


def _fault_shares(args: argparse.Namespace) -> FaultShares:
    """`--faults SHARE` and every `--fault KIND=SHARE`.

    Raises:
        FleetError: every bad share.
    """
    problems, pairs = [], []
    mixed = 0.0
    if args.faults is not None:
        if 0 <= args.faults <= 1:
            mixed = args.faults
        else:
            problems.append(f"--faults is a share from 0 to 1, not {args.faults}")
    for text in args.fault or ():
        try:
            pairs.append(parse_fault_share(text))
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise FleetError(problems)
    return FaultShares(mixed, tuple(pairs))


def _fleet_from_args(args: argparse.Namespace) -> FleetSpec:
    shares = _fault_shares(args)
    if args.fleet is not None:
        fleet = load_fleet_file(Path(args.fleet))
        return with_fault_shares(fleet, shares) if shares else fleet
    return fleet_from_options(
        args.meters,
        brand=args.brand,
        transport=args.transport,
        auth=args.auth,
        # --ciphering is declared in hes/cli.py; until it is, every meter offers service-specific ciphering.
        ciphering=args.ciphering,
        seed=args.seed,
        host=args.host,
        base_port=args.base_port,
        latency_ms=args.latency_ms,
        fault_shares=shares,
    )


def _raise_descriptor_limit(needed: int) -> None:
    """Lift the soft limit on open files towards what the fleet needs (one per port and connection)."""
    try:
        import resource
    except ImportError:  # not on Windows: nothing to lift
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            logger.warning("only %d open files allowed; the fleet may need %d", target, needed)


def _describe(fleet: FleetSpec, server: FleetServer) -> str:
    parts = []
    wrapper = [server.endpoints[meter.meter_number].port for meter in fleet.wrapper_meters]
    if wrapper:
        parts.append(f"{len(wrapper)} wrapper meters on ports {min(wrapper)}-{max(wrapper)}")
    if server.hdlc_endpoint is not None:
        parts.append(f"{len(fleet.hdlc_meters)} HDLC meters on port {server.hdlc_endpoint.port}")
    return f"simulating {len(fleet.meters)} meters on {fleet.host}: {'; '.join(parts)}"


def _describe_faults(fleet: FleetSpec) -> str:
    kinds: dict[str, int] = {}
    for meter in fleet.meters:
        for fault in meter.faults:
            kinds[fault.kind] = kinds.get(fault.kind, 0) + 1
    faulty = sum(1 for meter in fleet.meters if meter.faults)
    listed = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return f"; {faulty} meters with faults ({listed})" if faulty else ""


def _write_files(fleet: FleetSpec, args: argparse.Namespace, endpoints: Mapping[str, Endpoint]) -> None:
    if args.csv:
        write_file(Path(args.csv), _meters_csv(fleet, endpoints))
    if args.secrets_json:
        document = json.dumps(secrets_document(fleet, endpoints), indent=2)
        write_file(Path(args.secrets_json), document + "\n", private=True)


async def _serve_until(stop: asyncio.Event, fleet: FleetSpec, args: argparse.Namespace, limits: ServerLimits) -> None:
    if args.mode == "dial-in":
        settings = _dial_in_settings(args)
        dialers = DialInFleet(fleet, build_meters(fleet), settings, limits=limits, faults=fault_table(fleet))
        await dialers.start()
        try:
            _write_files(fleet, args, {})
            where = f"{settings.hes_host}:{settings.hes_port}"
            print(f"simulating {len(fleet.meters)} meters dialling {where}{_describe_faults(fleet)}", flush=True)
            await stop.wait()
        finally:
            await dialers.close()
        return
    async with run_fleet(fleet, limits=limits) as server:
        pushers = PushRunner(fleet, list(server.meters.values()), _push_settings(args)) if args.mode == "push" else None
        if pushers is not None:
            await pushers.start()
        try:
            _write_files(fleet, args, server.endpoints)
            pushing = f"; pushing to {args.push_host}:{args.push_port}" if pushers is not None else ""
            print(_describe(fleet, server) + pushing + _describe_faults(fleet) + " (Ctrl+C to stop)", flush=True)
            await stop.wait()
        finally:
            if pushers is not None:
                await pushers.close()


async def _simulate(fleet: FleetSpec, args: argparse.Namespace, limits: ServerLimits) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no loop signal handlers; Ctrl+C still works
            loop.add_signal_handler(signal_number, stop.set)
    await _serve_until(stop, fleet, args, limits)
    print("stopping: closing every connection", flush=True)


def _dial_in_settings(args: argparse.Namespace) -> DialInSettings:
    return DialInSettings(
        args.hes_host, args.hes_port, keepalive_s=args.keepalive_s, max_connecting=args.max_connecting
    )


def _push_settings(args: argparse.Namespace) -> PushSettings:
    return PushSettings(
        args.push_host, args.push_port, interval_s=args.push_interval_s, max_connecting=args.max_connecting
    )


def _check_mode(args: argparse.Namespace) -> None:
    """Refuse a mode the fleet cannot run, before anything listens or dials.

    Raises:
        ValueError: an unknown mode, or bad HES / push settings.
    """
    if args.mode not in MODES:
        raise ValueError(f"mode is one of {', '.join(MODES)}")
    if args.mode == "dial-in":
        _dial_in_settings(args)
    elif args.mode == "push":
        _push_settings(args)


def run(args: argparse.Namespace) -> None:
    """Handler of `hes simulate`: build the fleet, serve it until SIGINT/SIGTERM."""
    try:
        fleet = _fleet_from_args(args)
        limits = ServerLimits(max_connections=args.max_connections, inactivity_timeout=args.inactivity_timeout)
        _check_mode(args)
    except FleetError as error:
        sys.exit("error: " + "\nerror: ".join(error.problems))
    except ValueError as error:
        sys.exit(f"error: {error}")
    _raise_descriptor_limit(len(fleet.meters) + limits.max_connections + _SPARE_DESCRIPTORS)
    try:
        asyncio.run(_simulate(fleet, args, limits))
    except OSError as error:
        sys.exit(f"error: cannot listen: {error}")
