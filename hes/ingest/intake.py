"""Readings and events as devices name them (meter number, OBIS text, event code) into the ingest path.

Senders that push data themselves (HTTP, MQTT) name meters by number and codes by text. This resolves
both from memory (meter directory, OBIS catalogue), refuses per item what cannot be stored or what the
sender may not send, maps event codes through the event catalogue, submits the rest and reports every
refusal against the sender's own item positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from hes.db.enums import EventCategory, ReadingQuality, ReadingSource, Severity
from hes.db.store.meter_contact import MeterRef
from hes.ingest.errors import IngestUnavailable
from hes.ingest.event_codes import UNKNOWN_EVENT_TYPE, describe
from hes.ingest.ingestor import Ingestor
from hes.ingest.records import IncomingEvent, ReadingColumns, Rejection
from hes.obis.codes import ObisCode

UNKNOWN_METER = "unknown_meter"
METER_NOT_ALLOWED = "meter_not_allowed"
DetailValue = str | int | float | bool | None
# The wire names of the fields the ingest path itself checks.
_WIRE_FIELDS = {"meterId": "meterNumber"}


@dataclass(frozen=True, slots=True)
class SenderScope:
    """The meters a sender may send for: one meter, or every meter of one concentrator (a gateway)."""

    meter_id: int | None = None
    concentrator_id: str | None = None

    def allows(self, meter: MeterRef) -> bool:
        """True when this sender may send data for `meter`."""
        if self.meter_id is not None:
            return meter.id == self.meter_id
        return self.concentrator_id is not None and meter.concentrator_id == self.concentrator_id


@dataclass(frozen=True, slots=True)
class NamedReadings:
    """Readings as parallel columns named the device's way; `positions` are their indexes in the request."""

    meter_numbers: Sequence[str]
    obis: Sequence[str]
    timestamps: Sequence[datetime]
    values: Sequence[float]
    units: Sequence[str | None]
    positions: Sequence[int] | None = None  # None: 0, 1, 2, ...


@dataclass(frozen=True, slots=True)
class NamedEvent:
    """An event as a device reports it: meter number, event code, time, free details."""

    position: int
    meter_number: str
    code: int
    timestamp: datetime
    details: Mapping[str, DetailValue]


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One refused item, by its position in the request: which field and why."""

    item: str  # "reading" or "event"
    index: int
    meter_number: str | None
    field: str
    reason: str
    value: DetailValue = None


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What was stored (new and repeated readings and events) and what was refused."""

    accepted: int
    duplicates: int
    events_accepted: int
    events_duplicates: int
    rejected: tuple[ItemProblem, ...]


async def take_in(
    ingestor: Ingestor,
    scope: SenderScope,
    readings: NamedReadings,
    events: Sequence[NamedEvent] = (),
    source: ReadingSource = ReadingSource.HTTP,
) -> IntakeResult:
    """Resolve, check and submit; return once what was accepted is durable.

    Raises:
        IngestOverloaded, IngestUnavailable: from `Ingestor.submit`; nothing of this request was stored.
    """
    numbers = set(readings.meter_numbers).union(event.meter_number for event in events)
    try:
        meters = await ingestor.directory.by_numbers(numbers)
        codes, obis_problems = await ingestor.catalogue.resolve(set(readings.obis))
    except (DBAPIError, OSError) as error:  # a cache miss met a database that is down
        raise IngestUnavailable() from error
    meter_problems = refused_meters(scope, numbers, meters)
    positions = readings.positions if readings.positions is not None else range(len(readings.meter_numbers))
    problems: list[ItemProblem] = []
    if meter_problems or obis_problems:
        keep = _keep(readings, positions, meter_problems, obis_problems, problems)
        readings = _subset(readings, positions, keep)
        positions = readings.positions or ()
    columns = _columns(readings, meters, codes, source)
    kept_events = _events(events, meters, meter_problems, problems)
    receipt = await ingestor.submit(columns, [incoming for _, incoming in kept_events])
    problems += [_problem("reading", rejection, positions, readings.meter_numbers) for rejection in receipt.rejected]
    event_positions = [event.position for event, _ in kept_events]
    event_numbers = [event.meter_number for event, _ in kept_events]
    problems += [_problem("event", rejection, event_positions, event_numbers) for rejection in receipt.rejected_events]
    problems.sort(key=lambda problem: (problem.item != "reading", problem.index))
    return IntakeResult(
        receipt.accepted, receipt.duplicates, receipt.events_accepted, receipt.events_duplicates, tuple(problems)
    )


