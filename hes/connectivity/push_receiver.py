"""The push receiver: DataNotifications from meters, identified, deciphered, mapped and stored through ingest.

Pushes arrive on the inbound meter port (METER_HOST:METER_PORT), the port dial-in meters use too: the dial-in
server (hes.connectivity.dial_in) accepts every connection, hands its first push here, and keeps the socket only
for a meter whose record says it dials in; any other sender's connection is a push connection (IDIS push over
TCP: connect, push, hang up), read here until the meter hangs up.

Who sent a push:
- ciphered (general-glo-ciphering): the meter whose system title the APDU carries in the clear; the push is then
  deciphered with that meter's keys through gurux with the verified GCM (hes.connectivity.dlms.ciphering), its
  invocation counter must be above the last one accepted from the meter (kept on the meter's row, so a replay is
  refused after a restart and by every instance; in memory too, so a replay to the same process costs no
  query), and the logical device name inside must name the same meter;
- plain: the meter its logical device name names (the serial after the FLAG id, or the whole name). A meter that
  has keys must cipher: a plain push in its name is refused.
The values are mapped through the push object list (hes.connectivity.push_mapping) and submitted to ingest with
source DLMS_PUSH; a push is acknowledged to no one (DataNotification is unconfirmed), so a push ingest cannot take
is logged and lost. A refused push is logged once and, when its sender is a known meter, also stored as a
communication event (`push_rejected`); nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.connectivity.catalogue import brand_profile
from hes.connectivity.dlms.errors import DlmsError
from hes.connectivity.dlms.notification import (
    DataNotification,
    InboundApdu,
    InboundFramer,
    NotificationKeys,
    decode_notification,
    peek_system_title,
)
from hes.connectivity.push_counters import PushCounterClaims
from hes.connectivity.push_mapping import PushContents, device_name, map_push, meter_numbers_of
from hes.db.enums import EventCategory, Severity
from hes.db.store import events as event_log
from hes.db.store import meter_identity
from hes.db.store.meter_links import MeterLinkRow
from hes.ingest.errors import IngestError
from hes.ingest.ingestor import Ingestor
from hes.ingest.records import IncomingEvent, IngestReceipt
from hes.security.secret_box import SecretBox

__all__ = ["PUSH_REJECTED", "PushReceiver", "PushRefused", "ReceivedPush"]

logger = logging.getLogger(__name__)

PUSH_REJECTED = "push_rejected"
_READ_SIZE = 65536
_MAX_REASON = 200  # characters of a refusal's reason kept in its event
_Key = TypeVar("_Key", bytes, str)


@dataclass(frozen=True, slots=True)
class ReceivedPush:
    """A push whose sender is known and whose values are mapped, ready to store."""

    meter: MeterLinkRow
    notification: DataNotification
    contents: PushContents


class PushRefused(Exception):
    """A push that is not stored: why, and the meter it came from when that is known."""

    def __init__(self, reason: str, meter: MeterLinkRow | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.meter = meter


@dataclass(frozen=True, slots=True)
class _Cached:
    meter: MeterLinkRow | None
    fetched_at: float


class PushReceiver:
    """Identifies, deciphers, maps and stores pushes; one per process (it also remembers each meter's last counter)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ingestor: Ingestor,
        secret_box: SecretBox,
        *,
        cache_seconds: float = 60.0,
        note_interval: float = 60.0,
        max_cached: int = 1_000_000,
    ) -> None:
        """A receiver storing through `ingestor`; meters are looked up through `sessions`, cached `cache_seconds`.

        A meter's refused pushes are recorded as an event at most once per `note_interval` seconds.
        """
        self._sessions = sessions
        self._ingestor = ingestor
        self._box = secret_box
        self._cache_seconds = cache_seconds
        self._max_cached = max_cached
        self._by_title: dict[bytes, _Cached] = {}
        self._by_number: dict[str, _Cached] = {}
        # (meter id, its sealed key) -> the highest invocation counter accepted from it: new keys count afresh.
        self._counters: dict[tuple[int, bytes], int] = {}
        self._claims = PushCounterClaims(sessions)
        self._note_interval = note_interval
        self._noted: dict[int, float] = {}  # meter id -> when its last push_rejected event was written

    async def close(self) -> None:
        """Wait for the push counters being recorded."""
        await self._claims.close()

    def forget(self) -> None:
        """Drop the cached meters (after their keys or numbers changed); the counters are kept."""
        self._by_title.clear()
        self._by_number.clear()

    # ------------------------------------------------------------------------------------------------ one push

    async def receive(self, push: InboundApdu, peer: str) -> ReceivedPush | None:
        """Identify, map and store one push; None when it was refused (then logged, and recorded as an event)."""
        try:
            received = await self.identify(push)
        except PushRefused as refusal:
            await self.refuse(refusal, peer)
            return None
        await self.store(received)
        return received

    async def receive_frames(self, frames: Sequence[bytes], peer: str) -> int:
        """Store the pushes a session collected (DlmsSession.notifications: frames as the meter sent them).

        Returns how many pushes were stored. Frames that are no push (the HDLC client also keeps some frames of
        the session there) are skipped.
        """
        framer, pushes = InboundFramer(), list[InboundApdu]()
        for frame in frames:
            try:
                pushes += framer.receive_data(frame)
            except DlmsError as error:
                logger.debug("a frame from %s kept by a session is no push: %s", peer, _reason(error))
                framer = InboundFramer()
        stored = 0
        for push in pushes:
            stored += await self.receive(push, peer) is not None
        return stored

    async def identify(self, push: InboundApdu, received_at: datetime | None = None) -> ReceivedPush:
        """Who sent `push`, and what it says (nothing is stored).

        Raises:
            PushRefused: the sender is unknown, or the push is malformed, wrongly ciphered, replayed or names
                another meter than the one its system title names.
        """
        meter, notification = await self._sender(push)
        try:
            contents = map_push(meter.id, brand_profile(meter.brand), notification, received_at or datetime.now(UTC))
        except DlmsError as error:
            raise PushRefused(_reason(error), meter) from error
        if contents.device_name is not None and meter.meter_number not in meter_numbers_of(contents.device_name):
            name = contents.device_name.decode("ascii", "replace")
            raise PushRefused(f"the push names device {name!r}, not meter {meter.meter_number}", meter)
        if notification.invocation_counter is not None:
            await self._claim_counter(meter, notification.invocation_counter)
        return ReceivedPush(meter, notification, contents)

    async def store(self, received: ReceivedPush, events: Sequence[IncomingEvent] = ()) -> IngestReceipt | None:
        """Submit a push's readings and events (and `events`) to ingest; None when ingest could not take them."""
        contents = received.contents
        try:
            receipt = await self._ingestor.submit(contents.readings, (*contents.events, *events))
        except IngestError as error:
            # DataNotification is unconfirmed: there is no one to tell; the meter's next push carries newer values.
            logger.warning("meter %s: push not stored: %s", received.meter.meter_number, error)
            return None
        if receipt.rejected or receipt.rejected_events:
            logger.warning(
                "meter %s: ingest refused %d reading(s), %d event(s) of a push: %s",
                received.meter.meter_number,
                len(receipt.rejected),
                len(receipt.rejected_events),
                sorted({rejection.reason for rejection in (*receipt.rejected, *receipt.rejected_events)}),
            )
        return receipt

    async def refuse(self, refusal: PushRefused, peer: str) -> None:
        """Log a refused push, and record it as a `push_rejected` event when its sender is a known meter.

        The event is written straight to the event log, not through ingest: a refused push proves nothing about the
        meter, so it must not mark it seen or online. One event per meter per `note_interval` seconds at most, so a
        stream of garbage in a meter's name cannot flood the log.
        """
        meter = refusal.meter
        if meter is None:
            logger.warning("push from %s refused: %s", peer, refusal.reason)
            return
        logger.warning("meter %s: push from %s refused: %s", meter.meter_number, peer, refusal.reason)
        now = time.monotonic()
        noted = self._noted.get(meter.id)
        if noted is not None and now - noted < self._note_interval:
            return
        if len(self._noted) >= self._max_cached:
            self._noted.clear()
        self._noted[meter.id] = now
        details: dict[str, str | int | float | bool | None] = {"peer": peer, "reason": refusal.reason[:_MAX_REASON]}
        event = IncomingEvent(
            meter.id, PUSH_REJECTED, datetime.now(UTC), EventCategory.COMMUNICATION, Severity.WARNING, None, details
        )
        try:
            async with self._sessions() as session:
                await event_log.insert_events(session, [event])
                await session.commit()
        except (DBAPIError, OSError) as error:
            logger.warning("meter %s: push_rejected event not stored: %s", meter.meter_number, error)

    async def record(
        self,
        meter: MeterLinkRow,
        event_type: str,
        details: dict[str, str | int | float | bool | None],
        severity: Severity = Severity.INFO,
    ) -> None:
        """Store a communication event of a contact with `meter` through ingest (which marks the meter seen).

        A failure to store it is logged, never raised.
        """
        event = IncomingEvent(
            meter.id, event_type, datetime.now(UTC), EventCategory.COMMUNICATION, severity, None, details
        )
        try:
            await self._ingestor.submit([], [event])
        except IngestError as error:
            logger.warning("meter %s: event %s not stored: %s", meter.meter_number, event_type, error)

    # ------------------------------------------------------------------------------------------------ connections

    async def serve(
        self,
        reader: asyncio.StreamReader,
        framer: InboundFramer,
        pending: Sequence[InboundApdu],
        peer: str,
        *,
        idle_timeout: float,
        meter: MeterLinkRow | None = None,
    ) -> None:
        """Take the pushes of a push connection until the meter hangs up or stays silent `idle_timeout` seconds.

        `pending` are APDUs already cut by `framer`; `meter` is the sender known so far (for events on garbage).
        """
        while True:
            for push in pending:
                received = await self.receive(push, peer)
                meter = received.meter if received is not None else meter
            try:
                async with asyncio.timeout(idle_timeout):
                    data = await reader.read(_READ_SIZE)
            except TimeoutError:
                logger.info("push connection %s closed after %.0f s of silence", peer, idle_timeout)
                return
            except (ConnectionError, OSError) as error:
                logger.info("push connection %s lost: %s", peer, error)
                return
            if not data:
                if framer.buffered:
                    logger.info("push connection %s hung up in the middle of a push", peer)
                return
            try:
                pending = framer.receive_data(data)
            except DlmsError as error:
                await self.refuse(PushRefused(_reason(error), meter), peer)
                return

    # ------------------------------------------------------------------------------------------------ lookups

    async def meter_by_numbers(self, numbers: Sequence[str]) -> MeterLinkRow | None:
        """The meter with the first of `numbers` that a meter has (cached lookups).

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: a lookup needed the database and it did not answer.
        """
        for number in dict.fromkeys(numbers):
            meter = await self._cached(self._by_number, number, self._fetch_number)
            if meter is not None:
                return meter
        return None

    async def _sender(self, push: InboundApdu) -> tuple[MeterLinkRow, DataNotification]:
        """The meter that sent `push`, and the push decoded (deciphered with that meter's keys)."""
        try:
            title = peek_system_title(push.apdu)
            if title is None:
                notification = decode_notification(push.apdu)
                meter = await self._meter_named(notification)
                if meter.block_cipher_key_enc is not None:
                    raise PushRefused("an unprotected push in the name of a meter that ciphers its pushes", meter)
                return meter, notification
            found = await self._cached(self._by_title, title, self._fetch_title)
        except DlmsError as error:
            raise PushRefused(_reason(error)) from error
        except (DBAPIError, OSError) as error:
            raise PushRefused(f"meter lookup failed: {error}") from error
        if found is None:
            raise PushRefused(f"ciphered push from system title {title.hex().upper()}: no such meter")
        try:
            return found, self._decode(push, found)
        except DlmsError as error:
            raise PushRefused(_reason(error), found) from error

    def _decode(self, push: InboundApdu, meter: MeterLinkRow) -> DataNotification:
        if meter.block_cipher_key_enc is None or meter.authentication_key_enc is None:
            raise PushRefused("a ciphered push from a meter without both keys on record", meter)
        try:
            keys = NotificationKeys(
                self._box.open(meter.block_cipher_key_enc), self._box.open(meter.authentication_key_enc)
            )
        except ValueError as error:
            # The keys on record cannot be opened (HES_DATA_KEY changed) or are not AES-128 keys.
            raise PushRefused(f"the meter's keys cannot be used: {error}", meter) from None
        return decode_notification(push.apdu, keys, last_counter=self._counters.get(_counter_key(meter)))

    async def _claim_counter(self, meter: MeterLinkRow, counter: int) -> None:
        """Record `counter` as the meter's last accepted one, or refuse the push as a replay."""
        try:
            advanced = await self._claims.claim(meter.id, counter)
        except (DBAPIError, OSError) as error:
            raise PushRefused(f"the push's invocation counter could not be checked: {error}", meter) from error
        if not advanced:
            raise PushRefused(f"replayed push: invocation counter {counter} is not above the last accepted", meter)
        self._counters[_counter_key(meter)] = counter

    async def _meter_named(self, notification: DataNotification) -> MeterLinkRow:
        name = device_name(notification)
        if name is None:
            raise PushRefused("a plain push without a logical device name")
        meter = await self.meter_by_numbers(meter_numbers_of(name))
        if meter is not None:
            return meter
        raise PushRefused(f"push from device {name.decode('ascii', 'replace')!r}: no such meter")

    async def _cached(
        self,
        entries: dict[_Key, _Cached],
        key: _Key,
        fetch: Callable[[AsyncSession, _Key], Awaitable[MeterLinkRow | None]],
    ) -> MeterLinkRow | None:
        now = time.monotonic()
        entry = entries.get(key)
        if entry is not None and now - entry.fetched_at <= self._cache_seconds:
            return entry.meter
        async with self._sessions() as session:
            identity = await fetch(session, key)
        if len(entries) >= self._max_cached:
            entries.clear()  # a bound on memory far above a fleet; refilled on demand
        entries[key] = _Cached(identity, now)
        return identity

    @staticmethod
    async def _fetch_title(session: AsyncSession, title: bytes) -> MeterLinkRow | None:
        return await meter_identity.by_system_title(session, title)

    @staticmethod
    async def _fetch_number(session: AsyncSession, number: str) -> MeterLinkRow | None:
        found = await meter_identity.by_numbers(session, [number])
        return found[0] if found else None


def _reason(error: DlmsError) -> str:
    return f"{type(error).__name__}: {error.message}"


def _counter_key(meter: MeterLinkRow) -> tuple[int, bytes]:
    return meter.id, meter.block_cipher_key_enc or b""
