"""SQL for the meter event log: the batch insert of the ingest path, and the reads behind the events API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import EventCategory
from hes.db.store.meter_logs import LogCriteria, MeterLog, common_conditions, severity_rank, with_meter
from hes.db.tables import Area, Event, Meter
from hes.ingest.records import IncomingEvent

SORT_COLUMNS = {
    "occurredAt": Event.occurred_at,
    "receivedAt": Event.received_at,
    "type": Event.event_type,
    "category": Event.category,
    "meterNumber": Meter.meter_number,
    "severity": severity_rank(Event.severity),
}
DEFAULT_SORT = "-occurredAt"
# Ids per IN list: well under the 32,767 bound parameters asyncpg and SQLite accept.
_IDS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class EventCriteria:
    """What an event query is narrowed to: the criteria every meter log has, customer, category and type."""

    log: LogCriteria
    customer_id: int | None = None
    categories: frozenset[EventCategory] = frozenset()
    event_type: str | None = None


@dataclass(frozen=True)
class EventRecord:
    """An event with the meter facts its readers need: number, area and customer."""

    event: Event
    meter_number: str | None
    area_id: int | None
    area_code: str | None
    customer_id: int | None


async def insert_events(session: AsyncSession, events: Sequence[IncomingEvent]) -> list[int]:
    """Add `events` to the caller's transaction (no commit); return their ids in the same order."""
    if not events:
        return []
    statement = insert(Event).returning(Event.id, sort_by_parameter_order=True)
    rows = await session.execute(statement, [_values(event) for event in events])
    return list(rows.scalars())


def _values(event: IncomingEvent) -> dict[str, object]:
    return {
        "meter_id": event.meter_id,
        "event_type": event.event_type,
        "code": event.code,
        "severity": event.severity,
        "category": event.category,
        "occurred_at": event.timestamp,
        "details": dict(event.details) or None,
    }


_Joined = tuple[Event, str | None, int | None, str | None, int | None]


def _select() -> Select[_Joined]:
    return with_meter(select(Event, Meter.meter_number, Meter.area_id, Area.code, Meter.customer_id), Event.meter_id)


def _conditions(criteria: EventCriteria) -> list[ColumnElement[bool]]:
    conditions = common_conditions(Event.meter_id, Event.severity, criteria.log)
    if criteria.customer_id is not None:
        conditions.append(Meter.customer_id == criteria.customer_id)
    if criteria.categories:
        conditions.append(Event.category.in_(criteria.categories))
    if criteria.event_type:
        conditions.append(Event.event_type == criteria.event_type)
    if criteria.log.start is not None:
        conditions.append(Event.occurred_at >= criteria.log.start)
    if criteria.log.end is not None:
        conditions.append(Event.occurred_at <= criteria.log.end)
    return conditions


def _record(row: Row[_Joined]) -> EventRecord:
    event, meter_number, area_id, area_code, customer_id = row
    return EventRecord(event, meter_number, area_id, area_code, customer_id)


# Listing and downloading events: newest first by default.
EVENT_LOG: MeterLog[EventCriteria, EventRecord] = MeterLog(
    Event.id, Event.meter_id, _select, _conditions, _record, SORT_COLUMNS, DEFAULT_SORT
)


async def by_id(session: AsyncSession, event_id: int) -> EventRecord | None:
    """The event with this id, with its meter's number, area and customer."""
    row = (await session.execute(_select().where(Event.id == event_id))).first()
    return None if row is None else _record(row)


async def records(session: AsyncSession, event_ids: Sequence[int]) -> list[EventRecord]:
    """The events with these ids, in the order given (ids not found are left out)."""
    found: dict[int, EventRecord] = {}
    for start in range(0, len(event_ids), _IDS_PER_STATEMENT):
        some = event_ids[start : start + _IDS_PER_STATEMENT]
        found.update((row[0].id, _record(row)) for row in await session.execute(_select().where(Event.id.in_(some))))
    return [found[event_id] for event_id in event_ids if event_id in found]
