"""The asyncio driver of one DLMS session: a socket, timeouts, and the sans-IO client core (DlmsClient).

Two ways in:
- outbound: `await DlmsSession.connect(link, timeouts)` opens TCP to the meter's host:port and associates;
- dial-in: `await DlmsSession.over_stream(link, reader, writer, timeouts)` associates over a connection the meter
  opened to the HES (the caller has read its announcement).
Both also work as `async with DlmsSession.connect(...) as session:`; leaving the block releases the association
(bounded by the release timeout) and closes the connection, whatever happened inside.

Every request frame waits at most `timeouts.response` for its whole answer (a segment or GET block counts as a
request of its own). A timeout, a lost connection or a remote protocol error ends the session: the socket is
dropped at once and the error raised as one of hes.connectivity.dlms.errors, so a faulty meter costs one
session and never delays another. A meter's refusal of one attribute or method (DataAccessError, ActionError)
leaves the session usable. After the session, `invocation_counter` is the next counter to persist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeVar

from hes.connectivity.dlms import profile_reads, reads
from hes.connectivity.dlms.client import DlmsClient
from hes.connectivity.dlms.errors import ConnectionLost, DlmsError, DlmsTimeout, MeterUnreachable
from hes.connectivity.dlms.exchange import NEED_DATA, Exchange, Send
from hes.connectivity.dlms.limits import ClientLimits
from hes.connectivity.dlms.link import MeterLink
from hes.connectivity.dlms.reads import SessionCache
from hes.connectivity.dlms.state import SessionState
from hes.connectivity.dlms.values import (
    ClockReading,
    CosemValue,
    DlmsData,
    GetResult,
    ObjectReference,
    ProfileReading,
    RegisterReading,
)
from hes.obis.codes import ObisCode
from hes.obis.profile_types import BrandProfile
from hes.obis.profiles import load_profile

__all__ = ["DlmsSession", "SessionOpening", "SessionStats", "Timeouts"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_READ_SIZE = 65536  # octets asked of the socket per read: one wrapper frame of the largest PDU fits


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a session waits, in seconds.

    Attributes:
        connect: for the TCP connection to open (outbound sessions).
        response: for the whole answer to one request frame (OSGP's default is 120 s; 2G round trips take 1 s).
        release: for the meter to confirm a release when the session closes; past it the socket is dropped.
    """

    connect: float = 10.0
    response: float = 30.0
    release: float = 5.0

    def __post_init__(self) -> None:
        if min(self.connect, self.response, self.release) <= 0:
            raise ValueError("timeouts are positive numbers of seconds")


@dataclass(slots=True)
class SessionStats:
    """What one session cost: round trips, octets each way, and their time (seconds)."""

    round_trips: int = 0
    octets_sent: int = 0
    octets_received: int = 0
    round_trip_seconds: float = 0.0  # all round trips together: divide by round_trips for the mean
    slowest_round_trip: float = 0.0


class SessionOpening:
    """What connect()/over_stream() return: await it for the session, or use it as `async with`."""

    def __init__(self, opening: Awaitable[DlmsSession]) -> None:
        self._opening = opening
        self._session: DlmsSession | None = None

    def __await__(self) -> Generator[object, None, DlmsSession]:
        return self._opening.__await__()

    async def __aenter__(self) -> DlmsSession:
        self._session = await self._opening
        return self._session

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()


