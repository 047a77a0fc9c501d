"""Test helpers: the HES's MeterLink for a simulated meter, and a wire straight into a sans-IO simulated meter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hes.connectivity.dlms import DONE, DlmsClient, Exchange, MeterLink, Send
from hes.db.enums import DlmsAuthentication, DlmsTransport
from hes.obis.codes import ObisCode
from hes.simulator.dlms.hdlc_frame import HdlcAddress
from hes.simulator.fleet import MeterSpec
from hes.simulator.meter import HdlcConnection, MeterConnection, SimulatedMeter
from hes.simulator.server import FleetServer

T = TypeVar("T")
CLIENT_TITLE = b"HES00001"
CLOCK = ObisCode.parse("0-0:1.0.0.255")
ENERGY_IMPORT = ObisCode.parse("1-0:1.8.0.255")
LOAD_PROFILE = ObisCode.parse("1-0:99.1.0.255")
EVENT_LOG = ObisCode.parse("0-0:99.98.0.255")
RELAY = ObisCode.parse("0-0:96.3.10.255")
SERIAL = ObisCode.parse("0-0:96.1.0.255")


def link_for(spec: MeterSpec, port: int = 0, **changes: object) -> MeterLink:
    """The link a HES builds from the meter's record (here: the simulator's spec and secrets)."""
    fields: dict[str, object] = {
        "meter_id": spec.index + 1,
        "meter_number": spec.meter_number,
        "host": spec.host,
        "port": port,
        "transport": DlmsTransport(spec.transport.value),
        "client_address": spec.client_sap,
        "physical_address": spec.physical_address,
        "authentication": DlmsAuthentication(spec.authentication.value),
        "password": spec.lls_password,
        "authentication_key": spec.authentication_key,
        "block_cipher_key": spec.encryption_key,
        "client_system_title": CLIENT_TITLE if spec.ciphered else None,
        "brand": spec.brand,
    }
    fields.update(changes)
    return MeterLink(**fields)  # type: ignore[arg-type]


def server_link(server: FleetServer, spec: MeterSpec, **changes: object) -> MeterLink:
    """The link to a meter of a running fleet."""
    return link_for(spec, server.endpoints[spec.meter_number].port, **changes)


def sans_io_connection(meter: SimulatedMeter, spec: MeterSpec) -> MeterConnection:
    """A sans-IO connection to `meter`: wrapper, or HDLC with the meter alone on the line."""
    if spec.transport.value == "hdlc":

        def directory(address: HdlcAddress) -> SimulatedMeter | None:
            return meter

        return HdlcConnection(directory)
    return meter.wrapper_connection()


def drive(client: DlmsClient, connection: MeterConnection, exchange: Exchange[T]) -> T:
    """Run one exchange of `client` against a sans-IO meter connection (no sockets); its result."""
    frame = exchange.request
    for _ in range(10_000):
        step = client.receive_data(connection.receive_data(frame))
        if step is DONE:
            return exchange.result()
        assert isinstance(step, Send), step
        frame = step.data
    raise AssertionError("the exchange never ended")


@dataclass
class TamperingProxy:
    """A TCP proxy between the HES and one meter that can rewrite the meter's wrapper frames.

    `rewrite(index, frame)` gets each whole frame the meter sends (counted from 0) and returns the octets the HES
    receives instead.
    """

    target_host: str
    target_port: int
    rewrite: Callable[[int, bytes], bytes]
    port: int = 0
    frames: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def _pipe_up(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _pipe_down(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = b""
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                buffer += data
                while len(buffer) >= 8 and len(buffer) >= 8 + int.from_bytes(buffer[6:8], "big"):
                    end = 8 + int.from_bytes(buffer[6:8], "big")
                    frame, buffer = buffer[:end], buffer[end:]
                    self.frames.append(frame)
                    writer.write(self.rewrite(len(self.frames) - 1, frame))
                await writer.drain()
        writer.close()

    async def _serve(self, hes_reader: asyncio.StreamReader, hes_writer: asyncio.StreamWriter) -> None:
        meter_reader, meter_writer = await asyncio.open_connection(self.target_host, self.target_port)
        await asyncio.gather(self._pipe_up(hes_reader, meter_writer), self._pipe_down(meter_reader, hes_writer))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TamperingProxy]:
        """Listen on a free port while the block runs."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        try:
            yield self
        finally:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
