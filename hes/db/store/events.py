"""SQL for the meter event log: the batch insert of the ingest path, and the reads behind the events API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hes.db.enums import EventCategory, Severity
from hes.db.store.listing import order_by
from hes.db.tables import Area, Event, Meter
from hes.ingest.records import IncomingEvent

# Severity as its rank, so "-severity" puts critical first (the stored text would sort alphabetically).
SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}
_EVENT_SEVERITY = case(*((Event.severity == severity, rank) for severity, rank in SEVERITY_RANK.items()), else_=-1)

SORT_COLUMNS = {
    "occurredAt": Event.occurred_at,
    "receivedAt": Event.received_at,
    "type": Event.event_type,
    "category": Event.category,
    "meterNumber": Meter.meter_number,
    # A CASE expression sorts like a column; order_by only calls .asc()/.desc() on it.
    "severity": cast(InstrumentedAttribute[Any], _EVENT_SEVERITY),
}
DEFAULT_SORT = "-occurredAt"
# Ids per IN list: well under the 32,767 bound parameters asyncpg and SQLite accept.
_IDS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class EventCriteria:
    """What an event query is narrowed to; None leaves a criterion out, an empty set matches nothing."""

    meter_id: int | None = None
    meter_number: str | None = None
    area_ids: frozenset[int] | None = None
    customer_id: int | None = None
    categories: frozenset[EventCategory] = frozenset()
    severities: frozenset[Severity] = frozenset()
    event_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None


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
    query = (
        select(Event, Meter.meter_number, Meter.area_id, Area.code, Meter.customer_id)
        .outerjoin(Meter, Event.meter_id == Meter.id)
        .outerjoin(Area, Meter.area_id == Area.id)
    )
    # Outer joins: an event about no meter (or a meter in no area) has NULLs where the columns are NOT NULL.
    return cast(Select[_Joined], query)


def _conditions(criteria: EventCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.meter_id is not None:
        conditions.append(Event.meter_id == criteria.meter_id)
    if criteria.meter_number:
        # Meter numbers are one meter whatever their case (see meters.number_exists).
        conditions.append(func.lower(Meter.meter_number) == criteria.meter_number.lower())
    if criteria.area_ids is not None:
        conditions.append(Meter.area_id.in_(criteria.area_ids))
    if criteria.customer_id is not None:
        conditions.append(Meter.customer_id == criteria.customer_id)
    if criteria.categories:
        conditions.append(Event.category.in_(criteria.categories))
    if criteria.severities:
        conditions.append(Event.severity.in_(criteria.severities))
    if criteria.event_type:
        conditions.append(Event.event_type == criteria.event_type)
    if criteria.start is not None:
        conditions.append(Event.occurred_at >= criteria.start)
    if criteria.end is not None:
        conditions.append(Event.occurred_at <= criteria.end)
    return conditions


def _order(sort: str | None) -> list[ColumnElement[Any]]:
    # The id breaks ties, so pages never overlap and the newest of equal times comes first.
    return [*order_by(sort, SORT_COLUMNS, DEFAULT_SORT), Event.id.desc()]


def _record(row: Row[_Joined]) -> EventRecord:
    event, meter_number, area_id, area_code, customer_id = row
    return EventRecord(event, meter_number, area_id, area_code, customer_id)


async def page(
    session: AsyncSession, criteria: EventCriteria, *, sort: str | None, offset: int, limit: int
) -> tuple[list[EventRecord], int]:
    """Events matching `criteria`, one page in `sort` order (default newest first), with the total.

    Raises:
        InvalidInput: an unknown sort key.
    """
    order = _order(sort)
    conditions = _conditions(criteria)
    counted = select(func.count()).select_from(Event).outerjoin(Meter, Event.meter_id == Meter.id).where(*conditions)
    total = await session.scalar(counted)
    rows = await session.execute(_select().where(*conditions).order_by(*order).offset(offset).limit(limit))
    return [_record(row) for row in rows], int(total or 0)


def check_sort(sort: str | None) -> None:
    """Refuse an unknown sort key before a download starts streaming.

    Raises:
        InvalidInput: every unknown key.
    """
    _order(sort)


async def stream(
    session: AsyncSession, criteria: EventCriteria, *, sort: str | None, chunk: int = 1000
) -> AsyncIterator[EventRecord]:
    """Every event matching `criteria` in `sort` order, fetched `chunk` rows at a time (bounded memory)."""
    query = _select().where(*_conditions(criteria)).order_by(*_order(sort)).execution_options(yield_per=chunk)
    result = await session.stream(query)
    async for row in result:
        yield _record(row)


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