class DlmsSession:
    """One associated DLMS session with one meter over one stream; one request at a time."""

    def __init__(
        self,
        link: MeterLink,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeouts: Timeouts,
        limits: ClientLimits | None = None,
        *,
        close_stream: bool = True,
    ) -> None:
        """A session in state idle over `reader`/`writer`; use connect() or over_stream() instead."""
        self.link = link
        self.timeouts = timeouts
        self.stats = SessionStats()
        self.cache = SessionCache()
        self._client = DlmsClient(link, limits)
        self._reader, self._writer = reader, writer
        self._close_stream = close_stream
        self._profile: BrandProfile | None = None

    # ------------------------------------------------------------------------------------------------ opening

    @classmethod
    def connect(
        cls, link: MeterLink, timeouts: Timeouts | None = None, *, limits: ClientLimits | None = None
    ) -> SessionOpening:
        """Open TCP to `link.host`:`link.port` and associate.

        Raises (when awaited):
            MeterUnreachable: the connection cannot be opened within `timeouts.connect`.
            DlmsError: the association fails (AssociationRejected for a wrong password or key, DlmsTimeout, ...).
        """
        return SessionOpening(cls._connect(link, timeouts or Timeouts(), limits))

    @classmethod
    def over_stream(
        cls,
        link: MeterLink,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeouts: Timeouts | None = None,
        *,
        limits: ClientLimits | None = None,
        close_stream: bool = True,
    ) -> SessionOpening:
        """Associate over a connection the meter opened (dial-in); the session owns the stream.

        Args:
            close_stream: close the connection when the session closes; False keeps it for another session
                (the association is still released), unless the session failed.

        Raises (when awaited):
            DlmsError: the association fails.
        """
        session = cls(link, reader, writer, timeouts or Timeouts(), limits, close_stream=close_stream)
        return SessionOpening(session._open())

    @classmethod
    async def _connect(cls, link: MeterLink, timeouts: Timeouts, limits: ClientLimits | None) -> DlmsSession:
        where = f"{link.host}:{link.port}"
        try:
            async with asyncio.timeout(timeouts.connect):
                reader, writer = await asyncio.open_connection(link.host, link.port)
        except TimeoutError:
            raise MeterUnreachable(f"no TCP connection to {where} within {timeouts.connect} s") from None
        except OSError as error:
            raise MeterUnreachable(f"no TCP connection to {where}: {error.strerror or error}") from None
        return await cls(link, reader, writer, timeouts, limits)._open()

    async def _open(self) -> DlmsSession:
        try:
            await self._run(self._client.associate)
        except BaseException:
            await self._drop()
            raise
        return self

    async def __aenter__(self) -> DlmsSession:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------------------ state

    @property
    def state(self) -> SessionState:
        """Where the session is (hes.connectivity.dlms.state)."""
        return self._client.state

    @property
    def invocation_counter(self) -> int:
        """The next invocation counter to use with this meter's keys: persist it after the session."""
        return self._client.invocation_counter

    @property
    def notifications(self) -> list[bytes]:
        """Frames of pushes (DataNotification) the meter sent during the session, oldest first."""
        return self._client.notifications

    @property
    def profile(self) -> BrandProfile:
        """The meter's brand profile (which interface class each OBIS code is)."""
        if self._profile is None:
            self._profile = load_profile(self.link.brand)
        return self._profile

    async def release(self) -> None:
        """Release the association (RLRQ/RLRE, DISC/UA on HDLC).

        Raises:
            DlmsError: the meter does not confirm; the session is then in error and its connection dropped.
        """
        await self._run(self._client.release)

    async def close(self) -> None:
        """Release if associated (bounded by the release timeout, failures only logged) and close the stream."""
        if self.state is SessionState.ASSOCIATED and not self._client.busy:  # busy: a request was cancelled
            try:
                async with asyncio.timeout(self.timeouts.release):
                    await self.release()
            except (DlmsError, TimeoutError) as error:
                logger.info("meter %s: release not confirmed: %s", self.link.meter_number, error)
        if self.state is SessionState.CLOSED and not self._close_stream:
            return
        await self._drop()

    async def _drop(self) -> None:
        """Close the connection now; a session still open counts as hung up."""
        if self.state is not SessionState.CLOSED and self.state is not SessionState.ERROR:
            self._client.close()
        writer = self._writer
        if writer.is_closing():
            return
        if self.state is SessionState.ERROR:
            writer.transport.abort()  # a broken peer may never read: do not wait on its window
        else:
            writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(self.timeouts.release):
                await writer.wait_closed()

    # ------------------------------------------------------------------------------------------------ requests

    async def get_attributes(self, references: Sequence[ObjectReference]) -> list[GetResult]:
        """GET attributes in as few round trips as the meter allows; one result per reference, in order.

        Attributes a GET-with-list refused are read again one by one, for their own data-access-result.
        """
        unique = list(dict.fromkeys(references))
        if not unique:
            return []
        results = await self._run(lambda: self._client.get(unique))
        refused = [result.reference for result in results if not result.ok]
        if refused and len(unique) > 1 and self._client.multiple_references:
            singles = await self._run(lambda: self._client.get(refused, with_list=False))
            again = {result.reference: result for result in singles}
            results = [again.get(result.reference, result) for result in results]
        by_reference = {result.reference: result for result in results}
        return [by_reference[reference] for reference in references]

    async def get_timed(self, reference: ObjectReference) -> tuple[GetResult, datetime]:
        """GET one attribute, and the HES's UTC time at the middle of its round trip."""
        before = time.time()
        (result,) = await self._run(lambda: self._client.get([reference]))
        return result, datetime.fromtimestamp((before + time.time()) / 2, UTC)

    async def get_range(self, profile: ObisCode, sort: ObjectReference, start: datetime, end: datetime) -> GetResult:
        """GET a profile generic's buffer by range of its clock column."""
        return await self._run(lambda: self._client.get_range(profile, sort, start, end))

    async def set_attribute(self, reference: ObjectReference, value: DlmsData) -> None:
        """SET one attribute.

        Raises:
            DataAccessError: the meter refused (the session stays usable).
        """
        await self._run(lambda: self._client.set(reference, value))

    async def invoke_method(
        self, class_id: int, obis: ObisCode, method: int, parameter: DlmsData | None = None
    ) -> CosemValue:
        """ACTION one method; what it returned (usually None).

        Raises:
            ActionError: the meter refused or failed (the session stays usable).
        """
        return await self._run(lambda: self._client.invoke(class_id, obis, method, parameter))

    # ------------------------------------------------------------------------------------------------ typed reads

    async def read_clock(self) -> ClockReading:
        """The meter's clock in UTC, and its drift against the HES's clock."""
        return await reads.read_clock(self)

    async def read_registers(self, codes: Sequence[ObisCode]) -> list[RegisterReading]:
        """Data, register, extended and demand register values, scaled, with units (see reads.read_registers)."""
        return await reads.read_registers(self, codes)

    async def read_attribute(self, code: ObisCode, attribute: int) -> CosemValue:
        """One attribute of an object of the brand profile, as decoded."""
        return await reads.read_attribute(self, code, attribute)

    async def read_profile(self, code: ObisCode, start: datetime, end: datetime) -> ProfileReading:
        """A profile generic's rows from `start` to `end` (load profile, billing, event log), scaled, in UTC."""
        return await profile_reads.read_profile(self, code, start, end)

    async def set_clock(self, moment: datetime, deviation: int | None = None) -> None:
        """Set the meter's clock to `moment` (see reads.set_clock)."""
        await reads.set_clock(self, moment, deviation)

    async def write_attribute(self, code: ObisCode, attribute: int, value: DlmsData) -> None:
        """SET one attribute of an object of the brand profile."""
        await reads.write_attribute(self, code, attribute, value)

    async def action(self, code: ObisCode, method: int, parameter: DlmsData | None = None) -> CosemValue:
        """Invoke one method of an object of the brand profile (e.g. disconnect control method 1 or 2)."""
        return await reads.action(self, code, method, parameter)

    # ------------------------------------------------------------------------------------------------ driver

    async def _run(self, start: Callable[[], Exchange[T]]) -> T:
        """Start one exchange and drive it to its end: send, read, send what the client asks next, until DONE."""
        try:
            exchange = start()
            frame = exchange.request
            while True:
                step = await self._round_trip(frame)
                if not isinstance(step, Send):
                    return exchange.result()
                frame = step.data
        except DlmsError as error:
            if error.ends_session:
                logger.info("meter %s: session ended: %r", self.link.meter_number, error)
                await self._drop()
            raise

    async def _round_trip(self, frame: bytes) -> object:
        started = time.monotonic()
        stats = self.stats
        try:
            async with asyncio.timeout(self.timeouts.response):
                self._writer.write(frame)
                await self._writer.drain()
                stats.octets_sent += len(frame)
                while True:
                    data = await self._reader.read(_READ_SIZE)
                    if not data:
                        raise ConnectionLost("the meter closed the connection")
                    stats.octets_received += len(data)
                    step = self._client.receive_data(data)
                    if step is not NEED_DATA:
                        break
        except TimeoutError:
            self._client.fail()
            raise DlmsTimeout(f"no whole answer within {self.timeouts.response} s") from None
        except ConnectionLost:
            self._client.fail()
            raise
        except (ConnectionError, OSError) as error:
            self._client.fail()
            raise ConnectionLost(f"connection lost: {error}") from None
        elapsed = time.monotonic() - started
        stats.round_trips += 1
        stats.round_trip_seconds += elapsed
        stats.slowest_round_trip = max(stats.slowest_round_trip, elapsed)
        return step
