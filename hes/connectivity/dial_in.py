"""The inbound meter port (METER_HOST:METER_PORT): dial-in meters and push connections.

Many cellular meters open the TCP connection to the HES themselves. On each connection the server reads the first
push within `announcement_timeout`: a DataNotification in a wrapper frame or in HDLC UI frames to client 102 (IDIS
"push on connectivity", hes.simulator.dial_in), plain or general-glo-ciphered. The push receiver
(hes.connectivity.push_receiver) identifies its sender (system title, then logical device name) and maps its values.
Then the meter's record decides what the connection is (one port for both, so meters need one address only):
- a meter whose connection mode is dial-in keeps its socket: its announcement's values and a `meter_connected`
  event are stored (which marks it seen and online), and the socket is registered (hes.connectivity.dial_in_registry)
  for the dispatcher's sessions; its heartbeat pushes are stored as they come; a redial replaces the old socket;
- any other meter's connection is a push connection: its pushes are stored until it hangs up.
A meter that says nothing within the timeout is asked who it is: the server associates as the public client (16,
no security, TCP wrapper) and reads its serial number 0-0:96.1.0.255 and logical device name 0-0:42.0.0.255.

Unknown meters, garbage, hostile or wrongly ciphered announcements: the connection is closed, the refusal logged
(and stored as a communication event when the meter is known); the server goes on serving. At most
`max_connections` connections are open at once; past that a new one is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from hes.config import Settings
from hes.connectivity.dial_in_registry import DialInConnection, DialInRegistry
from hes.connectivity.dlms.errors import ConnectionLost, DlmsError, DlmsTimeout
from hes.connectivity.dlms.link import MANAGEMENT_LOGICAL_DEVICE, PUBLIC_CLIENT, MeterLink
from hes.connectivity.dlms.notification import InboundApdu, InboundFramer
from hes.connectivity.dlms.session import DlmsSession, Timeouts
from hes.connectivity.dlms.values import ObjectReference
from hes.connectivity.push_mapping import meter_numbers_of
from hes.connectivity.push_receiver import PushReceiver, PushRefused
from hes.db.enums import ConnectionMode, EventCategory, MeterStatus, Severity
from hes.db.store.meter_links import MeterLinkRow
from hes.ingest.records import IncomingEvent
from hes.obis.codes import ObisCode

__all__ = ["METER_CONNECTED", "DialInServer", "DialInSettings"]

logger = logging.getLogger(__name__)

METER_CONNECTED = "meter_connected"
SERIAL_NUMBER = ObisCode(0, 0, 96, 1, 0, 255)
LOGICAL_DEVICE_NAME = ObisCode(0, 0, 42, 0, 0, 255)
_DATA_CLASS, _VALUE = 1, 2
_READ_SIZE = 65536
_SHUTDOWN_TIMEOUT = 5.0  # seconds close() waits for the connection tasks to end


@dataclass(frozen=True, slots=True)
class DialInSettings:
    """Where the inbound port listens and its bounds.

    Attributes:
        host, port: METER_HOST / METER_PORT (port 0: any free port, tests).
        max_connections: connections open at once (dial-in meters held, push connections, announcements); OSGP's
            head end allows 1,000 concurrent meter connections.
        announcement_timeout: seconds for the first push to arrive whole, and for a push connection's next push.
        identify_silent: associate with a meter that announces nothing, to read who it is.
        handover_timeout: seconds a session waits for a heartbeat push in flight before it gets the socket.
        session_timeouts: the public association that identifies a silent meter.
    """

    host: str = "0.0.0.0"
    port: int = 4059
    max_connections: int = 1000
    announcement_timeout: float = 30.0
    identify_silent: bool = True
    handover_timeout: float = 10.0
    session_timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not 0-65535")
        if self.max_connections < 1:
            problems.append("at least 1 connection at a time")
        if min(self.announcement_timeout, self.handover_timeout) <= 0:
            problems.append("timeouts are positive seconds")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_settings(cls, settings: Settings, session_timeouts: Timeouts | None = None) -> DialInSettings:
        """The inbound port part of `settings` (METER_HOST, METER_PORT, HES_DIAL_IN_*); `session_timeouts` are the
        DLMS session timeouts (hes.connectivity.settings)."""
        return cls(
            host=settings.meter_host,
            port=settings.meter_port,
            max_connections=settings.dial_in_max_connections,
            announcement_timeout=settings.dial_in_announcement_timeout_seconds,
            identify_silent=settings.dial_in_identify_silent,
            handover_timeout=settings.dial_in_handover_timeout_seconds,
            session_timeouts=session_timeouts or cls().session_timeouts,
        )


class DialInServer:
    """Listens on the inbound meter port; see the module docstring. start() and close()."""

    def __init__(
        self, settings: DialInSettings, receiver: PushReceiver, registry: DialInRegistry | None = None
    ) -> None:
        """A server handing pushes to `receiver` and dial-in sockets to `registry` (a new one when None)."""
        self.settings = settings
        self.receiver = receiver
        self.registry = registry if registry is not None else DialInRegistry()
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}  # each connection's task and socket

    @property
    def port(self) -> int:
        """The port listened on (the one the system picked when the settings say 0)."""
        if self._server is None:
            raise RuntimeError("the dial-in server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def open_connections(self) -> int:
        """Connections open now, of every kind."""
        return len(self._open)

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._accept, self.settings.host, self.settings.port)
        logger.info("meters connect to %s:%d (dial-in and push)", self.settings.host, self.port)

    async def close(self) -> None:
        """Stop listening and close every connection (bounded by a shutdown timeout)."""
        if self._server is not None:
            self._server.close()
        self.registry.close_all()
        connections = dict(self._open)
        for writer in connections.values():
            writer.transport.abort()  # each connection's task wakes up to a lost connection and ends
        if connections:
            _, stuck = await asyncio.wait(connections, timeout=_SHUTDOWN_TIMEOUT)
            for task in stuck:  # waiting on something else (the ingest path): cancelled
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_SHUTDOWN_TIMEOUT):
                    await self._server.wait_closed()
            self._server = None
        await self.receiver.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if len(self._open) >= self.settings.max_connections:
            logger.warning("connection from %s refused: %d connections open", peer, len(self._open))
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None  # asyncio runs every client_connected_cb as a task
        self._open[task] = writer
        raw = writer.get_extra_info("socket")
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # find peers that vanished
        try:
            await self._serve(reader, writer, peer)
        except Exception:
            # A defect of ours, not the meter's: log it with its traceback; this connection ends, the server goes on.
            logger.exception("connection from %s failed", peer)
        finally:
            self._open.pop(task, None)
            writer.close()  # not awaited: nothing is left to send, and a peer that never acks must not hold us

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        framer = InboundFramer()
        try:
            pushes = await self._announcement(reader, framer)
        except DlmsError as error:
            logger.warning("connection from %s refused: %s: %s", peer, type(error).__name__, error.message)
            return
        if not pushes:
            if self.settings.identify_silent:
                await self._serve_silent(reader, writer, peer)
            else:
                logger.warning("connection from %s closed: no announcement within %s s", peer, self._timeout)
            return
        first, rest = pushes[0], pushes[1:]
        try:
            received = await self.receiver.identify(first)
        except PushRefused as refusal:
            await self.receiver.refuse(refusal, peer)
            return
        meter = received.meter
        if meter.connection_mode is not ConnectionMode.DIAL_IN:
            await self.receiver.store(received)
            await self.receiver.serve(reader, framer, rest, peer, idle_timeout=self._timeout, meter=meter)
            return
        if _refused_status(meter, peer):
            return
        details = _connected(peer, framer, "announcement")
        await self.receiver.store(received, [_event(meter, details)])
        await self._hold(meter, self._connection(meter, reader, writer, framer, peer), rest)

    async def _serve_silent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        """A meter that announced nothing: associate as the public client, read who it is, then hold its socket."""
        try:
            numbers = await self._ask_identity(reader, writer, peer)
        except DlmsError as error:
            logger.warning("connection from %s: silent, and no answer to who it is: %r", peer, error)
            return
        try:
            meter = await self.receiver.meter_by_numbers(numbers)
        except (DBAPIError, OSError) as error:
            logger.warning("connection from %s closed: meter lookup failed: %s", peer, error)
            return
        if meter is None:
            logger.warning("connection from %s refused: its serial or device name %s names no meter", peer, numbers)
            return
        if _refused_status(meter, peer):
            return
        framer = InboundFramer()
        await self.receiver.record(meter, METER_CONNECTED, _connected(peer, framer, "association"))
        await self._hold(meter, self._connection(meter, reader, writer, framer, peer), [])

    def _connection(
        self,
        meter: MeterLinkRow,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        framer: InboundFramer,
        peer: str,
    ) -> DialInConnection:
        return DialInConnection(
            meter.id,
            meter.meter_number,
            reader,
            writer,
            framer,
            peer,
            self._pushes,
            handover_timeout=self.settings.handover_timeout,
        )

    async def _hold(self, meter: MeterLinkRow, connection: DialInConnection, pending: list[InboundApdu]) -> None:
        """Register the meter's socket and pump it until it closes."""
        self.registry.add(connection)
        logger.info("meter %s dialled in from %s", connection.meter_number, connection.peer)
        try:
            if pending:
                await self._pushes(connection, pending)
            await connection.run()
        except DlmsError as error:
            reason = f"{type(error).__name__} while idle: {error.message}"
            await self.receiver.refuse(PushRefused(reason, meter), connection.peer)
        finally:
            connection.close()
            self.registry.discard(connection)

    async def _pushes(self, connection: DialInConnection, pushes: Sequence[InboundApdu]) -> None:
        """Heartbeat pushes of a held connection: stored like any push."""
        for push in pushes:
            await self.receiver.receive(push, connection.peer)

    async def _announcement(self, reader: asyncio.StreamReader, framer: InboundFramer) -> list[InboundApdu]:
        """The pushes the meter sent first; empty when it said nothing within the announcement timeout.

        Raises:
            ConnectionLost: it hung up first.
            DlmsTimeout: it sent part of a push, never the rest.
            RemoteDlmsError: garbage, a frame past the limits.
        """
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    data = await reader.read(_READ_SIZE)
                    if not data:
                        raise ConnectionLost("hung up before announcing itself")
                    pushes = framer.receive_data(data)
                    if pushes:
                        return pushes
        except TimeoutError:
            if framer.transport is not None:
                raise DlmsTimeout(f"an announcement not whole within {self._timeout} s") from None
            return []
        except (ConnectionError, OSError) as error:
            raise ConnectionLost(f"connection lost before the announcement: {error}") from None

    async def _ask_identity(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> list[str]:
        """The meter numbers the meter at the other end may have: its serial number (0-0:96.1.0.255), then what its
        logical device name (0-0:42.0.0.255) stands for, as the public client reads them."""
        host = peer.rsplit(":", 1)[0]
        link = MeterLink(
            0, "unidentified", host, client_address=PUBLIC_CLIENT, server_address=MANAGEMENT_LOGICAL_DEVICE
        )
        references = [ObjectReference(_DATA_CLASS, code, _VALUE) for code in (SERIAL_NUMBER, LOGICAL_DEVICE_NAME)]
        timeouts = self.settings.session_timeouts
        async with DlmsSession.over_stream(link, reader, writer, timeouts, close_stream=False) as session:
            serial, name = await session.get_attributes(references)
        numbers = []
        if serial.ok and isinstance(serial.value, bytes):
            numbers.append(serial.value.decode("ascii", "replace"))
        if name.ok and isinstance(name.value, bytes):
            numbers += meter_numbers_of(name.value)
        return numbers

    @property
    def _timeout(self) -> float:
        return self.settings.announcement_timeout


def _refused_status(meter: MeterLinkRow, peer: str) -> bool:
    if meter.status is MeterStatus.DECOMMISSIONED:
        logger.warning("meter %s dialled in from %s but is decommissioned: closed", meter.meter_number, peer)
        return True
    return False


def _connected(peer: str, framer: InboundFramer, identified_by: str) -> dict[str, str | int | float | bool | None]:
    transport = framer.transport.value if framer.transport is not None else "wrapper"
    return {"peer": peer, "transport": transport, "identifiedBy": identified_by}


def _event(meter: MeterLinkRow, details: dict[str, str | int | float | bool | None]) -> IncomingEvent:
    return IncomingEvent(
        meter.id, METER_CONNECTED, datetime.now(UTC), EventCategory.COMMUNICATION, Severity.INFO, None, details
    )


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)
