"""/api/consumption: energy imported and exported per meter or area, hourly to monthly, from the rollups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hes.api.deps import AnyUser, AreaQuery, SessionDep
from hes.api.schemas.consumption import ConsumptionOut
from hes.api.schemas.fields import MAX_RECORD_ID
from hes.api.schemas.readings import QueryTime
from hes.services import consumption
from hes.services.consumption import ConsumptionRequest, Interval

router = APIRouter(prefix="/api", tags=["consumption"])


def consumption_request(
    meter_id: Annotated[int | None, Query(alias="meterId", ge=1, le=MAX_RECORD_ID, description="Meter id")] = None,
    area: AreaQuery = None,
    start: Annotated[
        QueryTime | None,
        Query(alias="from", description="Start, ISO 8601 with offset; moved back to the start of its bucket"),
    ] = None,
    end: Annotated[
        QueryTime | None,
        Query(alias="to", description="End (excluded), ISO 8601 with offset; default now; moved to its bucket's end"),
    ] = None,
    interval: Annotated[Interval, Query(description="Bucket width (UTC hours, days, ISO weeks, months)")] = (
        Interval.DAILY
    ),
) -> ConsumptionRequest:
    """The query shared by the consumption series and its CSV download: one meter or one area, range, width."""
    return ConsumptionRequest(meter_id=meter_id, area=area, start=start, end=end, interval=interval)


ConsumptionRequestDep = Annotated[ConsumptionRequest, Depends(consumption_request)]


@router.get("/consumption", response_model=ConsumptionOut)
async def get_consumption(session: SessionDep, principal: AnyUser, request: ConsumptionRequestDep) -> ConsumptionOut:
    """Energy per bucket for one meter (`meterId`) or one area with its sub-areas (`area`, code or name).

    Computed from register advances (rollovers and resets handled); hours without data are never filled in:
    a bucket touched by a gap says `complete: false`. Customers see their own meters only.
    """
    return ConsumptionOut.of(await consumption.consumption(session, principal, request))
