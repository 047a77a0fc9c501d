"""`hes simulate`: run a fleet of simulated DLMS meters on loopback TCP ports until interrupted.

The options are declared with the other subcommands in hes/cli.py; `run(args)` is the handler. Once every meter
listens, the command writes the files asked for (each written whole, then renamed into place, so whoever waits for
it never reads half a file):
- `--csv FILE`: the fleet in the columns of the meters import template, ready for `hes import meters FILE`;
- `--secrets-json FILE`: per meter, the DLMS settings a HES needs to associate (client and server addresses,
  authentication, system title, LLS password, keys), shaped like the meters API's `dlms` object. Test keys for
  tests and demos; the file is readable by its owner only.
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

from hes.simulator.fleet import FleetError, FleetSpec, MeterSpec, Transport, fleet_from_options, load_fleet_file
from hes.simulator.meter import MANAGEMENT_LOGICAL_DEVICE
from hes.simulator.server import Endpoint, FleetServer, ServerLimits, run_fleet

__all__ = ["METER_COLUMNS", "meter_rows", "run", "secrets_document", "write_file"]

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


def meter_rows(fleet: FleetSpec, endpoints: Mapping[str, Endpoint]) -> list[dict[str, str]]:
    """One import-template row per meter, with the port it really listens on."""
    rows = []
    for meter in fleet.meters:
        brand, endpoint = meter.brand_info, endpoints[meter.meter_number]
        row = dict.fromkeys(METER_COLUMNS, "")
        row.update(
            meterNumber=meter.meter_number,
            meterType=brand.meter_type,
            brand=brand.name,
            model=brand.model,
            firmware=brand.firmware,
            ipAddress=endpoint.host,
            port=str(endpoint.port),
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


def _secrets_of(meter: MeterSpec, endpoint: Endpoint) -> dict[str, Any]:
    hdlc = meter.transport is Transport.HDLC
    return {
        "meterNumber": meter.meter_number,
        "ipAddress": endpoint.host,
        "port": endpoint.port,
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
        "publicClientAddress": 16 if meter.brand_info.public_client else None,
    }


def secrets_document(fleet: FleetSpec, endpoints: Mapping[str, Endpoint]) -> dict[str, Any]:
    """What a HES needs to associate with each meter: addresses, mechanism, system title, password and keys."""
    return {"seed": fleet.seed, "meters": [_secrets_of(meter, endpoints[meter.meter_number]) for meter in fleet.meters]}


def write_file(path: Path, text: str, *, private: bool = False) -> None:
    """Write `text` to a temporary file next to `path`, then rename it into place (owner-only when `private`)."""
    temporary = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    os.replace(temporary, path)


def _fleet_from_args(args: argparse.Namespace) -> FleetSpec:
    if args.fleet is not None:
        return load_fleet_file(Path(args.fleet))
    return fleet_from_options(
        args.meters,
        brand=args.brand,
        transport=args.transport,
        auth=args.auth,
        seed=args.seed,
        host=args.host,
        base_port=args.base_port,
        latency_ms=args.latency_ms,
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
    return f"simulating {len(fleet.meters)} meters on {fleet.host}: {'; '.join(parts)} (Ctrl+C to stop)"


async def _simulate(fleet: FleetSpec, args: argparse.Namespace, limits: ServerLimits) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no loop signal handlers; Ctrl+C still works
            loop.add_signal_handler(signal_number, stop.set)
    async with run_fleet(fleet, limits=limits) as server:
        if args.csv:
            write_file(Path(args.csv), _meters_csv(fleet, server.endpoints))
        if args.secrets_json:
            document = json.dumps(secrets_document(fleet, server.endpoints), indent=2)
            write_file(Path(args.secrets_json), document + "\n", private=True)
        print(_describe(fleet, server), flush=True)
        await stop.wait()
        print("stopping: closing every connection", flush=True)


def run(args: argparse.Namespace) -> None:
    """Handler of `hes simulate`: build the fleet, serve it until SIGINT/SIGTERM."""
    try:
        fleet = _fleet_from_args(args)
        limits = ServerLimits(max_connections=args.max_connections, inactivity_timeout=args.inactivity_timeout)
    except FleetError as error:
        sys.exit("error: " + "\nerror: ".join(error.problems))
    except ValueError as error:
        sys.exit(f"error: {error}")
    _raise_descriptor_limit(len(fleet.meters) + limits.max_connections + _SPARE_DESCRIPTORS)
    try:
        asyncio.run(_simulate(fleet, args, limits))
    except OSError as error:
        sys.exit(f"error: cannot listen: {error}")