def refused_meters(scope: SenderScope, numbers: Iterable[str], meters: Mapping[str, MeterRef]) -> dict[str, str]:
    """The numbers `scope` may not send for, each with why: UNKNOWN_METER (not in `meters`) or METER_NOT_ALLOWED."""
    return {
        number: UNKNOWN_METER if number not in meters else METER_NOT_ALLOWED
        for number in numbers
        if number not in meters or not scope.allows(meters[number])
    }


def _keep(
    readings: NamedReadings,
    positions: Sequence[int],
    meter_problems: dict[str, str],
    obis_problems: dict[str, str],
    problems: list[ItemProblem],
) -> list[int]:
    keep: list[int] = []
    for index, (number, text) in enumerate(zip(readings.meter_numbers, readings.obis, strict=True)):
        reason = meter_problems.get(number)
        if reason is not None:
            problems.append(ItemProblem("reading", positions[index], number, "meterNumber", reason, number))
            continue
        reason = obis_problems.get(text)
        if reason is not None:
            problems.append(ItemProblem("reading", positions[index], number, "obis", reason, _shown(text)))
            continue
        keep.append(index)
    return keep


def _subset(readings: NamedReadings, positions: Sequence[int], keep: list[int]) -> NamedReadings:
    return NamedReadings(
        meter_numbers=[readings.meter_numbers[i] for i in keep],
        obis=[readings.obis[i] for i in keep],
        timestamps=[readings.timestamps[i] for i in keep],
        values=[readings.values[i] for i in keep],
        units=[readings.units[i] for i in keep],
        positions=[positions[i] for i in keep],
    )


def _columns(
    readings: NamedReadings, meters: dict[str, MeterRef], codes: dict[str, ObisCode], source: ReadingSource
) -> ReadingColumns:
    """Column form with ids; one dictionary lookup per reading and field, the rest per distinct value."""
    size = len(readings.meter_numbers)
    id_of = {number: meter.id for number, meter in meters.items()}
    distinct = list(dict.fromkeys(codes.values()))
    index_of_code = {code: index for index, code in enumerate(distinct)}
    index_of_text = {text: index_of_code[code] for text, code in codes.items()}
    return ReadingColumns(
        meter_ids=list(map(id_of.__getitem__, readings.meter_numbers)),
        codes=distinct,
        code_index=list(map(index_of_text.__getitem__, readings.obis)),
        timestamps=readings.timestamps,
        values=readings.values,
        units=readings.units,
        qualities=[ReadingQuality.GOOD] * size,
        sources=[source] * size,
    )


def _events(
    events: Sequence[NamedEvent],
    meters: dict[str, MeterRef],
    meter_problems: dict[str, str],
    problems: list[ItemProblem],
) -> list[tuple[NamedEvent, IncomingEvent]]:
    """The events that may be submitted, each with what it becomes; refusals go to `problems`."""
    kept: list[tuple[NamedEvent, IncomingEvent]] = []
    for event in events:
        reason = meter_problems.get(event.meter_number)
        if reason is not None:
            problems.append(
                ItemProblem("event", event.position, event.meter_number, "meterNumber", reason, event.meter_number)
            )
            continue
        if _has_nul(event.details):
            problems.append(ItemProblem("event", event.position, event.meter_number, "details", "invalid_text"))
            continue
        kept.append((event, _incoming_event(meters[event.meter_number].id, event)))
    return kept


def _incoming_event(meter_id: int, event: NamedEvent) -> IncomingEvent:
    described = describe(event.code)
    if described is None:
        return IncomingEvent(
            meter_id, UNKNOWN_EVENT_TYPE, event.timestamp, EventCategory.TECHNICAL, Severity.INFO, event.code,
            dict(event.details),
        )  # fmt: skip
    details = dict(event.details)
    if described.phase is not None:
        details.setdefault("phase", described.phase)
    return IncomingEvent(
        meter_id, described.event_type, event.timestamp, described.category, described.severity, event.code, details
    )


def _has_nul(details: Mapping[str, DetailValue]) -> bool:
    # PostgreSQL text (and JSON read back as text) cannot hold NUL.
    return any("\x00" in key or (isinstance(value, str) and "\x00" in value) for key, value in details.items())


def _problem(item: str, rejection: Rejection, positions: Sequence[int], numbers: Sequence[str]) -> ItemProblem:
    return ItemProblem(
        item,
        positions[rejection.index],
        numbers[rejection.index],
        _WIRE_FIELDS.get(rejection.field, rejection.field),
        rejection.reason,
        rejection.value,
    )


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
