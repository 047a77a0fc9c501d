"""/api/events: the meter event log, its filters, and its CSV download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from hes.api.deps import AnyUser, AreaQuery, PaginationDep, SessionDep, SortQuery
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.events import (
    CSV_MEDIA_TYPE,
    EVENT_CSV_HEADER,
    EventOut,
    csv_document,
    csv_filename,
    event_csv_row,
)
from hes.api.schemas.fields import MAX_RECORD_ID
from hes.api.schemas.readings import QueryTime
from hes.db.enums import EventCategory, Severity
from hes.db.tables import utc_now
from hes.services import events
from hes.services.events import EventFilters

router = APIRouter(prefix="/api", tags=["events"])

# Events and alerts have 64-bit ids (there are many more of them than of meters).
MAX_LOG_ID = 2**63 - 1
LogId = Annotated[int, Field(ge=1, le=MAX_LOG_ID)]
MeterIdQuery = Annotated[int | None, Query(alias="meterId", ge=1, le=MAX_RECORD_ID, description="Meter id")]
MeterNumberQuery = Annotated[str | None, Query(alias="meterNumber", max_length=32, description="Meter number")]
SeverityQuery = Annotated[list[Severity] | None, Query(description="One or more severities (repeat the parameter)")]
FromQuery = Annotated[
    QueryTime | None, Query(alias="from", description="Earliest time, included; ISO 8601 with offset")
]
ToQuery = Annotated[QueryTime | None, Query(alias="to", description="Latest time, included; ISO 8601 with offset")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV file (UTF-8 with BOM), one row per record"}
}


def event_filters(
    meter_id: MeterIdQuery = None,
    meter_number: MeterNumberQuery = None,
    area: AreaQuery = None,
    category: Annotated[list[EventCategory] | None, Query(description="One or more categories")] = None,
    severity: SeverityQuery = None,
    event_type: Annotated[str | None, Query(alias="type", max_length=60, description="e.g. cover_opened")] = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> EventFilters:
    """The filters shared by the event list and its download."""
    return EventFilters(
        meter_id=meter_id,
        meter_number=meter_number,
        area=area,
        categories=frozenset(category or ()),
        severities=frozenset(severity or ()),
        event_type=event_type,
        start=start,
        end=end,
    )


EventFiltersDep = Annotated[EventFilters, Depends(event_filters)]


@router.get("/events", response_model=Page[EventOut])
async def list_events(
    session: SessionDep, principal: AnyUser, pagination: PaginationDep, filters: EventFiltersDep, sort: SortQuery = None
) -> Page[EventOut]:
    """Events, newest first; filter by meter, area (with sub-areas), category, severity, type and time."""
    listing = await events.list_events(session, principal, pagination, filters, sort)
    return page_of(listing, EventOut.of)


@router.get("/events.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def export_events(
    session: SessionDep, principal: AnyUser, filters: EventFiltersDep, sort: SortQuery = None
) -> StreamingResponse:
    """Every event the same filters list, as a CSV download (streamed)."""
    rows = await events.export_events(session, principal, filters, sort)
    document = csv_document(EVENT_CSV_HEADER, rows, event_csv_row)
    headers = {"Content-Disposition": csv_filename("events", utc_now())}
    return StreamingResponse(document, media_type=CSV_MEDIA_TYPE, headers=headers)


@router.get("/events/{event_id}", response_model=EventOut)
async def get_event(event_id: LogId, session: SessionDep, principal: AnyUser) -> EventOut:
    """One event."""
    return EventOut.of(await events.get_event(session, principal, event_id))
