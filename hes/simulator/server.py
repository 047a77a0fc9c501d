"""The asyncio driver of a simulated fleet: TCP listeners in front of the sans-IO meters (listen mode).

The HES connects out to the meters, as to cellular meters with a public address:
- each wrapper meter (IEC 62056-47) listens on its own port;
- every HDLC meter (IEC 62056-46) shares one port; each frame goes to the meter its destination address names.

This module is the only place with sockets: it reads octets, hands them to a `MeterConnection`, writes what comes
back (after the configured latency), logs the connection's events and closes the socket when the connection says
so. Each connection is bounded in time (an inactivity timeout, a write timeout for a peer that does not read) and
the number of open connections is bounded; a socket error or a protocol error ends that connection only.

Use `run_fleet(spec)` as an async context manager; it yields the running `FleetServer` with the bound ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hes.obis import ObisCode, load_profile
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.dlms.association import ObjectModel
from hes.simulator.dlms.hdlc_frame import HdlcAddress
from hes.simulator.fleet import FleetSpec, MeterSpec
from hes.simulator.meter import (
    CommunicationError,
    ConnectionEvent,
    FrameIgnored,
    HdlcConnection,
    MeterConnection,
    ObjectsForClient,
    SimulatedMeter,
)

__all__ = ["Endpoint", "FleetServer", "ObjectsFactory", "ServerLimits", "brand_objects", "run_fleet"]

logger = logging.getLogger(__name__)

# Builds the COSEM objects of one meter of the fleet (per client SAP).
ObjectsFactory = Callable[[MeterSpec], ObjectsForClient]

SERIAL_NUMBER = ObisCode(0, 0, 96, 1, 0, 255)  # COSEM logical device / meter serial number (Data, class 1)
# Octets read from a socket at a time: a few wrapper frames or HDLC frames; the framers bound what they buffer.
_READ_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Bounds on what clients can make the simulator hold; defaults follow OSGP's head-end defaults where it has one."""

    max_connections: int = 1000  # open connections across the fleet (OSGP allows 1,000 concurrent meter connections)
    inactivity_timeout: float = 120.0  # seconds without a received octet before the meter hangs up (OSGP: 120 s)
    write_timeout: float = 30.0  # seconds a peer may leave our answer unread before we give up on it
    shutdown_timeout: float = 5.0  # seconds close() waits for connection tasks to finish

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if min(self.inactivity_timeout, self.write_timeout, self.shutdown_timeout) <= 0:
            raise ValueError("timeouts must be positive")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a meter listens."""

    host: str
    port: int


class _HdlcDirectory:
    """The meters of the shared HDLC port, found by the destination address of a frame."""

    def __init__(self, meters: Sequence[SimulatedMeter]) -> None:
        self._by_lower = {meter.identity.hdlc_address.lower: meter for meter in meters}
        self._only = meters[0] if len(meters) == 1 else None

    def __call__(self, address: HdlcAddress) -> SimulatedMeter | None:
        # A 1-octet address names no physical device: unambiguous only when one meter is on the line.
        meter = self._only if address.lower is None else self._by_lower.get(address.lower)
        return meter if meter is not None and meter.identity.hdlc_address.upper == address.upper else None


class FleetServer:
    """The listeners and open connections of one fleet; start() binds, close() shuts everything down."""

    def __init__(self, spec: FleetSpec, meters: Sequence[SimulatedMeter], limits: ServerLimits | None = None) -> None:
        """A server for `meters`, built from `spec` in the same order."""
        self.spec = spec
        self.limits = limits or ServerLimits()
        self.meters = {meter.meter_number: meter for meter in meters}
        self.endpoints: dict[str, Endpoint] = {}  # meter number -> where it listens, once started
        self.hdlc_endpoint: Endpoint | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._latency = spec.latency_ms / 1000
        self._closing = False

    @property
    def open_connections(self) -> int:
        """Connections being served now."""
        return len(self._tasks)

    async def start(self) -> None:
        """Bind every listener: one port per wrapper meter, one shared port for the HDLC meters.

        Raises:
            OSError: a port cannot be bound (in use, not permitted); listeners already bound are closed.
        """
        try:
            for spec in self.spec.wrapper_meters:
                meter = self.meters[spec.meter_number]
                port = await self._listen(spec.host, spec.port, meter.wrapper_connection)
                self.endpoints[spec.meter_number] = Endpoint(spec.host, port)
            hdlc = self.spec.hdlc_meters
            if hdlc:
                directory = _HdlcDirectory([self.meters[spec.meter_number] for spec in hdlc])
                port = await self._listen(self.spec.host, self.spec.hdlc_port or 0, lambda: HdlcConnection(directory))
                self.hdlc_endpoint = Endpoint(self.spec.host, port)
                self.endpoints.update({spec.meter_number: self.hdlc_endpoint for spec in hdlc})
        except OSError:
            await self.close()
            raise
        logger.info("simulated fleet of %d meters listening on %s", len(self.meters), self.spec.host)

    async def close(self) -> None:
        """Stop listening, end every open connection and wait (bounded) for their tasks."""
        self._closing = True
        for server in self._servers:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self.limits.shutdown_timeout)
        for server in self._servers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), self.limits.shutdown_timeout)
        self._servers.clear()

    async def _listen(self, host: str, port: int, connect: Callable[[], MeterConnection]) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(reader, writer, connect)

        server = await asyncio.start_server(serve, host, port, reuse_address=True)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connect: Callable[[], MeterConnection]
    ) -> None:
        peer = writer.get_extra_info("peername")
        if len(self._tasks) >= self.limits.max_connections:
            logger.warning("connection from %s refused: %d connections open", peer, len(self._tasks))
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None  # start_server runs each client callback in a task of its own
        self._tasks.add(task)
        connection = connect()
        try:
            await self._exchange(reader, writer, connection, peer)
        except (ConnectionError, OSError) as error:
            logger.info("connection from %s lost: %s", peer, error)
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # Our own shutdown: end normally, or asyncio's stream callback reports the cancellation as an error.
        except Exception:
            # A defect of the simulator, not of the peer: log it once with its traceback and drop this connection.
            logger.exception("connection from %s failed", peer)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: MeterConnection, peer: object
    ) -> None:
        """Read, answer, write until the peer hangs up, goes quiet, or breaks the protocol."""
        while not connection.closed:
            try:
                async with asyncio.timeout(self.limits.inactivity_timeout):
                    data = await reader.read(_READ_CHUNK)
            except TimeoutError:
                logger.info("connection from %s closed after %.0f s of silence", peer, self.limits.inactivity_timeout)
                return
            answer = connection.receive_data(data)
            self._log(connection.drain_events(), peer)
            if answer:
                if self._latency:
                    await asyncio.sleep(self._latency)
                writer.write(answer)
                try:
                    async with asyncio.timeout(self.limits.write_timeout):
                        await writer.drain()
                except TimeoutError:
                    logger.info("connection from %s closed: answers left unread", peer)
                    return
            if not data:
                return

    @staticmethod
    def _log(events: list[ConnectionEvent], peer: object) -> None:
        for event in events:
            if isinstance(event, CommunicationError):
                # One communication event per broken connection; the meter and its other connections carry on.
                logger.warning("meter %s: connection from %s ended: %s", event.meter_number, peer, event.reason)
            elif isinstance(event, FrameIgnored):
                logger.debug("connection from %s: %s", peer, event.reason)
            else:
                logger.debug("meter %s: %s", event.meter_number, event.event)


@dataclass
class _LiveClockState(InMemoryMeterState):
    """A meter state whose clock runs (UTC, plus whatever a client's clock setting moved it by)."""

    offset: timedelta = timedelta(0)

    def clock(self) -> datetime:
        """The wall clock, shifted by the last setting."""
        return datetime.now(UTC) + self.offset

    def set_clock(self, value: datetime) -> None:
        """Move the clock to `value` from now on."""
        self.offset = value - datetime.now(UTC)


def brand_objects(spec: MeterSpec) -> ObjectsForClient:
    """The brand profile's COSEM objects for `spec`, built on first use (a fleet of 10,000 starts at once).

    Their state is a running clock and the serial number; registers read the profile's defaults. A MeterState fed by
    the physics model (hes.simulator.physics.MeterModel) does not exist yet: it replaces `_LiveClockState` here.
    """
    built: list[MeterObjects] = []

    def for_client(client_sap: int) -> ObjectModel:
        if not built:
            state = _LiveClockState(datetime.now(UTC), data_values={SERIAL_NUMBER: spec.meter_number})
            built.append(MeterObjects.build(load_profile(spec.brand), state, spec.client_sap))
        return built[0].for_client(client_sap)

    return for_client


@contextlib.asynccontextmanager
async def run_fleet(
    spec: FleetSpec, *, objects: ObjectsFactory | None = None, limits: ServerLimits | None = None
) -> AsyncIterator[FleetServer]:
    """Build the fleet's meters, listen, yield the running server, and shut it down on exit.

    Args:
        spec: the fleet.
        objects: builds each meter's COSEM objects; by default `brand_objects` (the brand profile's objects).
        limits: connection bounds; ServerLimits() by default.

    Raises:
        OSError: a port cannot be bound.
    """
    build = objects or brand_objects
    meters = [SimulatedMeter.from_spec(meter, build(meter)) for meter in spec.meters]
    server = FleetServer(spec, meters, limits)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
