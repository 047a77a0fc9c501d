"""What enters the ingest path and what it hands on once stored: the seam every transport and listener shares.

Transports (DLMS poll and push, HTTP, MQTT, Socket.IO) build `IncomingReading`/`IncomingEvent` values and
submit them; after the batch is durable, listeners (real-time fan-out, alert rules) receive a `StoredBatch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
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
    """Many readings as parallel columns, one list per field: how readings travel through ingest and to listeners.

    OBIS codes are dictionary-encoded: `codes` holds each distinct code once and `code_index[i]` says which
    one reading i has, so no per-reading code object is built, hashed or compared on the hot path; a listener
    decides once per code what a code means to it.
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

    @classmethod
    def of(cls, readings: Sequence[IncomingReading]) -> ReadingColumns:
        """The column form of individual readings (DLMS and other low-volume transports submit these)."""
        positions: dict[ObisCode, int] = {}
        code_index = [positions.setdefault(reading.obis, len(positions)) for reading in readings]
        return cls(
            meter_ids=[reading.meter_id for reading in readings],
            codes=list(positions),
            code_index=code_index,
            timestamps=[reading.timestamp for reading in readings],
            values=[reading.value for reading in readings],
            units=[reading.unit for reading in readings],
            qualities=[reading.quality for reading in readings],
            sources=[reading.source for reading in readings],
        )

    @classmethod
    def joined(cls, parts: Sequence[ReadingColumns]) -> ReadingColumns:
        """The readings of every part, in order, with one code list for them all."""
        if len(parts) == 1:
            return parts[0]
        codes: dict[ObisCode, int] = {}
        code_index: list[int] = []
        for part in parts:
            local = [codes.setdefault(code, len(codes)) for code in part.codes]
            code_index.extend(map(local.__getitem__, part.code_index))
        return cls(
            meter_ids=list(chain.from_iterable(part.meter_ids for part in parts)),
            codes=list(codes),
            code_index=code_index,
            timestamps=list(chain.from_iterable(part.timestamps for part in parts)),
            values=list(chain.from_iterable(part.values for part in parts)),
            units=list(chain.from_iterable(part.units for part in parts)),
            qualities=list(chain.from_iterable(part.qualities for part in parts)),
            sources=list(chain.from_iterable(part.sources for part in parts)),
        )

    def take(self, keep: Sequence[int]) -> ReadingColumns:
        """The readings at positions `keep`, in that order (the code list is kept whole)."""
        return ReadingColumns(
            meter_ids=[self.meter_ids[i] for i in keep],
            codes=self.codes,
            code_index=[self.code_index[i] for i in keep],
            timestamps=[self.timestamps[i] for i in keep],
            values=[self.values[i] for i in keep],
            units=[self.units[i] for i in keep],
            qualities=[self.qualities[i] for i in keep],
            sources=[self.sources[i] for i in keep],
        )

    def without(self, positions: Sequence[int]) -> ReadingColumns:
        """These readings less those at `positions`."""
        if not positions:
            return self
        left_out = set(positions)
        return self.take([i for i in range(len(self)) if i not in left_out])


NO_READINGS = ReadingColumns((), (), (), (), (), (), (), ())


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

    readings: ReadingColumns
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
