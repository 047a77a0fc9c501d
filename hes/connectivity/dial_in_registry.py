"""The sockets of dial-in meters, held between sessions and lent to one session at a time (`DialInStreams`).

A dial-in meter keeps the connection it opened, and the HES runs that meter's sessions over it. Between sessions
the meter still talks: its keep-alive is a push (the connectivity push again). So each connection has one pump
task, the only reader of its socket: while idle it cuts the octets into pushes and hands them on (their values are
stored); while lent, it passes every octet on unread to the session's reader, and an end of file too. The hand-over
happens on a frame boundary, so a session never starts in the middle of a heartbeat: when part of a push is in
flight, a lease waits for the rest (at most `handover_timeout`, then the connection is dropped as broken).

Leases are exclusive: `lease(meter_id)` gives a context manager whose entry waits (in turn) while another session
holds the socket; the caller bounds the wait with its own timeout. It returns None when the meter is not connected,
and its entry raises ConnectionLost when the meter hangs up (or dials again) while it waits. A session that fails
drops the socket (hes.connectivity.dlms.session): the connection is then gone from the registry; a meter that dials
again replaces its old connection, which is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime

from hes.connectivity.dlms.errors import ConnectionLost
from hes.connectivity.dlms.notification import InboundApdu, InboundFramer

__all__ = ["DialInConnection", "DialInRegistry", "PushHandler", "Streams"]

logger = logging.getLogger(__name__)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_READ_SIZE = 65536  # octets read at a time: a wrapper frame of the largest APDU fits


class DialInConnection:
    """One dial-in meter's socket: read by its pump while idle, lent to one session at a time."""

    def __init__(
        self,
        meter_id: int,
        meter_number: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        framer: InboundFramer,
        peer: str,
        on_pushes: PushHandler,
        *,
        handover_timeout: float = 10.0,
    ) -> None:
        """The connection of meter `meter_id` over `reader`/`writer`; `framer` may hold the start of a push."""
        self.meter_id = meter_id
        self.meter_number = meter_number
        self.peer = peer
        self.connected_at = datetime.now(UTC)
        self.leases = 0  # sessions lent the socket so far
        self._reader, self._writer = reader, writer
        self._framer = framer
        self._on_pushes = on_pushes
        self._handover_timeout = handover_timeout
        self._lock = asyncio.Lock()
        self._lent: asyncio.StreamReader | None = None  # the session's reader while the socket is lent
        self._handover_wanted = False
        self._handed_over = asyncio.Event()
        self._closed = asyncio.Event()

    @property
    def closed(self) -> bool:
        """Whether the socket is closed (hung up, dropped, replaced)."""
        return self._closed.is_set()

    @property
    def leased(self) -> bool:
        """Whether a session holds the socket now."""
        return self._lent is not None

    async def run(self) -> None:
        """The pump: read the socket until it closes; pushes while idle go to `on_pushes`.

        Raises:
            RemoteDlmsError: the meter sent something other than whole pushes while idle (the socket is closed).
        """
        try:
            while not self.closed:
                try:
                    data = await self._reader.read(_READ_SIZE)
                except (ConnectionError, OSError) as error:
                    logger.info("meter %s: dial-in connection %s lost: %s", self.meter_number, self.peer, error)
                    return
                lent = self._lent
                if lent is not None:
                    if not data:
                        return
                    lent.feed_data(data)
                    continue
                if not data:
                    logger.info("meter %s: dial-in connection %s closed by the meter", self.meter_number, self.peer)
                    return
                pushes = self._framer.receive_data(data)
                if self._handover_wanted and not self._framer.buffered:
                    self._hand_over()
                if pushes:
                    await self._on_pushes(self, pushes)
        finally:
            self.close()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Streams]:
        """The socket, for one session (see the module docstring); waits while another session holds it.

        Raises:
            ConnectionLost: the meter hung up or dialled again, or a push it was sending never ended.
        """
        async with self._lock:
            if self.closed:
                raise ConnectionLost(f"meter {self.meter_number} hung up")
            await self._take()
            lent = self._lent
            assert lent is not None  # _take handed the socket over
            self.leases += 1
            try:
                yield lent, self._writer
            finally:
                self._give_back()

    def close(self) -> None:
        """Close the socket now (a session holding it sees the connection lost)."""
        if self.closed:
            return
        self._closed.set()
        self._handed_over.set()  # a lease waiting for the hand-over wakes up to the closed connection
        if self._lent is not None:
            self._lent.feed_eof()
        self._writer.transport.abort()  # a meter that stopped reading must not hold the HES on its window

    async def wait_closed(self) -> None:
        """Wait until the socket is closed."""
        await self._closed.wait()

    async def _take(self) -> None:
        self._handover_wanted = True
        if not self._framer.buffered:
            self._hand_over()
            return
        try:
            async with asyncio.timeout(self._handover_timeout):
                await self._handed_over.wait()
        except TimeoutError:
            logger.warning("meter %s: a push on %s never ended; dropping the connection", self.meter_number, self.peer)
            self.close()
        if self.closed:
            self._handover_wanted = False
            raise ConnectionLost(f"meter {self.meter_number} hung up")

    def _hand_over(self) -> None:
        self._lent = asyncio.StreamReader()
        self._handover_wanted = False
        self._handed_over.set()
        if self._reader.at_eof():  # the meter hung up before the hand-over: the session sees it at once
            self._lent.feed_eof()

    def _give_back(self) -> None:
        self._lent = None
        self._handed_over.clear()
        # A failed session drops the socket; a clean one leaves it open (and the meter idle) for the next.
        if self._writer.is_closing():
            self.close()


