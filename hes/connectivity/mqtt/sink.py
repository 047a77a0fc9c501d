"""Where the MQTT channel hands what meters send: the ingest path, behind a narrow protocol.

The channel depends only on `MeterDataSink`; `IngestorSink` is its implementation on the one ingest path
(hes.ingest.intake.take_in), so meter numbers, OBIS codes, timestamps and values are checked there exactly as
for HTTP, and nothing is acknowledged to the broker before `take_in` says it is durable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.enums import EventCategory, ReadingSource, Severity
from hes.db.store import meter_contact
from hes.db.store.meter_contact import MeterRef
from hes.ingest.ingestor import Ingestor
from hes.ingest.intake import IntakeResult, NamedEvent, NamedReadings, SenderScope, take_in
from hes.ingest.records import IncomingEvent

# The event logged against a meter whose MQTT message (or part of it) was refused.
PAYLOAD_REJECTED = "mqtt_payload_rejected"
NoteValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class CommunicationNote:
    """Something wrong with what a meter sent over MQTT, to be logged as a communication event of that meter."""

    meter_number: str
    reason: str
    details: Mapping[str, NoteValue] = field(default_factory=dict)


class MeterDataSink(Protocol):
    """What the MQTT channel needs from the ingest path."""

    async def take_in(self, readings: NamedReadings, events: Sequence[NamedEvent]) -> IntakeResult:
        """Check and store readings and events named by meter number; return once what was accepted is durable.

        Raises:
            Exception: nothing of this call was stored (database down, ingest overloaded or closing).
        """
        ...

    async def touch(self, meter_numbers: Collection[str]) -> None:
        """Record that these meters were heard from now (a status message); unknown numbers are ignored."""
        ...

    async def report(self, notes: Sequence[CommunicationNote]) -> None:
        """Log each note as a communication event of its meter; notes about unknown meters are dropped."""
        ...


@dataclass(frozen=True, slots=True)
class _BrokerAuthenticated(SenderScope):
    """The scope of MQTT senders: the broker's ACL already let each meter publish only on its own topics."""

    def allows(self, meter: MeterRef) -> bool:
        """Every meter: the topic that named it was checked by the broker against the sender's username."""
        return True


class IngestorSink:
    """`MeterDataSink` on the Ingestor: readings and events through `take_in`, notes as communication events."""

    def __init__(self, ingestor: Ingestor, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._ingestor = ingestor
        self._sessions = sessions
        self._scope = _BrokerAuthenticated()

    async def take_in(self, readings: NamedReadings, events: Sequence[NamedEvent]) -> IntakeResult:
        """Through the one ingest path, as MQTT readings."""
        return await take_in(self._ingestor, self._scope, readings, events, ReadingSource.MQTT)

    async def touch(self, meter_numbers: Collection[str]) -> None:
        """Move the meters' last-seen to now (and an offline or installed meter to online)."""
        meters = await self._ingestor.directory.by_numbers(meter_numbers)
        if not meters:
            return
        # The Ingestor takes no reading-less "seen" submission yet, so the contact is recorded here with the
        # ingest path's own store function, in a transaction of its own (it never commits inside).
        async with self._sessions() as session:
            await meter_contact.mark_seen(session, [meter.id for meter in meters.values()], datetime.now(UTC))
            await session.commit()

    async def report(self, notes: Sequence[CommunicationNote]) -> None:
        """Store the notes as `mqtt_payload_rejected` events (category communication) through the ingest path."""
        meters = await self._ingestor.directory.by_numbers({note.meter_number for note in notes})
        now = datetime.now(UTC)
        events = [
            IncomingEvent(
                meter_id=meters[note.meter_number].id,
                event_type=PAYLOAD_REJECTED,
                timestamp=now,
                category=EventCategory.COMMUNICATION,
                severity=Severity.WARNING,
                details={"reason": note.reason, **note.details},
            )
            for note in notes
            if note.meter_number in meters
        ]
        if events:
            await self._ingestor.submit((), events)
