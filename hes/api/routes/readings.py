"""/api/meters/{meter_id}/readings: a meter's measured values."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hes.api.deps import AnyUser, FromQuery, PaginationDep, SessionDep, ToQuery
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.fields import RecordId
from hes.api.schemas.readings import ObisText, ReadingOut
from hes.services import readings

router = APIRouter(prefix="/api/meters", tags=["readings"])

ObisQuery = Annotated[
    ObisText | None, Query(max_length=40, description="OBIS code, e.g. 1-0:1.8.0.255 (also 1.0.1.8.0.255)")
]


@router.get("/{meter_id}/readings", response_model=Page[ReadingOut])
async def list_readings(
    meter_id: RecordId,
    session: SessionDep,
    principal: AnyUser,
    pagination: PaginationDep,
    obis: ObisQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Page[ReadingOut]:
    """A meter's readings, newest first; filter by OBIS code and time range."""
    listing = await readings.list_readings(session, principal, meter_id, pagination, obis, start, end)
    return page_of(listing, ReadingOut.of)


@router.get("/{meter_id}/readings/latest", response_model=list[ReadingOut])
async def latest_readings(meter_id: RecordId, session: SessionDep, principal: AnyUser) -> list[ReadingOut]:
    """The newest reading of each OBIS code of a meter."""
    return [ReadingOut.of(view) for view in await readings.latest_readings(session, principal, meter_id)]
