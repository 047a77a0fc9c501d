"""The event log: what happened at or about each meter, as people read and download it.

Retention (deleting old events) is `hes.services.retention`'s job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import EventCategory, Severity
from hes.db.store import events as store
from hes.db.store.events import EventCriteria, EventRecord
from hes.errors import NotFound
from hes.ingest.records import IncomingEvent, MeterTouch
from hes.services import meter_logs
from hes.services.listing import Listing, Pagination
from hes.services.meter_logs import LogFilters
from hes.services.principal import Principal

EventDetails = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class EventView:
    """An event as people and real-time clients read it, with its meter's number and area code."""

    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    event_type: str
    code: int | None
    severity: Severity
    category: EventCategory
    occurred_at: datetime
    received_at: datetime
    details: EventDetails

    @classmethod
    def of_record(cls, record: EventRecord) -> EventView:
        """The view of a stored event."""
        event = record.event
        return cls(
            id=event.id,
            meter_id=event.meter_id,
            meter_number=record.meter_number,
            area_code=record.area_code,
            event_type=event.event_type,
            code=event.code,
            severity=event.severity,
            category=event.category,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            details=cast(EventDetails, event.details or {}),
        )

    @classmethod
    def of_incoming(
        cls, event_id: int, event: IncomingEvent, meter: MeterTouch | None, received_at: datetime
    ) -> EventView:
        """The view of an event just written from `event`, without reading it back."""
        return cls(
            id=event_id,
            meter_id=event.meter_id,
            meter_number=meter.meter_number if meter is not None else None,
            area_code=meter.area_code if meter is not None else None,
            event_type=event.event_type,
            code=event.code,
            severity=event.severity,
            category=event.category,
            occurred_at=event.timestamp,
            received_at=received_at,
            details=event.details,
        )


@dataclass(frozen=True)
class EventFilters:
    """What an event list or download is narrowed to, as the caller gives it."""

    log: LogFilters
    categories: frozenset[EventCategory] = frozenset()
    event_type: str | None = None


async def list_events(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    filters: EventFilters,
    sort: str | None = None,
) -> Listing[EventView]:
    """Events the caller may see, one page, newest first by default; a customer sees their own meters' events.

    Raises:
        InvalidInput: an unknown area or sort key, a time without offset, `start` after `end`.
    """
    criteria = await _criteria(session, principal, filters)
    return await meter_logs.page_of(store.EVENT_LOG, EventView.of_record, session, criteria, pagination, sort)


async def get_event(session: AsyncSession, principal: Principal, event_id: int) -> EventView:
    """One event the caller may see.

    Raises:
        NotFound: no such event, its meter outside the caller's areas, or (for a customer) not their meter.
    """
    record = await store.by_id(session, event_id)
    if record is None or not _may_see(principal, record):
        raise NotFound("event", event_id)
    return EventView.of_record(record)


async def export_events(
    session: AsyncSession, principal: Principal, filters: EventFilters, sort: str | None = None
) -> AsyncIterator[EventView]:
    """Every event `list_events` would list, streamed in order; the filters are checked before the first row.

    Raises:
        InvalidInput: as `list_events`, raised by this call rather than while iterating.
    """
    store.EVENT_LOG.check_sort(sort)
    criteria = await _criteria(session, principal, filters)
    return meter_logs.views_of(store.EVENT_LOG, EventView.of_record, session, criteria, sort)


async def _criteria(session: AsyncSession, principal: Principal, filters: EventFilters) -> EventCriteria | None:
    """The store criteria for the caller; None when the caller can see no event at all."""
    log = await meter_logs.log_criteria(session, principal, filters.log)
    customer_id: int | None = None
    if principal.is_customer:
        if principal.customer_id is None:
            return None
        customer_id = principal.customer_id
    return EventCriteria(log, customer_id, filters.categories, filters.event_type)


def _may_see(principal: Principal, record: EventRecord) -> bool:
    if principal.is_customer and (principal.customer_id is None or record.customer_id != principal.customer_id):
        return False
    # An event about no meter is in no area: only callers who see every area see it.
    return principal.may_see_area(record.area_id)
