"""What enters the ingest path and what it hands on once stored: the seam every transport and listener shares.

Transports (DLMS poll and push, HTTP, MQTT, Socket.IO) build `IncomingReading`/`IncomingEvent` values and
submit them; after the batch is durable, listeners (real-time fan-out, alert rules) receive a `StoredBatch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hes.db.enums import EventCategory, ReadingQuality, ReadingSource, Severity
from hes.obis.codes import ObisCode


@dataclass(frozen=True, slots=True)
class IncomingReading:
    """One value as a transport received it, already tied to a known meter (id) and OBIS code."""

    meter_id: int
    obis: ObisCode
    timestamp: datetime  # timezone-aware; stored in UTC
    value: float
    unit: str | None = None
    quality: ReadingQuality = ReadingQuality.GOOD
    source: ReadingSource = ReadingSource.DLMS_POLL


@dataclass(frozen=True, slots=True)
class ReadingColumns:
    """Many readings as parallel columns: what high-volume transports (HTTP) submit, one list per field.

    OBIS codes are dictionary-encoded: `codes` holds each distinct code once and `code_index[i]` says which
    one reading i has, so no per-reading code object is built, hashed or compared on the hot path.
    """

    meter_ids: Sequence[int]
    codes: Sequence[ObisCode]
    code_index: Sequence[int]
    timestamps: Sequence[datetime]  # timezone-aware; naive ones are rejected
    values: Sequence[float]
    units: Sequence[str | None]
    qualities: Sequence[ReadingQuality]
    sources: Sequence[ReadingSource]

    def __len__(self) -> int:
        return len(self.meter_ids)


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """Something a meter reported or the HES observed about it (tamper, power failure, communication loss)."""

    meter_id: int
    event_type: str  # a name from the event catalogue, e.g. "cover_opened", "communication_lost"
    timestamp: datetime  # timezone-aware
    category: EventCategory
    severity: Severity = Severity.INFO
    code: int | None = None  # the meter's own event code, when it sent one
    details: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MeterTouch:
    """A meter the batch heard from: its area (for room fan-out) and whether it just came back online."""

    meter_id: int
    meter_number: str
    area_code: str | None
    last_seen_at: datetime
    came_online: bool


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as written: its id and the incoming event it came from."""

    id: int
    event: IncomingEvent


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """What one durable write stored: new readings (repeats left out), events, and the meters touched."""

    readings: tuple[IncomingReading, ...]
    events: tuple[StoredEvent, ...]
    meters: tuple[MeterTouch, ...]


@dataclass(frozen=True, slots=True)
class Rejection:
    """One submitted reading or event that was refused: its position, the field at fault and why."""

    index: int
    field: str
    reason: str  # a short code: "not_finite", "future_timestamp", "unknown_meter", ...
    value: str | int | float | bool | None = None


@dataclass(frozen=True, slots=True)
class IngestReceipt:
    """The answer to one submission, given once it is durable: what was new, what was already stored, refused."""

    accepted: int  # readings stored by this submission
    duplicates: int  # readings that were already stored (a repeat is not an error)
    rejected: tuple[Rejection, ...] = ()  # readings refused (index into the submitted readings)
    events_accepted: int = 0
    events_duplicates: int = 0
    rejected_events: tuple[Rejection, ...] = ()  # events refused (index into the submitted events)


class IngestListener(Protocol):
    """Told about each batch after it is durable (real-time fan-out, rules). Must not raise; must be quick."""

    async def batch_stored(self, batch: StoredBatch) -> None:
        """Handle one stored batch."""
