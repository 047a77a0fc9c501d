"""The asyncio driver of a simulated fleet: TCP listeners in front of the sans-IO meters (listen mode).

The HES connects out to the meters, as to cellular meters with a public address:
- each wrapper meter (IEC 62056-47) listens on its own port;
- every HDLC meter (IEC 62056-46) shares one port; each frame goes to the meter its destination address names.

This module owns the listening sockets; each accepted connection is served by a `ConnectionDriver`
(hes.simulator.driver), which hands octets to a `MeterConnection` and sends the answers after the configured
latency and as the meter's faults say (hes.simulator.faults). Each connection is bounded in time (an inactivity
timeout, a write timeout for a peer that does not read) and the number of open connections is bounded; a socket
error, a protocol error or a fault ends that connection only: the other meters keep answering.

Use `run_fleet(spec)` as an async context manager; it yields the running `FleetServer` with the bound ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from hes.obis import load_profile
from hes.simulator.cosem import MeterObjects
from hes.simulator.dlms.association import ObjectModel, SecurityState
from hes.simulator.dlms.hdlc_frame import HdlcAddress
from hes.simulator.driver import ConnectionDriver, ServerLimits
from hes.simulator.fleet import FleetSpec, MeterSpec
from hes.simulator.injection import MeterFaults
from hes.simulator.live_state import live_state
from hes.simulator.meter import HdlcConnection, MeterConnection, ObjectsForClient, SimulatedMeter

__all__ = [
    "Endpoint",
    "FleetServer",
    "ObjectsFactory",
    "ServerLimits",
    "brand_objects",
    "build_meters",
    "fault_table",
    "run_fleet",
]

logger = logging.getLogger(__name__)

# Builds the COSEM objects of one meter of the fleet (per client SAP).
ObjectsFactory = Callable[[MeterSpec], ObjectsForClient]


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
        self.faults = fault_table(spec)
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
                port = await self._listen(spec.host, spec.port, meter.wrapper_connection, meter)
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

    async def _listen(
        self, host: str, port: int, connect: Callable[[], MeterConnection], meter: SimulatedMeter | None = None
    ) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(reader, writer, connect, meter)

        server = await asyncio.start_server(serve, host, port, reuse_address=True)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connect: Callable[[], MeterConnection],
        meter: SimulatedMeter | None,
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
        driver = ConnectionDriver(
            reader, writer, connection, limits=self.limits, peer=peer, latency=self._latency, faults=self.faults_of
        )
        try:
            await driver.run(meter)
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

    def faults_of(self, meter: SimulatedMeter) -> MeterFaults:
        """The run-time faults of one of the fleet's meters."""
        return self.faults[meter.meter_number]


def fault_table(spec: FleetSpec) -> dict[str, MeterFaults]:
    """Each meter's run-time faults, seeded from its own seed (a repeatable run)."""
    return {meter.meter_number: MeterFaults(meter.faults, meter.seed) for meter in spec.meters}


def build_meters(spec: FleetSpec, objects: ObjectsFactory | None = None) -> list[SimulatedMeter]:
    """The fleet's meters, in spec order, with the objects `objects` builds (by default `brand_objects`)."""
    meters = []
    for meter in spec.meters:
        security = SecurityState()  # shared by the meter's associations and its invocation counter object
        made = objects(meter) if objects is not None else brand_objects(meter, security)
        meters.append(SimulatedMeter.from_spec(meter, made, security))
    return meters


def brand_objects(spec: MeterSpec, security: SecurityState | None = None) -> ObjectsForClient:
    """The brand profile's COSEM objects for `spec`, built on first use (a fleet of 10,000 starts at once).

    Their values come from the meter's physics model (hes.simulator.live_state): a running UTC clock, registers,
    load profile, billing values and event logs, and a relay that stops consumption when a client opens it. The
    invocation counter object (0-0:43.1.0.255) shows `security`, the counters the meter's associations share.
    """
    built: list[MeterObjects] = []

    def for_client(client_sap: int) -> ObjectModel:
        if not built:
            profile = load_profile(spec.brand)
            state = live_state(spec, profile)
            built.append(MeterObjects.build(profile, state, spec.client_sap, security=security))
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
    server = FleetServer(spec, build_meters(spec, objects), limits)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
