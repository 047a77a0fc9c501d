"""Test helpers: simulated meters registered in HES Core as the simulator's secrets file describes them, a
running Connectivity with short timeouts, a counting TCP proxy, and queries over what got stored."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from hes.connectivity.dlms import ClientLimits
from hes.connectivity.service import Connectivity
from hes.connectivity.settings import ConnectivitySettings
from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, MeterStatus, Role
from hes.db.tables import Event, Meter, Reading
from hes.db.tables import ObisCode as ObisRow
from hes.runtime import Runtime
from hes.services import meters
from hes.services.meters import MeterFields
from hes.services.principal import Principal
from hes.simulator.cli import secrets_document
from hes.simulator.fleet import FleetSpec
from hes.simulator.server import FleetServer

SYSTEM = Principal(user_id=0, username="test", role=Role.ADMIN)
# Short enough for faulty meters to fail fast, long enough for a loaded 2-core test machine.
FAST = ConnectivitySettings(
    connect_timeout=3.0,
    response_timeout=3.0,
    release_timeout=1.0,
    retries=0,
    backoff=0.05,
    backoff_max=0.2,
    connections_per_second=1_000.0,
    connection_burst=1_000,
    record_interval=0.05,
    read_timeout=10.0,
)
LIMITS = ClientLimits(max_receive_pdu=512)  # a day of load profile comes in several GET blocks
TEST_BOUND = 60.0  # seconds a test may run before it fails instead of hanging


def endpoints_of(server: FleetServer) -> dict[str, tuple[str, int]]:
    """Where each meter of a running fleet listens."""
    return {number: (endpoint.host, endpoint.port) for number, endpoint in server.endpoints.items()}


async def register(
    runtime: Runtime,
    fleet: FleetSpec,
    addresses: Mapping[str, tuple[str, int] | None],
    *,
    status: MeterStatus = MeterStatus.INSTALLED,
    mode: ConnectionMode = ConnectionMode.OUTBOUND,
    area_id: int | None = None,
) -> dict[str, int]:
    """Create the fleet's meters through the meters service with the DLMS settings of the simulator's secrets file.

    `addresses` gives where HES Core connects to each meter (the simulator, or a proxy in front of it).
    """
    document = secrets_document(fleet, {})
    ids: dict[str, int] = {}
    async with runtime.sessions() as session:
        for entry, spec in zip(document["meters"], fleet.meters, strict=True):
            dlms = entry["dlms"]
            address = addresses.get(spec.meter_number)
            fields = MeterFields(
                meter_number=spec.meter_number,
                brand=spec.brand_info.name,
                status=status,
                connection_mode=mode,
                area_id=area_id,
                ip_address=address[0] if address else None,
                port=address[1] if address else None,
                dlms_transport=DlmsTransport(dlms["transport"]),
                dlms_client_address=dlms["clientAddress"],
                dlms_server_address=dlms["serverAddress"],
                dlms_physical_address=dlms["physicalAddress"],
                dlms_authentication=DlmsAuthentication(dlms["authentication"]),
                dlms_security_suite=dlms["securitySuite"],
                dlms_system_title=dlms["systemTitle"],
                dlms_password=dlms["password"],
                dlms_authentication_key=dlms["authenticationKey"],
                dlms_block_cipher_key=dlms["blockCipherKey"],
            )
            meter = await meters.create_meter(session, SYSTEM, fields, runtime.secret_box)
            ids[spec.meter_number] = meter.id
    return ids


@contextlib.asynccontextmanager
async def running(
    runtime: Runtime, settings: ConnectivitySettings = FAST, **options: Any
) -> AsyncIterator[Connectivity]:
    """A started Connectivity on the test runtime; stopped (outcomes written) on leaving."""
    connectivity = Connectivity(
        runtime.sessions,
        runtime.ingestor,
        runtime.secret_box,
        settings,
        limits=options.pop("limits", LIMITS),
        **options,
    )
    await connectivity.start()
    try:
        yield connectivity
    finally:
        await connectivity.stop()


def settings(**changes: Any) -> ConnectivitySettings:
    """FAST with some fields changed."""
    return replace(FAST, **changes)


async def readings_of(runtime: Runtime, meter_id: int, obis: str | None = None) -> list[tuple[str, datetime, float]]:
    """The meter's stored readings as (OBIS, time, value), oldest first."""
    query = (
        select(ObisRow.code, Reading.ts, Reading.value)
        .join(ObisRow, ObisRow.id == Reading.obis_id)
        .where(Reading.meter_id == meter_id)
        .order_by(Reading.ts, ObisRow.code)
    )
    if obis is not None:
        query = query.where(ObisRow.code == obis)
    async with runtime.sessions() as session:
        return [(code, ts, value) for code, ts, value in (await session.execute(query)).tuples()]


async def count_readings(runtime: Runtime) -> int:
    """Every stored reading."""
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Reading)) or 0)


async def events_of(runtime: Runtime, meter_id: int, event_type: str | None = None) -> list[Event]:
    """The meter's stored events, oldest first."""
    query = select(Event).where(Event.meter_id == meter_id).order_by(Event.occurred_at, Event.id)
    if event_type is not None:
        query = query.where(Event.event_type == event_type)
    async with runtime.sessions() as session:
        return list(await session.scalars(query))


async def meter_row(runtime: Runtime, meter_id: int) -> Meter:
    """The meter's row as stored now."""
    async with runtime.sessions() as session:
        meter = await session.get(Meter, meter_id)
        assert meter is not None
        return meter


async def settle(connectivity: Connectivity) -> None:
    """Wait until the queue is empty and no session runs, then write the buffered outcomes."""
    async with asyncio.timeout(TEST_BOUND):
        while connectivity.stats.queued_jobs or connectivity.stats.sessions:
            await asyncio.sleep(0.02)
    await connectivity.recorder.flush()


@dataclass
class ProxyCounts:
    """What the proxies in front of the meters saw: connections, how many were open at once, when each came."""

    connections: int = 0
    open: int = 0
    peak: int = 0
    accepted_at: list[float] = field(default_factory=list)


class CountingProxy:
    """A TCP pass-through in front of one meter port, counting connections in a (shared) ProxyCounts."""

    def __init__(self, target: tuple[str, int], counts: ProxyCounts) -> None:
        self.target = target
        self.counts = counts
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts = self.counts
        counts.connections += 1
        counts.accepted_at.append(time.monotonic())
        counts.open += 1
        counts.peak = max(counts.peak, counts.open)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        except OSError:
            writer.close()
        finally:
            counts.open -= 1

    async def start(self) -> tuple[str, int]:
        """Listen on a free port; where HES Core should connect."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return ("127.0.0.1", self.port)

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()


@contextlib.asynccontextmanager
async def proxied(server: FleetServer, counts: ProxyCounts) -> AsyncIterator[dict[str, tuple[str, int]]]:
    """A counting proxy per meter endpoint (meters sharing a port share a proxy); addresses by meter number."""
    proxies: dict[tuple[str, int], CountingProxy] = {}
    addresses: dict[str, tuple[str, int]] = {}
    try:
        for number, target in endpoints_of(server).items():
            if target not in proxies:
                proxies[target] = CountingProxy(target, counts)
                await proxies[target].start()
            addresses[number] = ("127.0.0.1", proxies[target].port)
        yield addresses
    finally:
        for proxy in proxies.values():
            await proxy.close()
