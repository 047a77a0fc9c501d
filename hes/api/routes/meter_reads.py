"""/api/meters/{meter_id}/read: read a meter now over DLMS, ahead of polling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hes.api.deps import Operator, SessionDep
from hes.api.schemas.common import ErrorAnswer
from hes.api.schemas.fields import RecordId
from hes.api.schemas.meter_reads import MeterReadRequest, MeterValueOut
from hes.connectivity.on_demand import read_meter as read_meter_now
from hes.connectivity.service import Connectivity

router = APIRouter(prefix="/api/meters", tags=["meter-reads"])


async def current_connectivity(request: Request) -> Connectivity | None:
    """The process's Connectivity, started in the app lifespan (None where it is not running)."""
    connectivity: Connectivity | None = getattr(request.app.state, "connectivity", None)
    return connectivity


ConnectivityDep = Annotated[Connectivity | None, Depends(current_connectivity)]
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorAnswer, "description": "No such meter, or not in your areas"},
    409: {"model": ErrorAnswer, "description": "Decommissioned, or no DLMS channel (HTTP/MQTT meter)"},
    422: {"model": ErrorAnswer, "description": "Malformed OBIS codes, or not registers of the meter's brand"},
    502: {"model": ErrorAnswer, "description": "The meter refused the association or broke off the read"},
    503: {"model": ErrorAnswer, "description": "Meter connectivity is not running"},
    504: {"model": ErrorAnswer, "description": "The meter did not answer in time, or is not connected"},
}


@router.post("/{meter_id}/read", response_model=list[MeterValueOut], responses=_ERRORS)
async def read_meter(
    meter_id: RecordId,
    session: SessionDep,
    principal: Operator,
    connectivity: ConnectivityDep,
    body: MeterReadRequest | None = None,
) -> list[MeterValueOut]:
    """Read registers of a meter now (default: its main registers); the values are stored too."""
    codes = body.obis if body is not None else None
    values = await read_meter_now(session, principal, connectivity, meter_id, codes)
    return [MeterValueOut.of(value) for value in values]