# Handles the pushes a connection's pump cut while idle; may close the connection (pushes from another meter).
PushHandler = Callable[[DialInConnection, Sequence[InboundApdu]], Awaitable[None]]


class DialInRegistry:
    """The connected dial-in meters by id; the dispatcher's `DialInStreams` (see the module docstring)."""

    def __init__(self, on_connected: Callable[[int], None] | None = None) -> None:
        """An empty registry; `on_connected(meter_id)` is called each time a meter's connection is registered."""
        self._connections: dict[int, DialInConnection] = {}
        self._on_connected = on_connected

    def lease(self, meter_id: int) -> contextlib.AbstractAsyncContextManager[Streams] | None:
        """The open socket of a dial-in meter, held exclusively for one session; None when not connected."""
        connection = self._connections.get(meter_id)
        if connection is None or connection.closed:
            return None
        return connection.lease()

    def connection(self, meter_id: int) -> DialInConnection | None:
        """The meter's open connection, or None."""
        connection = self._connections.get(meter_id)
        return connection if connection is not None and not connection.closed else None

    def connected(self) -> list[int]:
        """Ids of the meters connected now."""
        return [meter_id for meter_id, connection in self._connections.items() if not connection.closed]

    def __len__(self) -> int:
        return len(self._connections)

    def add(self, connection: DialInConnection) -> None:
        """Register a meter's new connection; the one it had before (a redial) is closed."""
        previous = self._connections.get(connection.meter_id)
        self._connections[connection.meter_id] = connection
        if previous is not None and previous is not connection and not previous.closed:
            logger.info(
                "meter %s dialled again from %s: its connection from %s is closed",
                connection.meter_number,
                connection.peer,
                previous.peer,
            )
            previous.close()
        if self._on_connected is not None:
            try:
                self._on_connected(connection.meter_id)
            except Exception:
                logger.exception("dial-in listener failed for meter %s", connection.meter_number)

    def discard(self, connection: DialInConnection) -> None:
        """Forget `connection` (closed), unless the meter has dialled again meanwhile."""
        if self._connections.get(connection.meter_id) is connection:
            del self._connections[connection.meter_id]

    def close_all(self) -> None:
        """Close every connection (shutdown)."""
        for connection in list(self._connections.values()):
            connection.close()
        self._connections.clear()
