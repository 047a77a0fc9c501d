"""/api/events: the meter event log, its filters, and its CSV download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from hes.api.deps import AnyUser, LogFiltersDep, PaginationDep, SessionDep, SortQuery
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.events import (
    CSV_MEDIA_TYPE,
    EVENT_CSV_HEADER,
    EventOut,
    csv_document,
    csv_filename,
    event_csv_row,
)
from hes.db.enums import EventCategory
from hes.db.tables import utc_now
from hes.services import events
from hes.services.events import EventFilters

router = APIRouter(prefix="/api", tags=["events"])

# Events and alerts have 64-bit ids (there are many more of them than of meters).
MAX_LOG_ID = 2**63 - 1
LogId = Annotated[int, Field(ge=1, le=MAX_LOG_ID)]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV file (UTF-8 with BOM), one row per record"}
}


def event_filters(
    log: LogFiltersDep,
    category: Annotated[list[EventCategory] | None, Query(description="One or more categories")] = None,
    event_type: Annotated[str | None, Query(alias="type", max_length=60, description="e.g. cover_opened")] = None,
) -> EventFilters:
    """The filters shared by the event list and its download."""
    return EventFilters(log, frozenset(category or ()), event_type)


EventFiltersDep = Annotated[EventFilters, Depends(event_filters)]


@router.get("/events", response_model=Page[EventOut])
async def list_events(
    session: SessionDep, principal: AnyUser, pagination: PaginationDep, filters: EventFiltersDep, sort: SortQuery = None
) -> Page[EventOut]:
    """Events, newest first; filter by meter, area (with sub-areas), category, severity, type and time."""
    listing = await events.list_events(session, principal, pagination, filters, sort)
    return page_of(listing, EventOut.model_validate)


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
    return EventOut.model_validate(await events.get_event(session, principal, event_id))
