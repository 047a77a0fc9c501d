"""/api/meters: the meter register, links to customers and SIM cards, and assignment history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hes.api.deps import (
    AnyUser,
    AreaQuery,
    Operator,
    PaginationDep,
    RuntimeDep,
    SearchQuery,
    SessionDep,
    SortQuery,
)
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.fields import MAX_RECORD_ID, RecordId
from hes.api.schemas.meters import (
    AssignmentOut,
    MeterCreate,
    MeterDecommissionedOut,
    MeterOut,
    MeterUpdate,
    RemovalOut,
)
from hes.db.enums import ConnectionMode, MeterStatus, MeterType
from hes.services import meters
from hes.services.meters import MeterFilters, Removal

router = APIRouter(prefix="/api/meters", tags=["meters"])


@router.get("", response_model=Page[MeterOut])
async def list_meters(
    session: SessionDep,
    principal: AnyUser,
    pagination: PaginationDep,
    search: SearchQuery = None,
    sort: SortQuery = None,
    area: AreaQuery = None,
    meter_status: Annotated[MeterStatus | None, Query(alias="status")] = None,
    brand: Annotated[str | None, Query(max_length=40)] = None,
    meter_type: Annotated[MeterType | None, Query(alias="type")] = None,
    connection_mode: Annotated[ConnectionMode | None, Query(alias="connectionMode")] = None,
    customer_id: Annotated[int | None, Query(alias="customerId", ge=1, le=MAX_RECORD_ID)] = None,
    concentrator_id: Annotated[str | None, Query(alias="concentratorId", max_length=32)] = None,
) -> Page[MeterOut]:
    """Meters, paginated; `search` matches meter number and concentrator id; a customer sees their own."""
    filters = MeterFilters(area, meter_status, brand, meter_type, connection_mode, customer_id, concentrator_id)
    listing = await meters.list_meters(session, principal, pagination, filters, search, sort)
    return page_of(listing, MeterOut.model_validate)


@router.get("/{meter_id}", response_model=MeterOut)
async def get_meter(meter_id: RecordId, session: SessionDep, principal: AnyUser) -> MeterOut:
    """One meter with its area, customer and SIM card."""
    return MeterOut.model_validate(await meters.get_meter(session, principal, meter_id))


@router.get("/{meter_id}/assignments", response_model=Page[AssignmentOut])
async def list_meter_assignments(
    meter_id: RecordId, session: SessionDep, principal: AnyUser, pagination: PaginationDep
) -> Page[AssignmentOut]:
    """The meter's customer and SIM card history, newest first."""
    listing = await meters.meter_history(session, principal, meter_id, pagination)
    return page_of(listing, AssignmentOut.model_validate)


@router.post("", response_model=MeterOut, status_code=status.HTTP_201_CREATED)
async def create_meter(body: MeterCreate, session: SessionDep, principal: Operator, runtime: RuntimeDep) -> MeterOut:
    """Register a meter; `customerId` and `simCardId` link it (a SIM in another meter moves here)."""
    meter = await meters.create_meter(session, principal, body.to_fields(), runtime.secret_box)
    return MeterOut.model_validate(meter)


@router.put("/{meter_id}", response_model=MeterOut)
async def update_meter(
    meter_id: RecordId, body: MeterUpdate, session: SessionDep, principal: Operator, runtime: RuntimeDep
) -> MeterOut:
    """Change a meter; only the fields sent change, null releases a customer or SIM card or clears a secret."""
    fields, provided = body.to_fields()
    meter = await meters.update_meter(session, principal, meter_id, fields, provided, runtime.secret_box)
    return MeterOut.model_validate(meter)


@router.delete("/{meter_id}", response_model=MeterDecommissionedOut | RemovalOut)
async def delete_meter(
    meter_id: RecordId, session: SessionDep, principal: Operator
) -> MeterDecommissionedOut | RemovalOut:
    """Delete a meter; one with readings, events, commands or history is decommissioned instead."""
    removal = await meters.delete_meter(session, principal, meter_id)
    if removal.outcome is Removal.DECOMMISSIONED and removal.meter is not None:
        return MeterDecommissionedOut(outcome="decommissioned", meter=MeterOut.model_validate(removal.meter))
    return RemovalOut(outcome="deleted")
